import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { openReadModelStore, type ReadModelStore } from '../../../src/readmodels/read-model-store.js';
import { createWhatsAppHandler } from '../../../src/handlers/whatsapp.js';
import { listOutbox } from '../../../src/handlers/whatsapp-outbox.js';
import type { SubscriptionRunner } from '../../../src/subscriptions/runner.js';
import { OrderWriter, eventually } from './order-writer.js';
import { FAST_RETRIES, metricValue, readParked, startRunner } from './worker-helpers.js';

interface RecordedRequest {
  method: string;
  url: string;
  authorization: string | undefined;
  body: Record<string, unknown>;
}

type Reply = { status: number; body: unknown } | { hang: true };

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
    response.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify(reply.body));
  }

  async stop(): Promise<void> {
    for (const response of this.#hanging) response.destroy();
    this.#server?.closeAllConnections();
    await new Promise((resolve) => this.#server?.close(resolve));
  }
}

describe('the WhatsApp handler against the Cloud API', () => {
  const api = new FakeCloudApi();
  let baseUrl: string;
  let store: TestEventStore;
  let readModels: ReadModelStore;
  let runner: SubscriptionRunner | undefined;
  let registry: Awaited<ReturnType<typeof startRunner>>['registry'];
  let writer: OrderWriter;

  beforeAll(async () => {
    baseUrl = await api.start();
  });
  afterAll(async () => {
    await api.stop();
  });

  beforeEach(async () => {
    api.requests.length = 0;
    api.script = [];
    store = await startTestEventStore();
    readModels = openReadModelStore({ file: ':memory:' });
    const handler = createWhatsAppHandler({ mode: 'cloud-api', baseUrl, token: 'secret-token', phoneNumberId: '1099887766', language: 'es_ES' });
    const started = await startRunner({ client: store.client, store: readModels, handlers: [handler], runner: { handlerTimeoutMs: 1_000, retry: { ...FAST_RETRIES.retry!, maxRetries: 4 } } });
    runner = started.runner;
    registry = started.registry;
    writer = new OrderWriter(store.client);
    await writer.create('wa-1', { customer: { id: 'c', name: 'Marta', phone: '+34 600 111 222' } });
  });

  afterEach(async () => {
    await runner?.stop();
    readModels.close();
    await store.close();
  });

  it('posts a template message to /{phone-number-id}/messages with the bearer token and records it as sent', async () => {
    await writer.pay('wa-1', 2000);
    const [sent] = await eventually(() => {
      const found = listOutbox(readModels, 'tenant-a', { limit: 5 });
      return found.length === 1 ? found : undefined;
    });
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
        },
      },
    ]);
    expect(sent).toMatchObject({ status: 'sent', providerMessageId: 'wamid.1', template: 'order_paid' });
  });

  it('retries after 5xx answers and a timeout, then sends once', async () => {
    api.script = [
      { status: 503, body: { error: { message: 'Service temporarily unavailable', code: 2 } } },
      { hang: true },
      { status: 500, body: 'oops' },
    ];
    await writer.pay('wa-1', 2000);
    const sent = await eventually(() => {
      const found = listOutbox(readModels, 'tenant-a', { limit: 5 });
      return found.length === 1 ? found : undefined;
    });
    expect(api.requests).toHaveLength(4);
    expect(sent[0]).toMatchObject({ status: 'sent', providerMessageId: expect.stringMatching(/^wamid\./) });
    expect(await metricValue(registry, 'event_handler_errors_total', { handler: 'whatsapp', event_type: 'order.status_changed' })).toBe(3);
  });

  it('parks the event at once, with the API error as reason, when the API refuses the message (4xx)', async () => {
    api.script = [{ status: 400, body: { error: { message: '(#132001) Template name does not exist in the translation', code: 132001 } } }];
    await writer.pay('wa-1', 2000);
    const parked = await eventually(async () => {
      const entries = await readParked(store.client, 'order-store.handler.whatsapp');
      return entries.length === 1 ? entries : undefined;
    });
    expect(parked[0]?.reason).toContain('Template name does not exist');
    expect(api.requests).toHaveLength(1);
    expect(listOutbox(readModels, 'tenant-a', { limit: 5 })).toEqual([]);
  });
});
