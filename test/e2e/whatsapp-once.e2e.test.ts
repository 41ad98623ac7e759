// Customer messages are sent once, through real `orders serve` processes: two competing worker
// processes send through a mock Cloud API on loopback that counts what it receives per message
// (by biz_opaque_callback_data: the message key <tenantId>-<messageId>, its ledger stream's name
// without `whatsapp-`), answers some requests after the handler timeout and drops one
// connection before accepting, while the workers are SIGKILLed with sends in flight. The mock
// sends signed status webhooks to the API process, as Meta does, which settle the outbox.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { startTestEventStore, type TestEventStore } from '../helpers/event-store.js';
import { freePort } from '../helpers/free-port.js';
import { eventually, OrderWriter } from '../integration/workers/order-writer.js';

const bin = join(import.meta.dirname, '../../bin/orders.js');
const API_KEY = 'whatsapp-once-key-0123456789';
const TENANT = 'tenant-a';
const APP_SECRET = 'e2e-meta-app-secret';
const HANDLER_TIMEOUT_MS = 1_500;
const MAX_IN_FLIGHT = 4;
const ORDERS = 15;

interface OutboxItem {
  id: number;
  eventId: string;
  template: string;
  status: string;
  attempts: number;
  settledBy: string | null;
  lastError: string | null;
}

/** The provider: counts every request it received per message, answers, and reports statuses by webhook. */
class CountingProvider {
  readonly received = new Map<string, number>();
  readonly pending = new Set<string>();
  readonly slow = new Set<string>();
  dropped: string | undefined;
  webhookUrl: string | undefined;
  #arrivals = 0;
  #server: Server | undefined;
  #queue: { key: string; wamid: string; status: string }[] = [];
  #pump: NodeJS.Timeout | undefined;

