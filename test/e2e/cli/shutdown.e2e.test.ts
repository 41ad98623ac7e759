// Stopping `orders serve` the way process managers do: SIGTERM under load, with a handler stuck
// in a call to a provider that never answers and projections still catching up. The stop is
// bounded, and every command the service acknowledged is in the store after a restart.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { onPostgres, readModelEnv, withReadModelsAt } from '../../helpers/read-models.js';
import { startCli, type RunningCli } from '../../helpers/cli.js';
import { freePort } from '../../helpers/free-port.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const KEY = 'shutdown-test-key';
const auth = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
const SEEDED = 1_200;
const GRACE_MS = 3_000;
/** The stop's own bound is grace + 1.5 s; this leaves room for a slow, shared machine. */
const EXIT_BOUND_MS = GRACE_MS + 12_000;

/** A WhatsApp Cloud API that takes every request and never answers. */
class HangingProvider {
  requests = 0;
  readonly #open = new Set<ServerResponse>();
  #server: Server | undefined;

  async start(): Promise<string> {
    this.#server = createServer((_request, response) => {
      this.requests++;
      this.#open.add(response);
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/v21.0`;
  }

  async stop(): Promise<void> {
    for (const response of this.#open) response.destroy();
    this.#server?.closeAllConnections();
    await new Promise((resolve) => this.#server?.close(resolve));
  }
}

async function until(what: string | (() => string), check: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const orderBody = (orderId: string) => ({
  orderId,
  customer: { id: `c-${orderId.slice(0, 4)}`, name: 'Ada', phone: '+14155550100' },
  currency: 'EUR',
  items: [{ sku: 'MUG', quantity: 1, unitPrice: 1000 }],
});

async function post(base: string, path: string, body: unknown): Promise<Response> {
  return fetch(`${base}${path}`, { method: 'POST', headers: auth, body: JSON.stringify(body) });
}

describe('stopping orders serve', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'order-store-shutdown-'));
  const provider = new HangingProvider();
  let providerUrl: string;
  /** The WhatsApp handler calls the provider that never answers, and nothing times it out meanwhile. */
  const stuckProviderEnv = () => ({
    WHATSAPP_MODE: 'cloud-api',
    WHATSAPP_BASE_URL: providerUrl,
    WHATSAPP_TOKEN: 'token',
    WHATSAPP_PHONE_NUMBER_ID: '123',
    HANDLER_TIMEOUT_MS: '60000',
    SUBSCRIPTION_MESSAGE_TIMEOUT_MS: '120000',
  });
  let port: number;
  let eventStorePort: number;
  const children: RunningCli[] = [];
  /** READ_MODEL_URL when the suite runs on PostgreSQL. */
  let readModels: Record<string, string> = {};

  // No shedding on event loop delay or the latency budget: on a busy machine (test files run two
  // at a time) the service would answer 503 to the commands this test counts on.
  const noShedding = { OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0', OVERLOAD_LATENCY_BUDGET_MS: '0' };
  const serve = (env: Record<string, string>, args: string[] = []) => {
    const cli = startCli(['serve', ...args], {
      env: { PORT: String(port), EVENTSTORE_PORT: String(eventStorePort), DATA_DIR: dataDir, API_KEYS: `${KEY}:shop`, LOG_LEVEL: 'info', ...noShedding, ...readModels, ...env },
      timeoutMs: 170_000,
    });
    children.push(cli);
    return cli;
  };
  const base = () => `http://127.0.0.1:${port}`;
  const listening = (cli: RunningCli) => until('the service to listen', () => cli.output().stdout.includes('listening on'));

  beforeAll(async () => {
    providerUrl = await provider.start();
    [port, eventStorePort] = [await freePort(), await freePort()];
    readModels = await readModelEnv(dataDir);
  });

  // A failed test leaves no service holding the ports for the next one.
  afterEach(async () => {
    for (const cli of children.splice(0)) {
      cli.child.kill('SIGKILL');
      await cli.done;
    }
  });

  afterAll(async () => {
    await provider.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('exits within the grace period under load with a handler stuck, losing no acknowledged command', { timeout: 180_000 }, async () => {
    // History the workers have not seen yet: an API-only run takes the orders (and stops cleanly).
    const seeding = serve({}, ['--role', 'api']);
    await listening(seeding);
    const seededIds = Array.from({ length: SEEDED }, () => randomUUID());
    for (let i = 0; i < seededIds.length; i += 24) {
      const answers = await Promise.all(seededIds.slice(i, i + 24).map((id) => post(base(), '/orders', orderBody(id))));
      expect(answers.map((answer) => answer.status)).toEqual(answers.map(() => 201));
    }
    seeding.child.kill('SIGTERM');
    expect((await seeding.done).code).toBe(0);

    // Now the workers start from the beginning of the history, one projection event at a time,
    // while the WhatsApp handler's first call never comes back.
    const service = serve({
      ...stuckProviderEnv(),
      PROJECTION_BOOTSTRAP: 'group',
      PROJECTION_MAX_IN_FLIGHT: '1',
      SHUTDOWN_GRACE_MS: String(GRACE_MS),
    });
    await listening(service);

    // Load: creates and payments from 8 clients, each acknowledged answer recorded.
    const acknowledged = new Map<string, number>();
    let stopping = false;
    const client = async () => {
      while (!stopping) {
        const orderId = randomUUID();
        try {
          const created = await post(base(), '/orders', orderBody(orderId));
          if (created.status !== 201) continue;
          acknowledged.set(orderId, ((await created.json()) as { revision: number }).revision);
          const paid = await post(base(), `/orders/${orderId}/payments`, { paymentId: `p-${orderId}`, amount: 1000, method: 'card' });
          if (paid.status === 201) acknowledged.set(orderId, ((await paid.json()) as { revision: number }).revision);
        } catch {
          // The listener went away: the command was not acknowledged.
        }
      }
    };
    const clients = Array.from({ length: 8 }, client);
    await until(() => `load and a stuck provider call (${acknowledged.size} acknowledged, ${provider.requests} provider calls; ${service.output().stdout.slice(-2000)})`, () => acknowledged.size >= 50 && provider.requests > 0);
    const projected = Number((await withReadModelsAt({ dataDir }, (store) => store.get<{ n: number }>('SELECT COUNT(*) AS n FROM order_summary')))?.n);
    expect(projected).toBeLessThan(SEEDED);

    const signalled = Date.now();
    service.child.kill('SIGTERM');
    const result = await service.done;
    const tookMs = Date.now() - signalled;
    stopping = true;
    await Promise.all(clients);

    expect(result.signal).toBeNull();
    // Cut short (the provider call never ends): exit code 1, within the bound, saying why.
    expect(result.code).toBe(1);
    expect(tookMs).toBeLessThan(EXIT_BOUND_MS);
    expect(result.stdout).toContain('grace period over with work in flight');
    expect(result.stdout).toContain('order-store.handler.whatsapp');

    // After a restart every acknowledged command is there, and the read model catches up on all.
    const restarted = serve({});
    await listening(restarted);
    for (const [orderId, revision] of acknowledged) {
      const order = await fetch(`${base()}/orders/${orderId}`, { headers: auth });
      expect(order.status, orderId).toBe(200);
      expect(((await order.json()) as { revision: number }).revision).toBeGreaterThanOrEqual(revision);
    }
    const everyOrder = new Set([...seededIds, ...acknowledged.keys()]);
    await until(
      'the order summaries to hold every acknowledged order',
      async () => {
        const listed = new Set<string>();
        let cursor: string | undefined;
        do {
          const page = (await (await fetch(`${base()}/orders?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { headers: auth })).json()) as {
            items: Array<{ orderId: string }>;
            nextCursor?: string;
          };
          for (const item of page.items) listed.add(item.orderId);
          cursor = page.nextCursor;
        } while (cursor);
        return [...everyOrder].every((orderId) => listed.has(orderId));
      },
      90_000,
    );
    restarted.child.kill('SIGTERM');
    expect((await restarted.done).code).toBe(0);
  });

  // The signals' handling, the same whichever the read-model backend: run once, on SQLite.
  it.skipIf(onPostgres)('exits at once on a second signal, without waiting out the grace period', { timeout: 90_000 }, async () => {
    const service = serve({
      ...stuckProviderEnv(),
      SHUTDOWN_GRACE_MS: '120000',
    });
    await listening(service);
    const requestsBefore = provider.requests;
    // The WhatsApp handler messages status changes: paying the order makes it call the provider.
    const orderId = randomUUID();
    expect((await post(base(), '/orders', orderBody(orderId))).status).toBe(201);
    expect((await post(base(), `/orders/${orderId}/payments`, { paymentId: `p-${orderId}`, amount: 1000, method: 'card' })).status).toBe(201);
    await until('a stuck provider call', () => provider.requests > requestsBefore);

    service.child.kill('SIGTERM');
    await until('the first signal to be taken', () => service.output().stdout.includes('shutting down'));
    const signalled = Date.now();
    service.child.kill('SIGINT');
    const result = await service.done;
    expect(result.code).toBe(130);
    expect(Date.now() - signalled).toBeLessThan(30_000);
    expect(result.stdout).toContain('second signal: exiting now');
  });
});

describe('npm start', () => {
  it.skipIf(onPostgres)('stops the service on kill -TERM of the npm process, leaving no orphan', { timeout: 90_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'order-store-npm-start-'));
    const [port, eventStorePort] = [await freePort(), await freePort()];
    const npm = spawn('npm', ['start', '--silent'], {
      cwd: repoRoot,
      env: { ...process.env, PORT: String(port), EVENTSTORE_PORT: String(eventStorePort), DATA_DIR: dataDir, API_KEYS: `${KEY}:shop`, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    npm.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    npm.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => npm.on('exit', (code) => resolve(code)));
    try {
      await until('npm start to listen', () => output.includes('listening on'));
      const service = descendantsOf(npm.pid!).find((pid) => commandLineOf(pid).includes('serve'));
      expect(service, 'the serve process under npm').toBeDefined();

      npm.kill('SIGTERM');
      expect(await exited).toBe(0);
      await until('the service process to be gone', () => !isAlive(service!), 20_000);
      await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
    } finally {
      npm.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

/** Every process below `root`, from /proc. */
function descendantsOf(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  const walk = (pid: number) => {
    for (const [child, parent] of parents) {
      if (parent !== pid) continue;
      found.push(child);
      walk(child);
    }
  };
  walk(root);
  return found;
}

function commandLineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}
