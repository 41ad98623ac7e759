// `orders serve` as `npm start` runs it, with no configuration: the embedded store comes up
// secured (TLS + credentials), the service reaches it on the store's local socket (its own OS
// user's, no TLS: esdb-server/local-socket.ts), the CLI commands reach it on the port with the
// credentials kept in DATA_DIR, a client without credentials is refused, and a person logs in to the UI in a real browser
// with what `serve` printed. With EVENTSTORE_INSECURE=true the same runs without any of it.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccessDeniedError, EventStoreDBClient, BACKWARDS, END } from '@eventstore/db-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBrowser } from '../helpers/browser.js';
import { runCli, startCli, type RunningCli } from '../helpers/cli.js';
import { freePort } from '../helpers/free-port.js';
import { collect, eventually } from '../integration/esdb/support.js';

const ORDER = (orderId: string) => ({
  orderId,
  customer: { id: 'c-secured', name: 'Ada', phone: '+14155550100' },
  currency: 'EUR',
  items: [{ sku: 'TSHIRT-M', quantity: 2, unitPrice: 1500 }],
});

interface Served {
  cli: RunningCli;
  dataDir: string;
  api: string;
  storePort: number;
  stdout: () => string;
}

async function serve(env: Record<string, string> = {}): Promise<Served> {
  const dataDir = mkdtempSync(join(tmpdir(), 'orders-secured-'));
  const [apiPort, storePort] = [await freePort(), await freePort()];
  // Nothing about the store is configured: no connection string, no credentials, no certificates.
  const cli = startCli(['serve'], {
    env: { DATA_DIR: dataDir, PORT: String(apiPort), EVENTSTORE_PORT: String(storePort), LOG_LEVEL: 'warn', ESDB_CONNECTION_STRING: '', API_KEYS: '', EVENTSTORE_INSECURE: '', ...env },
    timeoutMs: 180_000,
  });
  // The development key is the last line `serve` prints at start.
  await eventually(() => (cli.output().stdout.includes('development API key') ? true : undefined), 90_000);
  return { cli, dataDir, api: `http://127.0.0.1:${apiPort}`, storePort, stdout: () => cli.output().stdout };
}

async function stop(served: Served | undefined) {
  if (!served) return;
  served.cli.child.kill('SIGTERM');
  await served.cli.done;
  rmSync(served.dataDir, { recursive: true, force: true });
}