  async start(): Promise<string> {
    this.#server = createServer(async (request, response) => {
      let text = '';
      for await (const chunk of request) text += String(chunk);
      const key = String((JSON.parse(text) as { biz_opaque_callback_data?: unknown }).biz_opaque_callback_data);
      // Counted by message id (the order event's id: the outbox's eventId).
      const id = key.slice(-36);
      const arrival = ++this.#arrivals;
      // One request is lost before the provider took it: the sender cannot tell.
      if (arrival === 3 && !this.dropped) {
        this.dropped = id;
        request.socket.destroy();
        return;
      }
      this.received.set(id, (this.received.get(id) ?? 0) + 1);
      this.pending.add(id);
      const slow = arrival % 10 === 5;
      if (slow) this.slow.add(id);
      setTimeout(() => {
        this.pending.delete(id);
        const wamid = `wamid.${id}`;
        response.on('error', () => undefined);
        if (!response.destroyed) response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ messaging_product: 'whatsapp', messages: [{ id: wamid }] }));
        this.#queue.push({ key, wamid, status: 'sent' }, { key, wamid, status: 'delivered' });
      }, slow ? HANDLER_TIMEOUT_MS + 1_000 : 100 + (arrival % 5) * 60);
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    this.#pump = setInterval(() => void this.#sendWebhooks(), 200);
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/v21.0`;
  }

  get webhooksPending(): number {
    return this.#queue.length;
  }

  /** Like Meta: a notification that was not answered 200 is sent again later. */
  async #sendWebhooks(): Promise<void> {
    if (!this.webhookUrl || this.#queue.length === 0) return;
    const batch = this.#queue.splice(0, 50);
    const body = JSON.stringify({
      object: 'whatsapp_business_account',
      entry: [{ id: '1', changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', statuses: batch.map((s) => ({ id: s.wamid, status: s.status, timestamp: '1709295133', recipient_id: '14155550100', biz_opaque_callback_data: s.key })) } }] }],
    });
    const signature = `sha256=${createHmac('sha256', APP_SECRET).update(body).digest('hex')}`;
    const ok = await fetch(this.webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature }, body })
      .then((answer) => answer.status === 200)
      .catch(() => false);
    if (!ok) this.#queue.unshift(...batch);
  }

  async stop(): Promise<void> {
    clearInterval(this.#pump);
    this.#server?.closeAllConnections();
    await new Promise((resolve) => this.#server?.close(resolve));
  }
}

describe('WhatsApp messages under SIGKILL and slow provider answers', () => {
  const provider = new CountingProvider();
  let store: TestEventStore;
  let dataDir: string;
  let baseUrl: string;
  let apiUrl: string;
  const children = new Set<ChildProcess>();

  const whatsappEnv = (): Record<string, string> => ({
    WHATSAPP_MODE: 'cloud-api',
    WHATSAPP_BASE_URL: baseUrl,
    WHATSAPP_TOKEN: 'e2e-token',
    WHATSAPP_PHONE_NUMBER_ID: '1099887766',
    WHATSAPP_APP_SECRET: APP_SECRET,
  });

  function serve(role: 'api' | 'workers', port: number): { child: ChildProcess; ready: Promise<void> } {
    const child = spawn(process.execPath, [bin, 'serve', '--role', role], {
      env: {
        ...process.env,
        ...whatsappEnv(),
        ESDB_CONNECTION_STRING: store.connectionString,
        DATA_DIR: dataDir,
        API_KEYS: `${API_KEY}:${TENANT}`,
        PORT: String(port),
        LOG_LEVEL: 'warn',
        HANDLER_TIMEOUT_MS: String(HANDLER_TIMEOUT_MS),
        HANDLER_MAX_IN_FLIGHT: String(MAX_IN_FLIGHT),
        HANDLER_RETRY_BASE_MS: '50',
        HANDLER_RETRY_MAX_MS: '300',
        SUBSCRIPTION_MESSAGE_TIMEOUT_MS: '3000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    child.on('exit', () => children.delete(child));
    let output = '';
    const ready = new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (/listening on|running workers/.test(output)) resolve();
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.on('exit', (code, signal) => reject(new Error(`${role} exited (${code ?? signal}) before it was ready:\n${output}`)));
    });
    ready.catch(() => undefined);
    return { child, ready };
  }

  const outbox = async (): Promise<OutboxItem[]> => {
    const answer = await fetch(`${apiUrl}/outbox?limit=200`, { headers: { authorization: `Bearer ${API_KEY}` } });
    return ((await answer.json()) as { items: OutboxItem[] }).items;
  };

  beforeAll(async () => {
    baseUrl = await provider.start();
    store = await startTestEventStore();
    dataDir = mkdtempSync(join(tmpdir(), 'order-store-whatsapp-once-'));
  });

  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await provider.stop();
    await store?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('delivers no message twice, leaves uncertain only sends in flight at a crash, and settles the rest from signed webhooks', { timeout: 420_000 }, async () => {
    const apiPort = await freePort();
    const api = serve('api', apiPort);
    apiUrl = `http://127.0.0.1:${apiPort}`;
    const workerPorts = [await freePort(), await freePort()];
    const workers = workerPorts.map((port) => serve('workers', port));
    await Promise.all([api.ready, ...workers.map((worker) => worker.ready)]);
    const t0 = Date.now();
    const trace = (what: string) => process.env.WHATSAPP_ONCE_TRACE && console.log(`${Date.now() - t0} ms ${what} received=${provider.received.size} pending=${provider.pending.size} written=${written}`);
    provider.webhookUrl = `${apiUrl}/webhooks/whatsapp`;

    // Orders keep arriving while the workers are killed: each is paid and shipped, two messages each.
    const writer = new OrderWriter(store.client, TENANT);
    let killing = true;
    let written = 0;
    const writing = (async () => {
      while (written < ORDERS || (killing && written < ORDERS * 2)) {
        const orderId = `wa-once-${written}`;
        await writer.create(orderId, { customer: { id: `c-${written}`, name: 'Ana', phone: '+1 415 555 0100' } });
        await writer.pay(orderId, 2000);
        await writer.ship(orderId);
        written++;
        await new Promise((resolve) => setTimeout(resolve, 120));
      }
    })();

    // Both workers at once, while the provider holds requests open: every send in flight dies.
    let kills = 0;
    const inFlightAtKills = new Set<string>();
    for (let round = 0; round < 2; round++) {
      trace(`round ${round}`);
      // Generous: on a loaded machine a worker's first sends can time out before reaching the provider.
      await eventually(() => provider.pending.size > 0, 60_000);
      trace('killing');
      for (const id of provider.pending) inFlightAtKills.add(id);
      for (const worker of workers) worker.child.kill('SIGKILL');
      kills += workers.length;
      await new Promise((resolve) => setTimeout(resolve, 300));
      for (const [index, port] of workerPorts.entries()) workers[index] = serve('workers', port);
      await Promise.all(workers.map((worker) => worker.ready));
      trace('restarted');
    }
    killing = false;
    await writing;
    trace('written');

    // Every status change has its message, none still being sent, every webhook delivered.
    const expected = written * 2;
    let last: unknown;
    const settled = await eventually(async () => {
      const items = await outbox();
      const done = items.length === expected && items.every((item) => item.status !== 'sending') && provider.pending.size === 0 && provider.webhooksPending === 0;
      const received = [...provider.received.keys()];
      const byEvent = new Map(items.map((item) => [item.eventId, item]));
      last = { rows: items.length, expected, states: countBy(items.map((item) => item.status)), pending: provider.pending.size, webhooks: provider.webhooksPending, notDelivered: received.filter((id) => byEvent.get(id)?.status !== 'delivered').map((id) => byEvent.get(id)?.status ?? 'no row') };
      return done && received.every((id) => byEvent.get(id)?.status === 'delivered') ? items : undefined;
    }, 180_000).catch((error: unknown) => {
      throw new Error(`the outbox did not settle: ${JSON.stringify(last)}`, { cause: error });
    });

    trace('settled');
    // Never twice: not after a kill, not after an answer that came after the handler timeout.
    const twice = [...provider.received].filter(([, count]) => count > 1);
    expect(twice).toEqual([]);
    expect(provider.slow.size).toBeGreaterThan(0);
    expect(inFlightAtKills.size).toBeGreaterThan(0);
    for (const id of inFlightAtKills) expect(settled.find((item) => item.eventId === id)).toMatchObject({ status: 'delivered', attempts: 1 });
    for (const id of provider.slow) expect(settled.find((item) => item.eventId === id)).toMatchObject({ status: 'delivered', attempts: 1, settledBy: 'webhook' });

    // What the provider never received is uncertain (it may have, for all the sender knows):
    // those a crash interrupted are at most what the killed processes held in flight; the others
    // timed out before their request got through (a loaded machine) or are the dropped one.
    const neverReceived = settled.filter((item) => !provider.received.has(item.eventId));
    for (const item of neverReceived) expect(item).toMatchObject({ status: 'uncertain', attempts: 1 });
    const interrupted = neverReceived.filter((item) => item.lastError?.includes('was interrupted'));
    expect(interrupted.length).toBeLessThanOrEqual(kills * MAX_IN_FLIGHT);
    for (const item of neverReceived.filter((each) => !interrupted.includes(each) && each.eventId !== provider.dropped)) expect(item.lastError).toContain('before the handler timeout');
    expect(neverReceived.map((item) => item.eventId)).toContain(provider.dropped);
    expect(settled.filter((item) => provider.received.has(item.eventId)).every((item) => item.status === 'delivered')).toBe(true);

    // A forged webhook is refused by the real API process.
    const forged = JSON.stringify({ object: 'whatsapp_business_account', entry: [{ changes: [{ value: { statuses: [{ id: 'x', status: 'read', biz_opaque_callback_data: `${TENANT}-${provider.dropped}` }] } }] }] });
    const refused = await fetch(provider.webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` }, body: forged });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);

    // The operator lists the uncertain ones and resends the dropped one, after the wait only.
    const dropped = settled.find((item) => item.eventId === provider.dropped)!;
    const cliEnv = { ...whatsappEnv(), DATA_DIR: dataDir, ESDB_CONNECTION_STRING: store.connectionString };
    const listed = await runCli(['outbox', '--status', 'uncertain'], { env: cliEnv });
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain("waiting for the provider's webhook");
    expect(listed.stdout.split('\n').filter((line) => / uncertain /.test(line))).toHaveLength(neverReceived.length);

    trace('listed');
    const early = await runCli(['outbox', 'resend', String(dropped.id)], { env: cliEnv });
    expect(early.code).toBe(1);
    expect(early.stderr.trim().split('\n')).toHaveLength(1);
    expect(early.stderr).toContain('or pass --force');
    expect(provider.received.has(dropped.eventId)).toBe(false);

    const resent = await runCli(['outbox', 'resend', String(dropped.id)], { env: { ...cliEnv, WHATSAPP_UNCERTAIN_WAIT_SECONDS: '0' } });
    expect(resent.stderr).toBe('');
    expect(resent.code).toBe(0);
    expect(resent.stdout).toContain(`message ${dropped.id} sent on operator request (attempt 2`);
    expect(provider.received.get(dropped.eventId)).toBe(1);
    await eventually(async () => (await outbox()).find((item) => item.id === dropped.id)?.status === 'delivered', 10_000);

    trace('resent');
    const again = await runCli(['outbox', 'resend', String(dropped.id)], { env: { ...cliEnv, WHATSAPP_UNCERTAIN_WAIT_SECONDS: '0' } });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('the provider already accepted it');
    expect(provider.received.get(dropped.eventId)).toBe(1);
    console.log(
      `whatsapp-once: ${expected} messages, ${kills} SIGKILLs with ${inFlightAtKills.size} sends in flight, ${provider.slow.size} answered after the handler timeout, ` +
        `${neverReceived.length} uncertain never received (${interrupted.length} interrupted by a kill, 1 dropped, the rest timed out before reaching the provider), 0 delivered twice`,
    );
  });
});

function countBy(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}
