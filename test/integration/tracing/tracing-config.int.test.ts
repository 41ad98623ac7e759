// The SDK starts only when the environment asks for it, refuses bad OTEL_* values with one line
// naming the variable, and writes a caller's unsampled context where only this service's
// consumers read it (`$traceparent`, flags 00), so they follow the sampler's decision; a root it
// dropped itself leaves nothing in the events, and their deliveries are handled untraced. A root
// under a trace-id ratio sampler is decided by the service before the SDK is asked (trace-api.ts):
// the decision is still the sampler's on the root's trace id, at the sampler's rate.
import { randomUUID } from 'node:crypto';
import { ROOT_CONTEXT, SamplingDecision, TraceFlags, context, isSpanContextValid, trace, type Span } from '@opentelemetry/api';
import { TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-node';
import { BACKWARDS, END, EventStoreDBClient, jsonEvent } from '@eventstore/db-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestEventStore } from '../../helpers/event-store.js';
import { startTracing, tracingSettings } from '../../../src/observability/tracing.js';
import { startSpan, tracingEnabled } from '../../../src/observability/trace-api.js';
import { startDeliverySpan } from '../../../src/observability/delivery-tracing.js';
import { withStore } from '../../../src/cli/store-connection.js';
import { OtlpReceiver } from './otlp-receiver.js';

const isTraced = () => (EventStoreDBClient.prototype.appendToStream as { __traced?: boolean }).__traced === true;

/** Appends one event with `metadata` (an object, or the UTF-8 bytes of its JSON as src/eventstore sends it) and reads its metadata back. */
async function metadataOfAppend(client: EventStoreDBClient, metadata: object = { $correlationId: 'c-1' }): Promise<Record<string, unknown>> {
  return (await appendAndRead(client, metadata)).metadata as Record<string, unknown>;
}

async function appendAndRead(client: EventStoreDBClient, metadata: object) {
  const stream = `traced-${randomUUID()}`;
  await client.appendToStream(stream, [jsonEvent({ type: 'probe', data: {}, metadata: metadata as Record<string, string> })]);
  // Read to the end: a read left early keeps the 6.x client's dispose() waiting.
  const read = [];
  for await (const resolved of client.readStream(stream)) read.push(resolved);
  return read[0]!.event!;
}

const UNSAMPLED = /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/;
const bytesOf = (value: object) => new TextEncoder().encode(JSON.stringify(value));

/** Runs `fn` with the SDK started at `ratio` (the exporter reads its endpoint from the process environment), stopped after. */
async function atRatio(endpoint: string, ratio: string, fn: (flush: () => Promise<void>) => Promise<void> | void): Promise<void> {
  const previous = { ...process.env };
  Object.assign(process.env, { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' });
  const tracing = startTracing({ ...process.env, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: ratio })!;
  try {
    await fn(() => tracing.flush());
  } finally {
    await tracing.shutdown();
    for (const key of Object.keys(process.env)) if (!(key in previous)) delete process.env[key];
    Object.assign(process.env, previous);
  }
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

  it('with an endpoint, records and exports; an append whose root the sampler dropped carries no trace context; shutdown undoes it all', async () => {
    const previous = { ...process.env };
    // The exporter reads its own variables from the process environment.
    Object.assign(process.env, { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_SERVICE_NAME: 'config-test' });
    try {
      const never = startTracing({ ...process.env, OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' });
      expect(never?.settings).toMatchObject({ exporters: ['otlp'], protocol: 'http/json', sampler: 'traceidratio 0', endpoint });
      expect(isTraced()).toBe(true);
      // A root dropped here: nothing of it is stored (never the keys EventStoreDB's instrumentation reads as sampled).
      expect(await metadataOfAppend(esdb.client)).toEqual({ $correlationId: 'c-1' });
      expect(await metadataOfAppend(esdb.client, bytesOf({ $correlationId: 'c-1' }))).toEqual({ $correlationId: 'c-1' });
      // Under a caller's context the sampler dropped, that context goes on in $traceparent.
      const caller = trace.setSpanContext(ROOT_CONTEXT, { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: TraceFlags.SAMPLED, isRemote: true });
      const underCaller = await context.with(caller, () => metadataOfAppend(esdb.client, bytesOf({ $correlationId: 'c-1' })));
      expect(underCaller).toEqual({ $correlationId: 'c-1', $traceparent: expect.stringMatching(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-00$/) });
      await never!.shutdown();
      expect(isTraced()).toBe(false);

      const always = startTracing({ ...process.env, OTEL_TRACES_SAMPLER: 'always_on' });
      const metadata = await metadataOfAppend(esdb.client);
      expect(metadata.$traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(metadata.$spanId).toMatch(/^[0-9a-f]{16}$/);
      expect(metadata.$traceparent).toBeUndefined();
      // Metadata handed over as JSON bytes gets the same keys, spliced in: the caller's last, ours win.
      const fromBytes = await metadataOfAppend(esdb.client, bytesOf({ $correlationId: 'c-2', $traceId: 'stale' }));
      expect(fromBytes).toEqual({ $correlationId: 'c-2', $traceId: expect.stringMatching(/^[0-9a-f]{32}$/), $spanId: expect.stringMatching(/^[0-9a-f]{16}$/) });
      expect(fromBytes.$traceId).not.toBe(metadata.$traceId);
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

  it('under a parent-based sampler, follows a dropped parent: appends carry its context, deliveries of such an event start no span and export nothing', async () => {
    const previous = { ...process.env };
    Object.assign(process.env, { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_SERVICE_NAME: 'parent-test' });
    try {
      // A root is always sampled: only the parent's drop can keep a span from being recorded.
      const tracing = startTracing({ ...process.env, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '1' });
      const callerTraceId = randomUUID().replaceAll('-', '');
      const dropped = trace.setSpanContext(ROOT_CONTEXT, { traceId: callerTraceId, spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.NONE, isRemote: true });
      const event = await context.with(dropped, () => appendAndRead(esdb.client, bytesOf({ $correlationId: 'c-3' })));
      expect(event.metadata).toEqual({ $correlationId: 'c-3', $traceparent: `00-${callerTraceId}-b7ad6b7169203331-00` });

      const delivery = startDeliverySpan('group-a', 'handler-a', { event, commitPosition: undefined } as never, 0)!;
      const span = trace.getSpan(delivery.context)!;
      expect(span.isRecording()).toBe(false);
      expect(span.spanContext()).toMatchObject({ traceId: callerTraceId, traceFlags: TraceFlags.NONE });
      delivery.processed('acked');
      // Its work follows the drop too: a reaction appended in it is not sampled either.
      const reaction = await context.with(delivery.context, () => metadataOfAppend(esdb.client));
      expect(reaction.$traceparent).toMatch(new RegExp(`^00-${callerTraceId}-[0-9a-f]{16}-00$`));
      expect(reaction.$traceId).toBeUndefined();

      // An event that carries no context at all is a root: sampled here (ratio 1), and recorded.
      const untraced = { ...event, metadata: { $correlationId: 'c-4' } };
      const root = startDeliverySpan('group-a', 'handler-a', { event: untraced, commitPosition: undefined } as never, 0)!;
      expect(trace.getSpan(root.context)!.isRecording()).toBe(true);
      root.processed('acked');
      await tracing!.flush();
      await tracing!.shutdown();
      expect(receiver.spans.filter((exported) => exported.traceId === callerTraceId)).toEqual([]);
      expect(receiver.spans.filter((exported) => exported.service === 'parent-test' && exported.name === 'streams.subscribe')).toHaveLength(1);
    } finally {
      for (const key of Object.keys(process.env)) if (!(key in previous)) delete process.env[key];
      Object.assign(process.env, previous);
    }
  });

  it('under a parent-based sampler that drops roots, a dropped request stores nothing of it, and an event without trace context is handled untraced', async () => {
    const before = receiver.spans.length;
    await atRatio(endpoint, '0', async (flush) => {
      // The root (an append outside any trace) is dropped: its event carries no trace context at all.
      const event = await appendAndRead(esdb.client, bytesOf({ $correlationId: 'c-5' }));
      expect(event.metadata).toEqual({ $correlationId: 'c-5' });
      // Its delivery is not sampled afresh (that would be an orphan trace of a dropped request): no span.
      const delivery = startDeliverySpan('group-b', 'handler-b', { event, commitPosition: undefined } as never, 0)!;
      const span = trace.getSpan(delivery.context)!;
      expect(span.isRecording()).toBe(false);
      expect(span.spanContext().traceFlags).toBe(TraceFlags.NONE);
      expect(isSpanContextValid(span.spanContext())).toBe(true);
      delivery.processed('acked');
      // What the handler appends in it follows the drop and stores nothing of it either.
      expect(await context.with(delivery.context, () => metadataOfAppend(esdb.client, bytesOf({ $correlationId: 'c-5' })))).toEqual({ $correlationId: 'c-5' });
      // A caller's unsampled context read back from an event is still followed, in its trace.
      const traceparent = `00-${'ab'.repeat(16)}-${'cd'.repeat(8)}-00`;
      expect(traceparent).toMatch(UNSAMPLED);
      const followed = startDeliverySpan('group-b', 'handler-b', { event: { ...event, metadata: { $traceparent: traceparent } }, commitPosition: undefined } as never, 0)!;
      expect(trace.getSpan(followed.context)!.spanContext()).toMatchObject({ traceId: 'ab'.repeat(16), traceFlags: TraceFlags.NONE, isRemote: true });
      await flush();
    });
    expect(receiver.spans.slice(before)).toEqual([]);
    // At a ratio that keeps half the roots: still none of the deliveries that came without context.
    await atRatio(endpoint, '0.5', () => {
      const untraced = { id: randomUUID(), streamId: 'untraced', revision: 0n, type: 'probe', data: {}, metadata: { $correlationId: 'c-6' }, isJson: true, created: new Date() };
      const recorded = Array.from({ length: 200 }, () => startDeliverySpan('group-b', 'handler-b', { event: untraced, commitPosition: undefined } as never, 0)!).filter((delivery) => trace.getSpan(delivery.context)!.isRecording());
      expect(recorded).toHaveLength(0);
      const roots = Array.from({ length: 200 }, () => startSpan('root', {}, ROOT_CONTEXT));
      expect(roots.filter((root) => root.isRecording()).length).toBeGreaterThan(50);
      for (const root of roots) root.end();
    });
  });

  it('records reads inside a trace as streams.read client spans, and a CLI command that uses the store as a trace of its own', async () => {
    const previous = { ...process.env };
    Object.assign(process.env, { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_SERVICE_NAME: 'reads-test', OTEL_TRACES_SAMPLER: 'always_on' });
    try {
      const stream = `read-${randomUUID()}`;
      await esdb.client.appendToStream(stream, [jsonEvent({ type: 'probe', data: {} }), jsonEvent({ type: 'probe', data: {} })]);
      // The way `orders trace` and `orders replay` run: withStore starts the SDK from OTEL_* and stops it after.
      const read = await withStore(esdb.store.connectionString, async ({ client }) => {
        let count = 0;
        for await (const _ of client.readStream(stream)) count++;
        for await (const _ of client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1 })) count++;
        return count;
      });
      expect(read).toBe(3);
      expect(tracingEnabled()).toBe(false);
      const spans = receiver.spans.filter((span) => span.service === 'reads-test');
      const root = spans.find((span) => span.name.startsWith('orders') && !span.parentSpanId);
      expect(root, JSON.stringify(spans.map((span) => span.name))).toBeDefined();
      const reads = spans.filter((span) => span.name === 'streams.read');
      expect(reads.map((span) => [span.attributes['db.operation'], span.attributes['db.eventstoredb.stream'], span.parentSpanId, span.traceId])).toEqual([
        ['readStream', stream, root!.spanId, root!.traceId],
        ['readAll', '$all', root!.spanId, root!.traceId],
      ]);
      for (const span of reads) expect(span.kind).toBe(3);

      // Outside any trace (the service's periodic reads), a read is no trace of its own.
      const tracing = startTracing({ ...process.env });
      for await (const _ of esdb.client.readStream(stream)) void _;
      await tracing!.shutdown();
      expect(receiver.spans.filter((span) => span.service === 'reads-test' && span.name === 'streams.read')).toHaveLength(2);
    } finally {
      for (const key of Object.keys(process.env)) if (!(key in previous)) delete process.env[key];
      Object.assign(process.env, previous);
    }
  });

  it('keeps about the ratio of roots, each decision the sampler\'s on its trace id, and exports the kept ones only', async () => {
    const sampler = new TraceIdRatioBasedSampler(0.5);
    const roots: Span[] = [];
    await atRatio(endpoint, '0.5', async (flush) => {
      for (let index = 0; index < 400; index++) roots.push(startSpan(() => `root ${index}`, {}, ROOT_CONTEXT));
      for (const span of roots) span.end();
      await flush();
    });

    const kept = roots.filter((span) => (span.spanContext().traceFlags & TraceFlags.SAMPLED) !== 0);
    // 200 expected; a kept root decided twice (here and again by the SDK on an id of its own) would give ~100.
    expect(kept.length).toBeGreaterThan(140);
    expect(kept.length).toBeLessThan(260);
    for (const span of roots) {
      const { traceId, traceFlags } = span.spanContext();
      expect(isSpanContextValid(span.spanContext())).toBe(true);
      const keeps = sampler.shouldSample(ROOT_CONTEXT, traceId).decision === SamplingDecision.RECORD_AND_SAMPLED;
      expect((traceFlags & TraceFlags.SAMPLED) !== 0).toBe(keeps);
    }
    expect(new Set(roots.map((span) => span.spanContext().traceId)).size).toBe(roots.length);
    const exported = receiver.spans.filter((span) => span.name.startsWith('root '));
    expect(exported.map((span) => span.traceId).sort()).toEqual(kept.map((span) => span.spanContext().traceId).sort());
  });

  it('leaves a span under a parent to the SDK: a child of a kept trace is kept, in its trace', async () => {
    const parent = trace.setSpanContext(ROOT_CONTEXT, { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: TraceFlags.SAMPLED, isRemote: true });
    const seen: { recording: boolean; traceId: string; traceFlags: number }[] = [];
    await atRatio(endpoint, '0', () => {
      for (const span of [startSpan('child', {}, parent), startSpan('dropped root', {}, ROOT_CONTEXT)]) {
        seen.push({ recording: span.isRecording(), ...span.spanContext() });
        span.end();
      }
    });
    expect(seen[0]).toMatchObject({ recording: true, traceId: '4bf92f3577b34da6a3ce929d0e0e4736', traceFlags: TraceFlags.SAMPLED });
    expect(seen[1]).toMatchObject({ recording: false, traceFlags: TraceFlags.NONE });
  });
});
