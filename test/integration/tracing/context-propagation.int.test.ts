// How the trace context travels without AsyncLocalStorage (src/observability/trace-api.ts): the
// active context lasts for the synchronous run of `context.with`, and the service hands it over
// explicitly past its `await`s. What must hold: nothing leaks into unrelated work, concurrent
// sampled requests never mix their contexts (spans, event metadata, handler work, log lines), and
// the hand-overs after an `await` (a payment's reservation, a handler's ledger writes) land in the
// right trace.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { executionAsyncId } from 'node:async_hooks';
import { ROOT_CONTEXT, context, createContextKey, trace } from '@opentelemetry/api';
import { jsonEvent } from '@eventstore/db-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestEventStore } from '../../helpers/event-store.js';
import { freePort } from '../../helpers/free-port.js';
import { eventually } from '../workers/order-writer.js';
import { CallContextManager, asyncContextFrameActive } from '../../../src/observability/trace-api.js';
import { startTracing } from '../../../src/observability/tracing.js';
import { OtlpReceiver, SpanKindCode, type ReceivedSpan } from './otlp-receiver.js';

const bin = join(import.meta.dirname, '../../../bin/orders.js');
const API_KEY = 'context-test-key-0123456789';
const KEY = createContextKey('probe');

describe('the call-scoped context manager', () => {
  it('sets the context for the synchronous run only, restores it after a return or a throw, and keeps nothing across an await', async () => {
    const manager = new CallContextManager();
    const outer = ROOT_CONTEXT.setValue(KEY, 'outer');
    const inner = ROOT_CONTEXT.setValue(KEY, 'inner');
    let afterAwait: unknown = 'unset';
    const pending = manager.with(outer, async () => {
      expect(manager.active().getValue(KEY)).toBe('outer');
      expect(manager.with(inner, () => manager.active().getValue(KEY))).toBe('inner');
      expect(() => manager.with(inner, () => { throw new Error('boom'); })).toThrow('boom');
      expect(manager.active().getValue(KEY)).toBe('outer');
      await null;
      afterAwait = manager.active().getValue(KEY);
    });
    // Back to the root as soon as `with` returns: the pending work leaks into nothing else.
    expect(manager.active()).toBe(ROOT_CONTEXT);
    await pending;
    expect(afterAwait).toBeUndefined();
    const bound = manager.bind(inner, function (this: { n: number }, add: number) {
      return [manager.active().getValue(KEY), this.n + add];
    });
    expect(bound.call({ n: 1 }, 2)).toEqual(['inner', 3]);
    expect(manager.active()).toBe(ROOT_CONTEXT);
  });

  it('knows where AsyncLocalStorage is cheap: Node 24 unless turned off, Node 22 with the flag, never Node 20', () => {
    expect(asyncContextFrameActive('20.20.2', '')).toBe(false);
    expect(asyncContextFrameActive('22.12.0', '')).toBe(false);
    expect(asyncContextFrameActive('22.12.0', '--experimental-async-context-frame')).toBe(true);
    expect(asyncContextFrameActive('24.1.0', '')).toBe(true);
    expect(asyncContextFrameActive('24.1.0', '--no-async-context-frame')).toBe(false);
  });
});

describe('tracing started as the service starts it', () => {
  const esdb = useTestEventStore();
  const receiver = new OtlpReceiver();
  let endpoint = '';
  const previous = process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  beforeAll(async () => {
    endpoint = await receiver.start();
    // The exporter reads its endpoint from the process environment.
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = endpoint;
  });
  afterAll(async () => {
    if (previous === undefined) delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
    else process.env.OTEL_EXPORTER_OTLP_ENDPOINT = previous;
    await receiver.stop();
  });

  // With no async_hooks hook on, a promise's continuation runs with async id 0; AsyncLocalStorage
  // on Node 20 gives every promise an id of its own (and a hook call) from its first use on.
  const promiseHooksOn = async () => {
    await null;
    return executionAsyncId() !== 0;
  };
  const tracedWork = async (env: Record<string, string>, options?: { asyncContext: boolean }) => {
    const tracing = startTracing(env, options)!;
    const request = trace.getTracer('probe').startSpan('request');
    await context.with(trace.setSpan(ROOT_CONTEXT, request), () => esdb.client.appendToStream(`probe-${randomBytes(4).toString('hex')}`, jsonEvent({ type: 'probe', data: {} })));
    request.end();
    const settings = tracing.settings;
    const hooks = await promiseHooksOn();
    await tracing.shutdown();
    return { settings, hooks };
  };

  it('turns no promise hook on in the service (Node < 22), where the CLI\'s AsyncLocalStorage does', async (test) => {
    if (asyncContextFrameActive() || (await promiseHooksOn())) test.skip();
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_TRACES_SAMPLER: 'always_on' };
    const service = await tracedWork(env);
    expect(service.settings.context).toBe('call');
    expect(service.hooks).toBe(false);
    // The probe can tell: the CLI's context manager (last: it may leave the hooks on).
    const cli = await tracedWork(env, { asyncContext: true });
    expect(cli.settings.context).toBe('async-local-storage');
    expect(cli.hooks).toBe(true);
  });
});