describe('orders serve on the secured default', () => {
  const browser = useBrowser();
  let served: Served;
  let password: string;
  let devKey: string;
  const orderId = randomUUID();

  beforeAll(async () => {
    served = await serve();
    const login = /^event store login: user 'admin', password (\S+) \(kept in (\S+)\)$/m.exec(served.stdout());
    expect(login?.[2]).toBe(join(served.dataDir, 'eventstore-admin-password'));
    password = login![1]!;
    devKey = /^development API key \(tenant 'dev'\): (\S+)$/m.exec(served.stdout())![1]!;
  }, 150_000);
  afterAll(() => stop(served));

  it('prints the store as TLS without its password, and the UI URL on loopback', () => {
    expect(served.stdout()).toMatch(new RegExp(`embedded event store esdb://admin:\\*\\*\\*@localhost:${served.storePort}\\?tls=true`));
    expect(served.stdout()).not.toContain(`admin:${password}@`);
    expect(served.stdout()).toContain(`event store UI (streams, traces, subscriptions): http://127.0.0.1:${served.storePort}/`);
  });

  it('works end to end: the API appends on the local socket and the workers project it', async () => {
    const headers = { authorization: `Bearer ${devKey}`, 'content-type': 'application/json', 'x-correlation-id': `secured-${orderId}` };
    const created = await fetch(`${served.api}/orders`, { method: 'POST', headers, body: JSON.stringify(ORDER(orderId)) });
    expect(created.status).toBe(201);
    const listed = await eventually(async () => {
      const page = (await (await fetch(`${served.api}/customers/c-secured/orders`, { headers })).json()) as { orders?: { orderId: string }[] };
      return page.orders?.some((order) => order.orderId === orderId) ? page : undefined;
    }, 30_000);
    expect(listed.orders!.map((order) => order.orderId)).toContain(orderId);
    // The workers' group connections come from the socket, not from a TCP port on loopback.
    const caFile = encodeURIComponent(join(served.dataDir, 'eventstore-ca.crt'));
    const admin = EventStoreDBClient.connectionString(`esdb://admin:${encodeURIComponent(password)}@localhost:${served.storePort}?tls=true&tlsCAFile=${caFile}`);
    try {
      const info = await admin.getPersistentSubscriptionToAllInfo('order-store.projections');
      expect(info.connections.length).toBe(1);
      expect(info.connections[0]!.from).toBe(`unix:${join(served.dataDir, 'eventstore.sock')}`);
      expect(statSync(join(served.dataDir, 'eventstore.sock')).isSocket()).toBe(true);
    } finally {
      await admin.dispose();
    }
  });

  it('refuses a client without credentials, even one that trusts the store CA', async () => {
    const caFile = encodeURIComponent(join(served.dataDir, 'eventstore-ca.crt'));
    const anonymous = EventStoreDBClient.connectionString(`esdb://localhost:${served.storePort}?tls=true&tlsCAFile=${caFile}`);
    try {
      await expect(collect(anonymous.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 5 }))).rejects.toBeInstanceOf(AccessDeniedError);
    } finally {
      await anonymous.dispose().catch(() => undefined);
    }
  });

  it('lets the CLI commands reach the store with the credentials kept in DATA_DIR, without configuration', async () => {
    const result = await runCli(['projections', '--json'], { env: { DATA_DIR: served.dataDir, EVENTSTORE_PORT: String(served.storePort), ESDB_CONNECTION_STRING: '', EVENTSTORE_INSECURE: '' }, timeoutMs: 60_000 });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('order-summary');
  });

  it('asks the browser for credentials, and shows the UI once the printed ones are given', async () => {
    const ui = `http://127.0.0.1:${served.storePort}/ui/`;
    const refused = await browser.page.goto(ui);
    expect(refused?.status()).toBe(401);
    expect(await browser.page.textContent('body')).toContain('Log in');

    // The browser's Basic prompt, answered as a person would with what `serve` printed.
    const context = await browser.browser.newContext({ httpCredentials: { username: 'admin', password } });
    try {
      const page = await context.newPage();
      const dashboard = await page.goto(ui);
      expect(dashboard?.status()).toBe(200);
      const stream = await page.goto(`${ui}streams/${encodeURIComponent(`order-dev-${orderId}`)}`);
      expect(stream?.status()).toBe(200);
      expect(await page.textContent('body')).toContain('order.created');
      // The page's own requests (its stylesheet and htmx) carry the credentials too.
      const assets = await page.evaluate(() => Promise.all(['/ui/assets/ui.css', '/ui/assets/htmx.min.js'].map(async (path) => (await fetch(path)).status)));
      expect(assets).toEqual([200, 200]);
    } finally {
      await context.close();
    }

    const wrong = await browser.browser.newContext({ httpCredentials: { username: 'admin', password: 'not-it' } });
    try {
      const page = await wrong.newPage();
      expect((await page.goto(ui))?.status()).toBe(401);
    } finally {
      await wrong.close();
    }
  });
});

describe('orders serve with EVENTSTORE_INSECURE=true', () => {
  let served: Served | undefined;
  afterAll(() => stop(served));

  it('runs the store without TLS and credentials, says so, and anyone on the port can read', async () => {
    served = await serve({ EVENTSTORE_INSECURE: 'true' });
    expect(served.stdout()).toContain('event store: INSECURE (EVENTSTORE_INSECURE)');
    expect(served.stdout()).toContain(`embedded event store esdb://127.0.0.1:${served.storePort}?tls=false`);
    const devKey = /^development API key \(tenant 'dev'\): (\S+)$/m.exec(served.stdout())![1]!;
    const created = await fetch(`${served.api}/orders`, {
      method: 'POST',
      headers: { authorization: `Bearer ${devKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(ORDER(randomUUID())),
    });
    expect(created.status).toBe(201);
    const anyone = EventStoreDBClient.connectionString(`esdb://127.0.0.1:${served.storePort}?tls=false`);
    try {
      expect((await collect(anyone.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 5 }))).length).toBeGreaterThan(0);
    } finally {
      await anyone.dispose().catch(() => undefined);
    }
    expect((await fetch(`http://127.0.0.1:${served.storePort}/ui/`)).status).toBe(200);
  }, 150_000);
});
