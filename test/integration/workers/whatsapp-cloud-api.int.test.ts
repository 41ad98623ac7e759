import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { type ReadModelStore } from '../../../src/readmodels/read-model-store.js';
import { createWhatsAppHandler } from '../../../src/handlers/whatsapp.js';
import { listOutbox, type OutboxMessage } from '../../../src/handlers/whatsapp-outbox.js';
import { workerMetrics } from '../../../src/observability/worker-metrics.js';
import { startSubscriptionRunner, type SubscriptionRunner } from '../../../src/subscriptions/runner.js';
import { OrderWriter, eventually } from './order-writer.js';
import { FAST_RETRIES, readParked } from './worker-helpers.js';
import { openTestReadModels } from '../../helpers/read-models.js';

interface RecordedRequest {
  method: string;
  url: string;
  authorization: string | undefined;
  body: Record<string, unknown>;
}

type Reply = { status: number; body: unknown } | { hang: true } | { reset: true };

/** A stand-in for graph.facebook.com that records requests and answers from a script. */
class FakeCloudApi {
  readonly requests: RecordedRequest[] = [];
  script: Reply[] = [];
  #server: Server | undefined;
  #hanging = new Set<ServerResponse>();
  #next = 1;

  async start(): Promise<string> {
    this.#server = createServer((request, response) => void this.#handle(request, response));
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/v21.0`;
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of request) text += String(chunk);
    this.requests.push({ method: request.method ?? '', url: request.url ?? '', authorization: request.headers.authorization, body: JSON.parse(text) });
    const reply = this.script.shift() ?? { status: 200, body: { messaging_product: 'whatsapp', contacts: [{ input: 'x', wa_id: 'x' }], messages: [{ id: `wamid.${this.#next++}` }] } };
    if ('hang' in reply) {
      this.#hanging.add(response);
      return;
    }
    if ('reset' in reply) {
      request.socket.destroy();
      return;
    }
    response.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify(reply.body));
  }