describe('concurrent sampled requests of the service', () => {
  const receiver = new OtlpReceiver();
  let child: ChildProcess | undefined;
  let output = '';
  let dataDir: string;
  let api: string;
  const ORDERS = 6;
  const callers = Array.from({ length: ORDERS }, () => ({ create: randomBytes(16).toString('hex'), pay: randomBytes(16).toString('hex'), orderId: '' }));

  const post = async (path: string, body: unknown, traceId: string) => {
    const response = await fetch(`${api}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` },
      body: JSON.stringify(body),
    });
    expect(response.status, await response.clone().text()).toBeLessThan(300);
    return (await response.json()) as { orderId: string };
  };
  const spansOf = (traceId: string) => receiver.spans.filter((span) => span.traceId === traceId);
  const one = (spans: ReceivedSpan[], predicate: (span: ReceivedSpan) => boolean, what: string) => {
    const found = spans.filter(predicate);
    expect(found, `${what}: ${JSON.stringify(spans.map((span) => span.name))}`).toHaveLength(1);
    return found[0]!;
  };

  beforeAll(async () => {
    const endpoint = await receiver.start();
    dataDir = mkdtempSync(join(tmpdir(), 'order-store-tracing-context-'));
    const [port, storePort] = [await freePort(), await freePort()];
    api = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, [bin, 'serve'], {
      env: {
        ...process.env,
        PORT: String(port),
        EVENTSTORE_PORT: String(storePort),
        DATA_DIR: dataDir,
        API_KEYS: `${API_KEY}:tenant-c`,
        // Fastify logs its request lines at debug only.
        LOG_LEVEL: 'debug',
        OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_SERVICE_NAME: 'orders-context-test',
        OTEL_BSP_SCHEDULE_DELAY: '100',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await eventually(() => /listening on/.test(output) && /subscription groups started|running workers/.test(output), 60_000);

    // All at once: each command's continuations interleave with the others'.
    await Promise.all(
      callers.map(async (caller, index) => {
        caller.orderId = (
          await post('/orders', { customer: { id: `c-${index}`, phone: '+14155550123' }, currency: 'EUR', items: [{ sku: 'MUG', quantity: 1, unitPrice: 1000 + index }] }, caller.create)
        ).orderId;
      }),
    );
    await Promise.all(callers.map((caller, index) => post(`/orders/${caller.orderId}/payments`, { paymentId: `pay-${index}-${caller.orderId}`, amount: 1000 + index, method: 'card' }, caller.pay)));
    // Every payment's WhatsApp delivery (its ledger write included) has been exported.
    await eventually(
      () =>
        callers.every((caller) => spansOf(caller.pay).some((span) => span.name === 'streams.subscribe' && span.attributes['messaging.consumer.group.name'] === 'order-store.handler.whatsapp')) ||
        undefined,
      30_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
  }, 120_000);

  afterAll(async () => {
    child?.kill('SIGKILL');
    await receiver.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs the service without AsyncLocalStorage on this Node (the start-up line says how contexts travel)', () => {
    const line = output.split('\n').find((text) => text.includes('tracing on'));
    expect(line).toContain(asyncContextFrameActive() ? '"context":"async-local-storage"' : '"context":"call"');
  });

  it("keeps each request's spans in its own trace, the append of its own order under its own command", () => {
    for (const caller of callers) {
      const stream = `order-tenant-c-${caller.orderId}`;
      for (const [traceId, route, command] of [
        [caller.create, 'POST /orders', 'command CreateOrder'],
        [caller.pay, 'POST /orders/:orderId/payments', 'command RecordPayment'],
      ] as const) {
        const spans = spansOf(traceId);
        const server = one(spans, (span) => span.kind === SpanKindCode.server, `${route} server span`);
        expect(server.name).toBe(route);
        const commandSpan = one(spans, (span) => span.name === command, command);
        expect(commandSpan.parentSpanId).toBe(server.spanId);
        expect(commandSpan.attributes['db.eventstoredb.stream']).toBe(stream);
        const append = one(spans, (span) => span.name === 'streams.append' && span.parentSpanId === commandSpan.spanId, `${command} append`);
        expect(append.attributes['db.eventstoredb.stream']).toBe(stream);
        // Every delivery in this trace is of this order's events (or of the writes they caused).
        for (const delivery of spans.filter((span) => span.name === 'streams.subscribe')) {
          expect(String(delivery.attributes['messaging.destination.name'])).toMatch(new RegExp(`^(${stream}|payment-tenant-c-|whatsapp-)`));
        }
      }
    }
  });

  it("hands the request's context over past a route's await (the payment's reservation) and a delivery's past the handler's (its ledger write)", () => {
    for (const caller of callers) {
      const spans = spansOf(caller.pay);
      const server = one(spans, (span) => span.kind === SpanKindCode.server, 'payment server span');
      const reservation = one(spans, (span) => span.name === 'streams.append' && String(span.attributes['db.eventstoredb.stream']).startsWith('payment-tenant-c-'), 'reservation append');
      expect(reservation.attributes['db.eventstoredb.stream']).toContain(caller.orderId);
      expect(reservation.parentSpanId).toBe(server.spanId);
      const whatsapp = spans.filter((span) => span.name === 'streams.subscribe' && span.attributes['messaging.consumer.group.name'] === 'order-store.handler.whatsapp');
      expect(whatsapp.length).toBeGreaterThanOrEqual(1);
      const ledgerWrites = spans.filter((span) => span.name === 'streams.append' && whatsapp.some((delivery) => delivery.spanId === span.parentSpanId));
      expect(ledgerWrites.length, 'the WhatsApp ledger append under its delivery').toBeGreaterThanOrEqual(1);
      for (const write of ledgerWrites) expect(String(write.attributes['db.eventstoredb.stream'])).toMatch(/^whatsapp-/);
    }
    // Nothing the requests did became a trace of its own.
    const ours = new Set(callers.flatMap((caller) => [caller.create, caller.pay]));
    const strays = receiver.spans.filter((span) => span.service === 'orders-context-test' && !ours.has(span.traceId) && String(span.attributes['db.eventstoredb.stream'] ?? span.attributes['messaging.destination.name'] ?? '').includes('tenant-c'));
    expect(strays.map((span) => span.name)).toEqual([]);
  });

  it("writes each request's own trace and span ids on its log lines, even those logged after an await", () => {
    const lines = output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const caller of callers) {
      for (const traceId of [caller.create, caller.pay]) {
        const server = one(spansOf(traceId), (span) => span.kind === SpanKindCode.server, 'server span');
        // Fastify's line once the answer is sent: long after the handler's first await.
        const completed = lines.filter((line) => line.msg === 'request completed' && line.trace_id === traceId);
        expect(completed).toHaveLength(1);
        expect(completed[0]!.span_id).toBe(server.spanId);
      }
      // A handler's line after its awaits carries its delivery's span.
      const deliveries = new Set(spansOf(caller.pay).filter((span) => span.name === 'streams.subscribe').map((span) => span.spanId));
      const finished = lines.filter((line) => line.msg === 'handler finished' && line.trace_id === caller.pay);
      expect(finished.length).toBeGreaterThanOrEqual(1);
      for (const line of finished) expect(deliveries.has(String(line.span_id))).toBe(true);
    }
    // A line carries at most one trace's ids: no key written twice with two values.
    for (const line of output.split('\n').filter((text) => text.includes('"trace_id"'))) expect(line.split('"trace_id"').length).toBe(2);
  });

});
