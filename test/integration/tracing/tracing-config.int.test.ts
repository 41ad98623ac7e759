// The SDK starts only when the environment asks for it, refuses bad OTEL_* values with one line
// naming the variable, and leaves the event metadata alone when a span is not sampled.
import { randomUUID } from 'node:crypto';
import { trace } from '@opentelemetry/api';
import { EventStoreDBClient, jsonEvent } from '@eventstore/db-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestEventStore } from '../../helpers/event-store.js';
import { startTracing, tracingSettings } from '../../../src/observability/tracing.js';
import { tracingEnabled } from '../../../src/observability/trace-api.js';
import { OtlpReceiver } from './otlp-receiver.js';

const isTraced = () => (EventStoreDBClient.prototype.appendToStream as { __traced?: boolean }).__traced === true;

async function metadataOfAppend(client: EventStoreDBClient): Promise<Record<string, unknown>> {
  const stream = `traced-${randomUUID()}`;
  await client.appendToStream(stream, [jsonEvent({ type: 'probe', data: {}, metadata: { $correlationId: 'c-1' } })]);
  // Read to the end: a read left early keeps the 6.x client's dispose() waiting.
  const read: Record<string, unknown>[] = [];
  for await (const resolved of client.readStream(stream)) read.push(resolved.event!.metadata as Record<string, unknown>);
  return read[0]!;
}

describe('tracing configuration', () => {
  const esdb = useTestEventStore();
  const receiver = new OtlpReceiver();
  let endpoint: string;

  beforeAll(async () => {
    endpoint = await receiver.start();
  });
  afterAll(async () => {
    await receiver.stop();
  });

  it('creates nothing when no OTEL variable asks for traces: no exporter, no patched client, no ids in metadata', async () => {
    for (const env of [{}, { OTEL_SERVICE_NAME: 'x' }, { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SDK_DISABLED: 'true' }, { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_TRACES_EXPORTER: 'none' }]) {
      expect(tracingSettings(env), JSON.stringify(env)).toBeUndefined();
      expect(startTracing(env)).toBeUndefined();
    }
    expect(tracingEnabled()).toBe(false);
    expect(isTraced()).toBe(false);
    expect(trace.getTracer('probe').startSpan('probe').isRecording()).toBe(false);
    expect(await metadataOfAppend(esdb.client)).toEqual({ $correlationId: 'c-1' });
    expect(receiver.requests).toBe(0);
  });

  it('refuses a bad value with one line naming the variable', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_TRACES_SAMPLER: 'sometimes' }, /OTEL_TRACES_SAMPLER: 'sometimes' is not one of/],
      [{ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' }, /OTEL_TRACES_SAMPLER_ARG: '2' must be a number between 0 and 1/],
      [{ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, /OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' is not supported/],
      [{ OTEL_TRACES_EXPORTER: 'zipkin' }, /OTEL_TRACES_EXPORTER: 'zipkin' is not one of otlp, console, none/],
    ];
    for (const [env, message] of cases) expect(() => tracingSettings(env)).toThrow(message);
  });

  it('with an endpoint, records and exports; an unsampled append keeps its metadata as it was; shutdown undoes it all', async () => {
    const previous = { ...process.env };
    // The exporter reads its own variables from the process environment.
    Object.assign(process.env, { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_SERVICE_NAME: 'config-test' });
    try {
      const never = startTracing({ ...process.env, OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' });
      expect(never?.settings).toMatchObject({ exporters: ['otlp'], protocol: 'http/json', sampler: 'traceidratio 0', endpoint });
      expect(isTraced()).toBe(true);
      expect(await metadataOfAppend(esdb.client)).toEqual({ $correlationId: 'c-1' });
      await never!.shutdown();
      expect(isTraced()).toBe(false);

      const always = startTracing({ ...process.env, OTEL_TRACES_SAMPLER: 'always_on' });
      const metadata = await metadataOfAppend(esdb.client);
      expect(metadata.$traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(metadata.$spanId).toMatch(/^[0-9a-f]{16}$/);
      await always!.shutdown();
      const append = receiver.spans.find((span) => span.name === 'streams.append' && span.spanId === metadata.$spanId);
      expect(append?.traceId).toBe(metadata.$traceId);
      expect(append?.service).toBe('config-test');
      expect(tracingEnabled()).toBe(false);
      expect(trace.getTracer('probe').startSpan('probe').isRecording()).toBe(false);
    } finally {
      for (const key of Object.keys(process.env)) if (!(key in previous)) delete process.env[key];
      Object.assign(process.env, previous);
    }
  });
});