  async stop(): Promise<void> {
    for (const response of this.#hanging) response.destroy();
    this.#server?.closeAllConnections();
    await new Promise((resolve) => this.#server?.close(resolve));
  }
}

describe('the WhatsApp handler against the Cloud API', async () => {
  const api = new FakeCloudApi();
  let baseUrl: string;
  let store: TestEventStore;
  let readModels: ReadModelStore;
  let runner: SubscriptionRunner | undefined;
  let writer: OrderWriter;
  const lines: Record<string, unknown>[] = [];
  const rawLog: string[] = [];

  const outbox = (): Promise<OutboxMessage[]> => listOutbox(readModels, 'tenant-a', { limit: 5 });
  const settledAs = (status: string) =>
    eventually(async () => {
      const found = await outbox();
      return found.length === 1 && found[0]?.status === status ? found[0] : undefined;
    });
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  beforeAll(async () => {
    baseUrl = await api.start();
  });
  afterAll(async () => {
    await api.stop();
  });

  beforeEach(async () => {
    api.requests.length = 0;
    api.script = [];
    lines.length = 0;
    rawLog.length = 0;
    store = await startTestEventStore();
    readModels = await openTestReadModels();
    const handler = createWhatsAppHandler({ mode: 'cloud-api', baseUrl, token: 'secret-token', phoneNumberId: '1099887766', language: 'es_ES' });
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        rawLog.push(chunk.toString());
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    runner = await startSubscriptionRunner({
      client: store.client,
      store: readModels,
      logger: pino({ level: 'info' }, sink),
      metrics: workerMetrics(new Registry()),
      handlers: [handler],
      projections: [],
      options: { ...FAST_RETRIES, handlerTimeoutMs: 1_000, retry: { ...FAST_RETRIES.retry!, maxRetries: 4 } },
    });
    writer = new OrderWriter(store.client);
    await writer.create('wa-1', { customer: { id: 'c', name: 'Marta', phone: '+34 600 111 222' } });
  });

  afterEach(async () => {
    await runner?.stop();
    await readModels.close();
    await store.close();
  });

  it('posts a template message carrying its outbox message id as biz_opaque_callback_data, and records it as sent', async () => {
    const [paid] = await writer.pay('wa-1', 2000);
    const sent = await settledAs('sent');
    expect(api.requests).toEqual([
      {
        method: 'POST',
        url: '/v21.0/1099887766/messages',
        authorization: 'Bearer secret-token',
        body: {
          messaging_product: 'whatsapp',
          recipient_type: 'individual',
          to: '34600111222',
          type: 'template',
          template: {
            name: 'order_paid',
            language: { code: 'es_ES' },
            components: [{ type: 'body', parameters: [{ type: 'text', text: 'Marta' }, { type: 'text', text: 'wa-1' }] }],
          },
          // The message key: the ledger stream is whatsapp-<key>.
          biz_opaque_callback_data: `tenant-a-${sent.eventId}`,
        },
      },
    ]);
    expect(sent).toMatchObject({ status: 'sent', providerMessageId: 'wamid.1', template: 'order_paid', attempts: 1, settledBy: 'handler' });
    expect(paid).toBeDefined();
  });

  it('sends again after answers in which the provider declined the message (429, 503), and then once only', async () => {
    api.script = [
      { status: 429, body: { error: { message: '(#130429) Rate limit hit', code: 130429 } } },
      { status: 503, body: { error: { message: 'Service temporarily unavailable', code: 2 } } },
    ];
    await writer.pay('wa-1', 2000);
    const sent = await settledAs('sent');
    await pause(300);
    expect(api.requests).toHaveLength(3);
    expect(sent).toMatchObject({ attempts: 3, providerMessageId: expect.stringMatching(/^wamid\./) });
  });

  it('leaves a message uncertain, and never sends it again, when the provider does not answer within the handler timeout', async () => {
    api.script = [{ hang: true }];
    await writer.pay('wa-1', 2000);
    const uncertain = await settledAs('uncertain');
    // The runner retries the timed-out event: its redelivery finds the message uncertain and sends nothing.
    await pause(1_500);
    expect(api.requests).toHaveLength(1);
    expect((await outbox())[0]).toMatchObject({ status: 'uncertain', attempts: 1 });
    expect(uncertain.lastError).toMatch(/handler timeout/);
    expect(lines.some((line) => line.msg === 'WhatsApp message uncertain: it may have reached the provider, so it is not sent again automatically')).toBe(true);
  });

  it('leaves a message uncertain after a 500 or a connection reset mid-request: either may have been accepted', async () => {
    api.script = [{ status: 500, body: { error: { message: 'An unknown error occurred', code: 1 } } }];
    await writer.pay('wa-1', 2000);
    const first = await settledAs('uncertain');
    expect(first.lastError).toContain('answered 500');

    api.script = [{ reset: true }];
    await writer.run('wa-1', { type: 'ShipOrder', carrier: 'dhl', trackingNumber: 'T1' });
    const shipped = await eventually(async () => (await listOutbox(readModels, 'tenant-a', { limit: 5 })).find((message) => message.template === 'order_shipped' && message.status === 'uncertain'));
    await pause(500);
    expect(shipped.attempts).toBe(1);
    expect(api.requests.map((request) => (request.body.template as { name: string }).name)).toEqual(['order_paid', 'order_shipped']);
  });

  it('marks the message failed and parks the event when the provider refuses it (4xx), with phone numbers redacted from the reason and the log', async () => {
    api.script = [
      {
        status: 400,
        body: { error: { message: '(#131030) Recipient phone number not in allowed list', code: 131030, error_data: { details: 'Recipient +34 600 111 222 is not in the allowed list' } } },
      },
    ];
    await writer.pay('wa-1', 2000);
    const parked = await eventually(async () => {
      const entries = await readParked(store.client, 'order-store.handler.whatsapp');
      return entries.length === 1 ? entries : undefined;
    });
    expect(api.requests).toHaveLength(1);
    const failed = await settledAs('failed');
    expect(failed.lastError).toContain('Recipient phone number not in allowed list');
    expect(failed.lastError).toContain('[phone …22]');
    expect(parked[0]?.reason).toContain('[phone …22]');
    const logged = await eventually(() => lines.find((line) => line.msg === 'processing failed: parking the event'));
    expect(JSON.stringify(logged)).toContain('not in the allowed list');
    // Not the number in any form the provider or the customer wrote it.
    for (const text of [rawLog.join(''), parked[0]?.reason ?? '', failed.lastError ?? '']) {
      expect(text).not.toContain('600 111 222');
      expect(text).not.toContain('34600111222');
    }
  });

  it('sends nothing again when every event is redelivered to a worker whose read-model file was lost, and rebuilds the outbox view from the ledger', async () => {
    await writer.pay('wa-1', 2000);
    await writer.run('wa-1', { type: 'ShipOrder', carrier: 'dhl', trackingNumber: 'T1' });
    await eventually(async () => {
      const messages = await outbox();
      return messages.length === 2 && messages.every((message) => message.status === 'sent');
    });
    expect(api.requests).toHaveLength(2);

    // The worker's read model (outbox view and handled-event records) is gone, and its group is
    // made again from the start of $all: every status change comes again.
    await runner!.stop();
    await readModels.close();
    await store.client.deletePersistentSubscriptionToAll('order-store.handler.whatsapp');
    readModels = await openTestReadModels();
    runner = await startSubscriptionRunner({
      client: store.client,
      store: readModels,
      logger: pino({ level: 'info' }, new Writable({ write: (_chunk, _encoding, done) => done() })),
      metrics: workerMetrics(new Registry()),
      handlers: [createWhatsAppHandler({ mode: 'cloud-api', baseUrl, token: 'secret-token', phoneNumberId: '1099887766', language: 'es_ES' })],
      projections: [],
      options: { ...FAST_RETRIES, handlerTimeoutMs: 1_000 },
    });
    await eventually(async () => (await readModels.get<{ n: number }>("SELECT count(*) AS n FROM handled_events WHERE handler = 'whatsapp'"))?.n === 2);
    expect(api.requests).toHaveLength(2);
    // The redelivered events are handled side by side, so the rebuilt rows' ids (the list's order)
    // follow whichever committed first: compared by template.
    const rebuilt = (await outbox()).map((message) => [message.template, message.status, message.attempts]);
    expect(rebuilt.sort((a, b) => String(a[0]).localeCompare(String(b[0])))).toEqual([
      ['order_paid', 'sent', 1],
      ['order_shipped', 'sent', 1],
    ]);
  });
});
