// The WhatsApp send ledger is in the event store, not in the read-model file: `orders serve`
// (embedded store, Cloud API mode against a local provider that counts what it accepts) loses
// its readmodels.db, once deleted (SIGKILLed) and once overwritten with garbage (stopped), and is restarted
// with new subscription groups (every status change is delivered to the WhatsApp handler again,
// as a replay or a second deployment would), the models are replayed, and no message reaches the
// provider twice; the outbox view is rebuilt from the ledger streams.
import { randomUUID } from 'node:crypto';
import { closeSync, fstatSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projections } from '../../../projections/index.js';
import { runCli } from '../../helpers/cli.js';
import { loseReadModelsIn, onPostgres, readModelEnv, withReadModelsAt } from '../../helpers/read-models.js';
import { api, eventually, orderBody, startService, TENANT, type Service } from './support.js';

/** Accepts every message, counting them by biz_opaque_callback_data (the message key). */
class CountingProvider {
  readonly received = new Map<string, number>();
  #server: Server | undefined;
  #next = 0;

  async start(): Promise<string> {
    this.#server = createServer(async (request, response) => {
      let text = '';
      for await (const chunk of request) text += String(chunk);
      const key = String((JSON.parse(text) as { biz_opaque_callback_data?: unknown }).biz_opaque_callback_data);
      this.received.set(key, (this.received.get(key) ?? 0) + 1);
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ messaging_product: 'whatsapp', messages: [{ id: `wamid.${this.#next++}` }] }));
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/v21.0`;
  }

  get deliveries(): number {
    return [...this.received.values()].reduce((sum, count) => sum + count, 0);
  }

  async stop(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise((resolve) => this.#server?.close(resolve));
  }
}

interface OutboxItem {
  eventId: string;
  status: string;
  attempts: number;
}

describe('WhatsApp messages when the read-model file is lost', () => {
  const provider = new CountingProvider();
  let dataDir: string;
  let service: Service | undefined;
  let env: Record<string, string>;
  /** READ_MODEL_URL of the service and the replays when the suite runs on PostgreSQL (a schema of their own). */
  let readModels: Record<string, string> = {};
  let orders = 0;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'order-store-whatsapp-ledger-'));
    env = {
      EVENTSTORE_INSECURE: 'true',
      // Not a test of load shedding: a loaded machine must not turn the orders away.
      OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
      OVERLOAD_LATENCY_BUDGET_MS: '0',
      WHATSAPP_MODE: 'cloud-api',
      WHATSAPP_BASE_URL: await provider.start(),
      WHATSAPP_TOKEN: 'e2e-token',
      WHATSAPP_PHONE_NUMBER_ID: '1099887766',
    };
    readModels = await readModelEnv(dataDir);
    env = { ...env, ...readModels };
  });

  afterAll(async () => {
    service?.child.kill('SIGKILL');
    await provider.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const file = () => join(dataDir, 'readmodels.db');

  /** A paid and shipped order: two messages. */
  const order = async (): Promise<void> => {
    const orderId = randomUUID();
    expect((await api(service!, '/orders', { method: 'POST', body: orderBody(orderId) })).status).toBe(201);
    expect((await api(service!, `/orders/${orderId}/payments`, { method: 'POST', body: JSON.stringify({ paymentId: `p-${orderId}`, amount: 1500, method: 'card' }) })).status).toBe(201);
    expect((await api(service!, `/orders/${orderId}/ship`, { method: 'POST', body: JSON.stringify({ carrier: 'DHL', trackingNumber: 'T1' }) })).status).toBeLessThan(300);
    orders++;
  };

  const outbox = async (): Promise<OutboxItem[] | undefined> => {
    const answer = await api(service!, '/outbox?limit=200');
    return answer.status === 200 ? ((await answer.json()) as { items: OutboxItem[] }).items : undefined;
  };

  /** Every status change handled by the WhatsApp handler in the (new) read models. */
  const handledByWhatsApp = async (): Promise<number> => {
    try {
      return Number((await withReadModelsAt({ dataDir }, (store) => store.get<{ n: number }>("SELECT count(*) AS n FROM handled_events WHERE handler = 'whatsapp'")))?.n ?? 0);
    } catch {
      return 0; // no file (or table) yet
    }
  };

  const settled = async (what: string): Promise<OutboxItem[]> => {
    const expected = orders * 2;
    await eventually(`${what}: the provider got ${expected} messages`, async () => provider.received.size === expected, 60_000);
    await eventually(`${what}: every status change handled again`, async () => (await handledByWhatsApp()) === expected, 90_000);
    return eventually(`${what}: the outbox view lists every message as sent`, async () => {
      const items = await outbox();
      return items?.length === expected && items.every((item) => item.status === 'sent') ? items : undefined;
    }, 60_000);
  };

  const killService = async (): Promise<void> => {
    const child = service!.child;
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await gone;
    }
  };

  /** `orders replay` of every projection and of the outbox view, as the README tells an operator. */
  const replayAll = async (groupPrefix: string): Promise<string[]> => {
    const outputs: string[] = [];
    for (const name of [...projections.map((projection) => projection.name), 'whatsapp-outbox']) {
      const replayed = await runCli(['replay', name], {
        env: { DATA_DIR: dataDir, ESDB_CONNECTION_STRING: `esdb://127.0.0.1:${service!.eventStorePort}?tls=false`, SUBSCRIPTION_GROUP_PREFIX: groupPrefix, ...readModels },
        timeoutMs: 60_000,
      });
      expect(replayed.code, `${name}: ${replayed.stderr}`).toBe(0);
      outputs.push(replayed.stdout);
    }
    return outputs;
  };

  const expectEachOnce = (): void => {
    const twice = [...provider.received].filter(([, count]) => count > 1);
    expect(twice).toEqual([]);
    expect(provider.deliveries).toBe(orders * 2);
  };

  it('sends each message once while running normally', { timeout: 180_000 }, async () => {
    service = await startService(dataDir, env);
    for (let i = 0; i < 4; i++) await order();
    await settled('first run');
    expectEachOnce();
    for (const key of provider.received.keys()) expect(key.startsWith(`${TENANT}-`)).toBe(true);
  });

  it('deleted: restarted with every status change delivered again and the models replayed, it sends 0 messages twice', { timeout: 240_000 }, async () => {
    await killService();
    // The file and its WAL deleted; on PostgreSQL the schema dropped (an empty one in its place).
    if (onPostgres) await loseReadModelsIn(dataDir);
    else for (const suffix of ['', '-wal', '-shm']) rmSync(file() + suffix, { force: true });
    service = await startService(dataDir, { ...env, SUBSCRIPTION_GROUP_PREFIX: 'after-delete' });
    await replayAll('after-delete');
    await order();
    const items = await settled('after the delete');
    expectEachOnce();
    expect(items.every((item) => item.attempts === 1)).toBe(true);
  });

  // Garbage written over the file: PostgreSQL has no file to damage (its own storage is its concern).
  it.skipIf(onPostgres)('corrupted: found corrupt at start, replayed, every status change delivered again: 0 messages twice', { timeout: 240_000 }, async () => {
    // Stopped cleanly first, so the file holds the pages (a SIGKILL leaves them in the WAL).
    await service!.stop();
    for (const suffix of ['-wal', '-shm']) rmSync(file() + suffix, { force: true });
    const fd = openSync(file(), 'r+');
    const size = fstatSync(fd).size;
    expect(size).toBeGreaterThan(8192);
    const garbage = Buffer.alloc(size - 4096);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919 + 13) % 251;
    writeSync(fd, garbage, 0, garbage.length, 4096);
    closeSync(fd);

    service = await startService(dataDir, { ...env, SUBSCRIPTION_GROUP_PREFIX: 'after-corruption' }, { waitFor: 'health' });
    await eventually('/ready says the read model is unavailable', async () => (await fetch(`${service!.url}/ready`)).status === 503);
    const outputs = await replayAll('after-corruption');
    expect(outputs[0]).toMatch(/damaged.*moved to/);
    await eventually('/ready answers 200 again', async () => (await fetch(`${service!.url}/ready`)).status === 200, 60_000);
    await order();
    const items = await settled('after the corruption');
    expectEachOnce();
    expect(items.every((item) => item.attempts === 1)).toBe(true);
    console.log(`whatsapp-ledger: ${orders * 2} messages, readmodels.db deleted once and corrupted once, every status change delivered again after each: ${provider.deliveries} deliveries, 0 twice`);
  });
});
