// `orders serve` with OTEL_EXPORTER_OTLP_ENDPOINT pointed at a collector started by the test:
// one create-pay-ship lifecycle through the API, the WhatsApp Cloud API played by a local
// server that declines the first message once (a retry) and refuses the ship message (a park).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../helpers/free-port.js';
import { eventually } from '../workers/order-writer.js';
import { OtlpReceiver, SpanKindCode, type ReceivedSpan } from './otlp-receiver.js';

const bin = join(import.meta.dirname, '../../../bin/orders.js');
const API_KEY = 'tracing-test-key-0123456789';
const PHONE = '+14155550123';

/** graph.facebook.com's stand-in: answers from a script, records each request's traceparent. */
class FakeProvider {
  readonly traceparents: string[] = [];
  /** Statuses to answer, per template name, in turn (0: never answer); then 200. */
  readonly script: Record<string, number[]> = {};
  #server: Server | undefined;
  #next = 1;
  async start(): Promise<string> {
    this.#server = createServer((request, response) => {
      let text = '';
      request.on('data', (chunk: Buffer) => (text += chunk.toString()));
      request.on('end', () => {
        this.traceparents.push(String(request.headers.traceparent ?? ''));
        const template = String((JSON.parse(text) as { template?: { name?: string } }).template?.name);
        const status = this.script[template]?.shift() ?? 200;
        if (status === 0) return;
        const body = status === 200 ? { messages: [{ id: `wamid.${this.#next++}` }] } : { error: { message: status === 429 ? 'rate limited' : 'template does not exist', code: 132001 } };
        response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/v21.0`;
  }
  async stop(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise((resolve) => this.#server?.close(resolve));
  }
}

describe('traces of the service (OTLP to a collector)', () => {
  const receiver = new OtlpReceiver();
  const provider = new FakeProvider();
  let child: ChildProcess | undefined;
  let output = '';
  let dataDir: string;
  let api: string;
  let storeUi: string;
  const correlationId = `trace-${randomUUID()}`;
  const caller = { traceId: randomBytes(16).toString('hex'), spanId: randomBytes(8).toString('hex') };
  const traceIdOf: Record<string, string> = {};
  const dropped = { traceId: randomBytes(16).toString('hex'), spanId: randomBytes(8).toString('hex') };
  let droppedOrderId = '';

  const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${api}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', 'x-correlation-id': correlationId, ...headers },
      body: JSON.stringify(body),
    });
    expect(response.status, await response.clone().text()).toBeLessThan(300);
    return (await response.json()) as { orderId: string };
  };
  const spansOf = (traceId: string) => receiver.spans.filter((span) => span.traceId === traceId);
  const one = (spans: ReceivedSpan[], predicate: (span: ReceivedSpan) => boolean, what: string) => {
    const found = spans.filter(predicate);
    expect(found, what).toHaveLength(1);
    return found[0]!;
  };

  beforeAll(async () => {
    const endpoint = await receiver.start();
    const baseUrl = await provider.start();
    // The PAID message is declined once (retried), the SHIPPED one refused (parked).
    provider.script.order_paid = [429];
    provider.script.order_shipped = [400];
    // DELIVERED: no answer before the handler's timeout.
    provider.script.order_delivered = [0];
    dataDir = mkdtempSync(join(tmpdir(), 'order-store-tracing-'));
    const [port, storePort] = [await freePort(), await freePort()];
    api = `http://127.0.0.1:${port}`;
    storeUi = `http://127.0.0.1:${storePort}`;
    child = spawn(process.execPath, [bin, 'serve'], {
      env: {
        ...process.env,
        PORT: String(port),
        EVENTSTORE_PORT: String(storePort),
        DATA_DIR: dataDir,
        API_KEYS: `${API_KEY}:tenant-t`,
        // The store's UI over plain HTTP, without a login, for the trace page below.
        EVENTSTORE_INSECURE: 'true',
        LOG_LEVEL: 'info',
        OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_SERVICE_NAME: 'orders-under-test',
        OTEL_BSP_SCHEDULE_DELAY: '100',
        WHATSAPP_MODE: 'cloud-api',
        WHATSAPP_TOKEN: 'test-token',
        WHATSAPP_PHONE_NUMBER_ID: '1234567890',
        WHATSAPP_BASE_URL: baseUrl,
        HANDLER_RETRY_BASE_MS: '20',
        HANDLER_RETRY_MAX_MS: '50',
        // Long enough that the refused SHIPPED send (a park) is answered inside it on a loaded machine
        // (at 1.5 s it could time out first: uncertain, never parked); DELIVERED's never-answered send
        // still times out.
        HANDLER_TIMEOUT_MS: '5000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await eventually(() => /listening on/.test(output) && /subscription groups started|running workers/.test(output), 60_000);

    const { orderId } = await post(
      '/orders',
      { customer: { id: 'c-trace', name: 'Ada Lovelace', phone: PHONE }, currency: 'EUR', items: [{ sku: 'MUG', quantity: 2, unitPrice: 1500 }] },
      { traceparent: `00-${caller.traceId}-${caller.spanId}-01` },
    );
    await post(`/orders/${orderId}/payments`, { paymentId: 'pay-1', amount: 3000, method: 'card' });
    await post(`/orders/${orderId}/ship`, { carrier: 'DHL', trackingNumber: 'JD0146' });
    await post(`/orders/${orderId}/deliver`, {});
    // Every command's server span, and the whatsapp group's park, have been exported.
    await eventually(() => receiver.spans.filter((span) => span.kind === SpanKindCode.server && span.name.startsWith('POST /orders')).length >= 4 || undefined, 20_000);
    await eventually(() => receiver.spans.some((span) => span.events.some((event) => event.name === 'timeout')) || undefined, 45_000);
    await eventually(() => receiver.spans.some((span) => span.events.some((event) => event.name === 'park')) || undefined, 30_000);
    await eventually(() => provider.traceparents.length >= 4 || undefined, 20_000);
    // The retried PAID message's second delivery has ended and been exported too.
    await eventually(() => receiver.spans.some((span) => span.attributes['order_store.handler'] === 'whatsapp' && span.attributes['messaging.eventstoredb.retry_count'] === 1) || undefined, 20_000);
    for (const span of receiver.spans) if (span.kind === SpanKindCode.server) traceIdOf[span.name] = span.traceId;

    // A caller that dropped its trace (flags 00): everything after follows the drop.
    const header = { traceparent: `00-${dropped.traceId}-${dropped.spanId}-00` };
    droppedOrderId = (await post('/orders', { customer: { id: 'c-drop', phone: PHONE }, currency: 'EUR', items: [{ sku: 'MUG', quantity: 1, unitPrice: 1500 }] }, header)).orderId;
    await post(`/orders/${droppedOrderId}/payments`, { paymentId: 'pay-drop', amount: 1500, method: 'card' }, header);
    await eventually(() => provider.traceparents.some((traceparent) => traceparent.startsWith(`00-${dropped.traceId}-`)) || undefined, 45_000);
    // Whatever the workers did for it has been exported by now (the batch goes every 100 ms).
    await eventually(() => receiver.spans.some((span) => span.attributes['messaging.destination.name'] === `order-tenant-t-${orderId}`) || undefined, 5_000);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }, 180_000);

  afterAll(async () => {
    child?.kill('SIGKILL');
    await receiver.stop();
    await provider.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('makes one trace per command: the HTTP span, the command, its decide and its append with stream and revision', () => {
    const commands = [
      ['POST /orders', 'command CreateOrder', '0'],
      ['POST /orders/:orderId/payments', 'command RecordPayment', undefined],
      ['POST /orders/:orderId/ship', 'command ShipOrder', undefined],
    ] as const;
    expect(new Set(commands.map(([route]) => traceIdOf[route])).size).toBe(3);
    for (const [route, commandName, revision] of commands) {
      const spans = spansOf(traceIdOf[route]!);
      const server = one(spans, (span) => span.kind === SpanKindCode.server, `${route}: one server span`);
      expect(server.service).toBe('orders-under-test');
      expect(server.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.route': route.slice(5), });
      expect(server.attributes['http.response.status_code']).toBeOneOf([200, 201]);
      const command = one(spans, (span) => span.name === commandName, commandName);
      expect(command.parentSpanId).toBe(server.spanId);
      const decide = one(spans, (span) => span.name === 'order.decide' && span.parentSpanId === command.spanId, `${commandName}: decide`);
      const append = one(spans, (span) => span.name === 'streams.append' && span.parentSpanId === command.spanId, `${commandName}: append`);
      expect(decide.endMs).toBeLessThanOrEqual(append.startMs + 1);
      expect(append.kind).toBe(SpanKindCode.client);
      expect(append.attributes['db.eventstoredb.stream']).toMatch(/^order-tenant-t-/);
      expect(append.attributes['db.system']).toBe('eventstoredb');
      expect(append.attributes['db.operation']).toBe('appendToStream');
      expect(command.attributes['order_store.revision']).toBe(append.attributes['db.eventstoredb.stream.revision']);
      if (revision !== undefined) expect(append.attributes['db.eventstoredb.stream.revision']).toBe(revision);
    }
  });

  it("makes the caller's traceparent the parent of the request's span", () => {
    const server = one(receiver.spans, (span) => span.kind === SpanKindCode.server && span.name === 'POST /orders', 'create');
    expect(server.traceId).toBe(caller.traceId);
    expect(server.parentSpanId).toBe(caller.spanId);
  });

  it('hangs each handler and projection delivery under, and links it to, the span that appended the event', () => {
    for (const route of Object.keys(traceIdOf).filter((name) => name.startsWith('POST /orders'))) {
      const spans = spansOf(traceIdOf[route]!);
      const command = one(spans, (span) => span.name.startsWith('command '), route);
      const append = one(spans, (span) => span.name === 'streams.append' && span.parentSpanId === command.spanId, route);
      const deliveries = spans.filter((span) => span.name === 'streams.subscribe' && span.parentSpanId === append.spanId);
      const groups = new Set(deliveries.map((span) => span.attributes['messaging.consumer.group.name']));
      // Handlers and projections: each of its own group.
      for (const group of ['order-store.handler.notification', 'order-store.projections']) expect(groups, `${route}: ${group}`).toContain(group);
      expect([...groups].some((group) => String(group).includes('projection')), `${route}: a projection group`).toBe(true);
      for (const span of deliveries) {
        expect(span.kind).toBe(SpanKindCode.consumer);
        expect(span.links).toEqual([{ traceId: append.traceId, spanId: append.spanId }]);
        expect(span.attributes['messaging.system']).toBe('eventstoredb');
        expect(span.attributes['messaging.destination.name']).toBe(append.attributes['db.eventstoredb.stream']);
        expect(span.startMs).toBeGreaterThanOrEqual(append.startMs);
      }
    }
  });

  it('shows a retried WhatsApp send and a parked one as span events, and sends traceparent to the provider', () => {
    const paid = spansOf(traceIdOf['POST /orders/:orderId/payments']!).filter((span) => span.attributes['messaging.consumer.group.name'] === 'order-store.handler.whatsapp');
    const failed = paid.find((span) => span.events.some((event) => event.name === 'retry'));
    expect(failed?.statusCode).toBe(2);
    expect(failed?.attributes['order_store.outcome']).toBe('retried');
    const retried = paid.find((span) => span.attributes['messaging.eventstoredb.retry_count'] === 1);
    expect(retried?.attributes['order_store.outcome']).toBe('handled');

    // Each provider call is a client span under its delivery, and its id went out as traceparent.
    const calls = receiver.spans.filter((span) => span.kind === SpanKindCode.client && span.name === 'POST /v21.0/{phone-number-id}/messages');
    expect(calls).toHaveLength(4);
    for (const call of calls) expect(provider.traceparents).toContain(`00-${call.traceId}-${call.spanId}-01`);
    expect(calls.find((call) => call.parentSpanId === failed?.spanId)?.attributes['http.response.status_code']).toBe(429);
    expect(calls.find((call) => call.parentSpanId === retried?.spanId)?.attributes['http.response.status_code']).toBe(200);

    const shipped = spansOf(traceIdOf['POST /orders/:orderId/ship']!).filter((span) => span.attributes['messaging.consumer.group.name'] === 'order-store.handler.whatsapp');
    const parked = shipped.find((span) => span.events.some((event) => event.name === 'park'));
    expect(parked?.statusCode).toBe(2);
    expect(parked?.attributes['order_store.outcome']).toBe('parked');

    // DELIVERED: the provider never answered; the handler timed out and the event is retried.
    const delivered = spansOf(traceIdOf['POST /orders/:orderId/deliver']!).filter((span) => span.attributes['messaging.consumer.group.name'] === 'order-store.handler.whatsapp');
    const timedOut = delivered.find((span) => span.events.some((event) => event.name === 'timeout'));
    expect(timedOut?.statusCode).toBe(2);
    expect(timedOut?.events.map((event) => event.name)).toEqual(['exception', 'timeout', 'retry']);
    expect(calls.find((call) => call.parentSpanId === timedOut?.spanId)?.attributes['error.type']).toBe('timeout');
  });

  it('puts no customer data in spans, and trace_id / span_id on the log lines of a traced request', () => {
    const everything = JSON.stringify(receiver.spans);
    for (const secret of [PHONE, PHONE.slice(1), 'Ada', 'Lovelace', 'c-trace', 'test-token', '1234567890']) expect(everything).not.toContain(secret);
    const lines = output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const retryLine = lines.find((line) => line.msg === 'processing failed: retrying' && line.group === 'order-store.handler.whatsapp');
    expect(retryLine?.trace_id).toBe(traceIdOf['POST /orders/:orderId/payments']);
    const failed = receiver.spans.find((span) => span.events.some((event) => event.name === 'retry'));
    expect(retryLine?.span_id).toBe(failed?.spanId);
  });

  it("shows on the store UI's trace page when each group got each event and how it answered", async () => {
    // Correlation ids are kept per tenant in the metadata: `<tenantId>:<id>`.
    const response = await fetch(`${storeUi}/ui/trace/${encodeURIComponent(`tenant-t:${correlationId}`)}`);
    expect(response.status).toBe(200);
    const html = await response.text();
    const rows = html.split('<tr class="event').slice(1);
    const handlingOf = (row: string) =>
      [...row.matchAll(/<span class="handling" data-group="([^"]+)" data-outcome="([^"]*)"><strong>[^<]*<\/strong> ([^<]*)<\/span>/g)].map(([, group, outcome, text]) => ({ group, outcome, text }));
    const created = rows.find((row) => row.includes('data-type="order.created"'));
    const createdHandling = handlingOf(created ?? '');
    expect(createdHandling.map((entry) => entry.group)).toEqual(expect.arrayContaining(['order-store.handler.notification', 'order-store.projections']));
    // Milliseconds, or seconds past one (a loaded machine).
    for (const entry of createdHandling) expect(entry.text).toMatch(/^sent \+[\d.]+ m?s, handled in [\d.]+ m?s$/);
    const whatsapp = rows
      .filter((row) => row.includes('data-type="order.status_changed"'))
      .flatMap((row) => handlingOf(row).filter((entry) => entry.group === 'order-store.handler.whatsapp'));
    // PAID: declined once, handled on the second delivery; SHIPPED: refused, parked.
    expect(whatsapp.find((entry) => entry.outcome === 'acked' && entry.text?.includes('2 deliveries'))).toBeDefined();
    expect(whatsapp.find((entry) => entry.outcome === 'park')?.text).toMatch(/parked in [\d.]+ m?s/);
  });

  it("follows a caller's unsampled traceparent through the store and the workers: no span at all, the drop in the events' metadata and in the provider call", async () => {
    expect(receiver.spans.filter((span) => span.traceId === dropped.traceId)).toEqual([]);
    // No delivery of its events started a trace of its own either (parentbased_always_on would keep such a root).
    expect(receiver.spans.filter((span) => String(span.attributes['messaging.destination.name'] ?? span.attributes['db.eventstoredb.stream']).includes(droppedOrderId))).toEqual([]);
    const response = await fetch(`${api}/orders/${droppedOrderId}/events`, { headers: { authorization: `Bearer ${API_KEY}` } });
    const { events } = (await response.json()) as { events: { metadata: Record<string, unknown> }[] };
    expect(events.length).toBeGreaterThanOrEqual(2);
    for (const event of events) {
      expect(event.metadata.$traceparent).toMatch(new RegExp(`^00-${dropped.traceId}-[0-9a-f]{16}-00$`));
      expect(event.metadata.$traceId).toBeUndefined();
    }
    const sent = provider.traceparents.filter((traceparent) => traceparent.startsWith(`00-${dropped.traceId}-`));
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatch(/-00$/);
  });
});
