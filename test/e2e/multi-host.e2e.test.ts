// Several hosts on one PostgreSQL: two `orders serve --role workers` and two `--role api`
// processes, each with a DATA_DIR of its own (nothing shared through files, as on separate
// machines), all on one READ_MODEL_URL and one event store. Order lifecycles of three tenants go
// through both APIs while one worker is SIGKILLed and later started again. Then: every effect
// happened once (handler ledgers, notifications, WhatsApp outbox, analytics, stock moved once per
// order), both APIs answer the same pages, and every read model equals a fresh replay of the
// history into another schema, table by table.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FORWARDS, START, StreamNotFoundError, type EventStoreDBClient } from '@eventstore/db-client';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projections } from '../../projections/index.js';
import { projectionTables } from '../../src/replay/projection-tables.js';
import { runCli } from '../helpers/cli.js';
import { startTestEventStore, type TestEventStore } from '../helpers/event-store.js';
import { freePort } from '../helpers/free-port.js';
import { onPostgres, testDatabaseUrl } from '../helpers/read-models.js';
import { eventually } from '../integration/workers/order-writer.js';

const bin = join(import.meta.dirname, '../../bin/orders.js');
const TENANTS = ['t-north', 't-south', 't-east'] as const;
const KEYS: Record<string, string> = Object.fromEntries(TENANTS.map((tenant) => [tenant, `multi-host-key-${tenant}-0123456789`]));
const ORDERS_PER_TENANT = 10;
const LIVE_SCHEMA = 'live';
const SKUS = ['SKU-MUG', 'SKU-TEA'];
const STOCK = 500;

type Role = 'api' | 'workers';
interface Host {
  role: Role;
  port: number;
  child: ChildProcess;
  ready: Promise<void>;
}

describe.runIf(onPostgres)('two API hosts and two worker hosts on one PostgreSQL', () => {
  let store: TestEventStore;
  let liveUrl: string;
  let db: pg.Client;
  const dirs: string[] = [];
  const children = new Set<ChildProcess>();

  function host(role: Role, port: number): Host {
    // A data folder of its own: the hosts share only the event store and PostgreSQL.
    const dataDir = mkdtempSync(join(tmpdir(), `multi-host-${role}-`));
    dirs.push(dataDir);
    const child = spawn(process.execPath, [bin, 'serve', '--role', role], {
      env: {
        ...process.env,
        ESDB_CONNECTION_STRING: store.connectionString,
        READ_MODEL_URL: liveUrl,
        DATA_DIR: dataDir,
        API_KEYS: TENANTS.map((tenant) => `${KEYS[tenant]}:${tenant}`).join(','),
        PORT: String(port),
        LOG_LEVEL: 'warn',
        // The default handler timeout: on a loaded machine (2 cores shared) a handler's commit
        // on PostgreSQL can take seconds, and a tight timeout parks events for want of patience.
        // Events a killed worker held come back to the group after the message timeout at most.
        HANDLER_TIMEOUT_MS: '10000',
        SUBSCRIPTION_MESSAGE_TIMEOUT_MS: '15000',
        HANDLER_RETRY_BASE_MS: '50',
        HANDLER_RETRY_MAX_MS: '1000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    child.on('exit', () => children.delete(child));
    let output = '';
    const ready = new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (/listening on|running workers/.test(output)) resolve();
      });
      child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      // MULTI_HOST_LOG=<file>: every host's output there, to see what a failed run went through.
      const log = process.env.MULTI_HOST_LOG;
      if (log) for (const stream of [child.stdout, child.stderr]) stream?.on('data', (chunk: Buffer) => appendFileSync(log, `[${role} ${port}] ${chunk.toString()}`));
      child.on('exit', (code, signal) => reject(new Error(`${role} on ${port} exited (${code ?? signal}) before it was ready:\n${output}`)));
    });
    ready.catch(() => undefined);
    return { role, port, child, ready };
  }

  async function call(api: Host, tenant: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    const answer = await fetch(`http://127.0.0.1:${api.port}${path}`, {
      method,
      headers: { authorization: `Bearer ${KEYS[tenant]}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: answer.status, json: (await answer.json()) as Record<string, unknown> };
  }

  async function rows<T = Record<string, unknown>>(sql: string, ...params: unknown[]): Promise<T[]> {
    return (await db.query(sql, params)).rows as T[];
  }

  beforeAll(async () => {
    store = await startTestEventStore();
    const url = new URL(await testDatabaseUrl());
    url.searchParams.set('schema', LIVE_SCHEMA);
    liveUrl = url.toString();
    db = new pg.Client({ connectionString: await testDatabaseUrl() });
    await db.connect();
  });

  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await db?.end();
    await store?.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('has every effect once and read models equal to a fresh replay, with a worker SIGKILLed mid-load', { timeout: 360_000 }, async () => {
    const apis = [host('api', await freePort()), host('api', await freePort())];
    const workers = [host('workers', await freePort()), host('workers', await freePort())];
    // All four start at once: schema set-up is safe when several processes run it together.
    await Promise.all([...apis, ...workers].map((each) => each.ready));

    for (const [index, tenant] of TENANTS.entries()) {
      for (const sku of SKUS) expect((await call(apis[index % 2]!, tenant, 'PUT', `/inventory/${sku}`, { onHand: STOCK })).status).toBe(200);
    }

    // Lifecycles through both APIs: create on one host, pay on the other, ship on the first.
    const orders = TENANTS.flatMap((tenant) => Array.from({ length: ORDERS_PER_TENANT }, (_, index) => ({ tenant, orderId: randomUUID(), index })));
    const quantity = (index: number, sku: string) => 1 + ((index + SKUS.indexOf(sku)) % 3);
    let done = 0;
    const lifecycle = async ({ tenant, orderId, index }: (typeof orders)[number]) => {
      const [first, second] = index % 2 === 0 ? [apis[0]!, apis[1]!] : [apis[1]!, apis[0]!];
      const items = SKUS.map((sku) => ({ sku, quantity: quantity(index, sku), unitPrice: 700 }));
      const total = items.reduce((sum, item) => sum + item.quantity * item.unitPrice, 0);
      const created = await call(first, tenant, 'POST', '/orders', { orderId, customer: { id: `c-${index % 3}`, name: 'Ana', phone: '+14155550100' }, currency: 'EUR', items });
      expect(created.status, JSON.stringify(created.json)).toBe(201);
      const paid = await call(second, tenant, 'POST', `/orders/${orderId}/payments`, { paymentId: `pay-${orderId}`, amount: total, method: 'card' });
      expect(paid.status, JSON.stringify(paid.json)).toBe(201);
      const shipped = await call(first, tenant, 'POST', `/orders/${orderId}/ship`, { carrier: 'DHL', trackingNumber: `TRK-${index}` });
      expect(shipped.status, JSON.stringify(shipped.json)).toBe(200);
      done++;
    };
    const queue = [...orders];
    const load = Promise.all(
      Array.from({ length: 6 }, async () => {
        for (let next = queue.shift(); next; next = queue.shift()) await lifecycle(next);
      }),
    );
    // Until `count` lifecycles are done; a command that failed ends the test at once.
    const progressed = (count: number) => Promise.race([eventually(() => done >= count, 60_000), load]);

    // Mid-load, one worker host dies without a word; a new one takes its place a little later.
    await progressed(orders.length / 3);
    const killed = new Promise((resolve) => workers[0]!.child.once('exit', resolve));
    workers[0]!.child.kill('SIGKILL');
    await killed;
    await progressed((orders.length * 2) / 3);
    workers[0] = host('workers', workers[0]!.port);
    await workers[0].ready;
    await load;

    // What the history says each order led to.
    const expected = await expectedEffects(store.client, orders.map(({ tenant, orderId }) => ({ tenant, orderId })));
    const summaryCount = async () => (await rows<{ n: number }>(`SELECT count(*)::int AS n FROM ${LIVE_SCHEMA}.order_summary WHERE status = 'SHIPPED'`))[0]!.n;
    const effects = () => currentEffects(db);
    let last: unknown;
    await eventually(async () => {
      const now = await effects();
      last = { now, expected: expected.totals, shipped: await summaryCount() };
      return JSON.stringify(now) === JSON.stringify(expected.totals) && (await summaryCount()) === orders.length;
    }, 150_000).catch(async (error: unknown) => {
      const listed = await runCli(['projections', '--json'], { env: { ESDB_CONNECTION_STRING: store.connectionString, READ_MODEL_URL: liveUrl } });
      const groups = (JSON.parse(listed.stdout || '[]') as Record<string, unknown>[]).map(({ name, lag, parked, consumers, checkpoint }) => ({ name, lag, parked, consumers, checkpoint }));
      const parked: string[] = [];
      for (const name of ['notification', 'whatsapp']) {
        const listedParked = await runCli(['parked', `order-store.handler.${name}`], { env: { ESDB_CONNECTION_STRING: store.connectionString, READ_MODEL_URL: liveUrl } });
        parked.push(listedParked.stdout.split('\n').slice(0, 12).join('\n'), listedParked.stderr);
      }
      throw new Error(`the effects did not settle: ${JSON.stringify(last)}\ngroups: ${JSON.stringify(groups)}\nunhandled: ${JSON.stringify(await unhandled())}\nparked:\n${parked.join('\n')}`, { cause: error });
    });

    // Every group caught up with nothing parked and both workers in every group; the counts once
    // more a moment later: redeliveries of what the killed worker held add nothing.
    let listedGroups = '';
    const groups = await eventually(async () => {
      const listed = await runCli(['projections', '--json'], { env: { ESDB_CONNECTION_STRING: store.connectionString, READ_MODEL_URL: liveUrl } });
      listedGroups = `${listed.stdout}${listed.stderr}`;
      const parsed = JSON.parse(listed.stdout) as { name: string; lag?: number; parked?: number; consumers?: number }[];
      return parsed.every((group) => group.lag === 0 && (group.parked ?? 0) === 0) ? parsed : undefined;
    }, 60_000).catch((error: unknown) => {
      throw new Error(`the groups did not catch up:\n${listedGroups}`, { cause: error });
    });
    expect(groups.filter((group) => group.consumers === 2).length).toBe(groups.length);
    await new Promise((resolve) => setTimeout(resolve, 3_500));
    expect(await effects()).toEqual(expected.totals);

    // No event handled twice by any handler (the ledger), and each effect per source event once.
    expect(await rows(`SELECT handler, event_id, count(*)::int AS n FROM ${LIVE_SCHEMA}.handled_events GROUP BY 1, 2 HAVING count(*) > 1`)).toEqual([]);
    expect(await rows(`SELECT event_id FROM ${LIVE_SCHEMA}.whatsapp_outbox GROUP BY 1 HAVING count(*) > 1`)).toEqual([]);
    // Notifications are events in the store: one per order event that asks for one, none twice.
    const written = await expectedEffects(store.client, orders.map(({ tenant, orderId }) => ({ tenant, orderId })));
    expect(written.notificationDoubles).toEqual([]);
    expect(written.notifications).toBe(written.notifying);

    // Stock moved once per order: every line shipped, on hand down by exactly what was ordered.
    for (const tenant of TENANTS) {
      for (const sku of SKUS) {
        const ordered = orders.filter((order) => order.tenant === tenant).reduce((sum, order) => sum + quantity(order.index, sku), 0);
        const level = await call(apis[1]!, tenant, 'GET', `/inventory/${sku}`);
        expect(level.json).toMatchObject({ onHand: STOCK - ordered, reserved: 0 });
      }
    }
    expect(await rows(`SELECT state, count(*)::int AS n FROM ${LIVE_SCHEMA}.inventory_lines GROUP BY state`)).toEqual([{ state: 'shipped', n: orders.length * SKUS.length }]);

    // Both API hosts answer the same pages (cursor pagination), each tenant only its own orders.
    for (const tenant of TENANTS) {
      const pages = await Promise.all(apis.map((api) => allPages(api, tenant)));
      expect(pages[0]).toEqual(pages[1]);
      expect(pages[0]!.map((order) => order.orderId).sort()).toEqual(orders.filter((order) => order.tenant === tenant).map((order) => order.orderId).sort());
      expect(pages[0]!.every((order) => order.status === 'SHIPPED')).toBe(true);
    }

    // A fresh replay of every projection into another schema: the same rows, table by table.
    for (const projection of projections) {
      const out = `fresh_${projection.name.replace(/[^a-z0-9]+/g, '_')}`;
      const replayed = await runCli(['replay', projection.name, '--until', '2999-01-01T00:00:00Z', '--out', out], {
        env: { ESDB_CONNECTION_STRING: store.connectionString, READ_MODEL_URL: liveUrl, DATA_DIR: dirs[0]! },
        timeoutMs: 120_000,
      });
      expect(replayed.stderr.replace(/\r?[^\n]*replay [^\n]*events[^\n]*/g, '').trim()).toBe('');
      expect(replayed.code).toBe(0);
      for (const table of projectionTables(projection)) {
        const live = await rows(`SELECT * FROM ${LIVE_SCHEMA}.${table}`);
        const fresh = await rows(`SELECT * FROM ${out}.${table}`);
        expect(live.length, `${projection.name}: ${table}`).toBeGreaterThan(0);
        expect(canonical(live), `${projection.name}: ${table}`).toEqual(canonical(fresh));
      }
    }

    /** Order events a handler has no ledger row for, with where they are in $all. */
    async function unhandled(): Promise<Record<string, string[]>> {
      const handledRows = await rows<{ handler: string; event_id: string }>(`SELECT handler, event_id FROM ${LIVE_SCHEMA}.handled_events`);
      const seen = new Set(handledRows.map((row) => `${row.handler}/${row.event_id}`));
      const missing: Record<string, string[]> = {};
      for (const { tenant, orderId } of orders) {
        for await (const resolved of store.client.readStream(`order-${tenant}-${orderId}`, { direction: FORWARDS, fromRevision: START })) {
          const event = resolved.event!;
          const wanted = [['notification', event.type === 'order.created' || event.type === 'order.status_changed'], ['whatsapp', event.type === 'order.status_changed']] as const;
          for (const [handler, handles] of wanted) {
            if (handles && !seen.has(`${handler}/${event.id}`)) (missing[handler] ??= []).push(`${event.type}@${event.position?.commit} ${event.id}`);
          }
        }
      }
      return missing;
    }

    async function allPages(api: Host, tenant: string): Promise<{ orderId: string; status: string }[]> {
      const items: { orderId: string; status: string }[] = [];
      let cursor: string | undefined;
      do {
        const page = await call(api, tenant, 'GET', `/orders?limit=4${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        expect(page.status).toBe(200);
        items.push(...(page.json.items as { orderId: string; status: string }[]));
        cursor = (page.json.nextCursor as string | null | undefined) ?? undefined;
      } while (cursor);
      return items;
    }
  });
});

interface EffectTotals {
  /** Rows of the handler ledger, per handler. */
  handled: Record<string, number>;
  analyticsEvents: number;
  outbox: number;
}

/**
 * From the event store alone: the ledger rows each handler must end with (one per event it
 * handles), the WhatsApp messages (one per status change), the analytics rows (one per order
 * event), and the notifications written, with any that were caused by the same event twice.
 */
async function expectedEffects(
  client: EventStoreDBClient,
  orders: { tenant: string; orderId: string }[],
): Promise<{ totals: EffectTotals; notifying: number; notifications: number; notificationDoubles: string[] }> {
  let orderEvents = 0;
  let notifying = 0;
  let statusChanges = 0;
  let notifications = 0;
  const notificationDoubles: string[] = [];
  for (const { tenant, orderId } of orders) {
    for await (const resolved of client.readStream(`order-${tenant}-${orderId}`, { direction: FORWARDS, fromRevision: START })) {
      const type = resolved.event!.type;
      orderEvents++;
      if (type === 'order.status_changed') statusChanges++;
      if (type === 'order.created' || type === 'order.status_changed') notifying++;
    }
    const causes = new Set<string>();
    try {
      for await (const resolved of client.readStream(`notification-${tenant}-${orderId}`, { direction: FORWARDS, fromRevision: START })) {
        notifications++;
        const cause = String((resolved.event!.metadata as Record<string, unknown>).$causationId);
        if (causes.has(cause)) notificationDoubles.push(`${orderId}: ${cause}`);
        causes.add(cause);
      }
    } catch (error) {
      // None requested yet for this order.
      if (!(error instanceof StreamNotFoundError)) throw error;
    }
  }
  return {
    totals: { handled: { notification: notifying, whatsapp: statusChanges }, analyticsEvents: orderEvents, outbox: statusChanges },
    notifying,
    notifications,
    notificationDoubles,
  };
}

async function currentEffects(db: pg.Client): Promise<EffectTotals> {
  const one = async (sql: string) => ((await db.query(sql)).rows[0] as { n: number }).n;
  const handled: Record<string, number> = {};
  for (const row of (await db.query(`SELECT handler, count(*)::int AS n FROM ${LIVE_SCHEMA}.handled_events GROUP BY handler ORDER BY handler`)).rows as { handler: string; n: number }[]) {
    handled[row.handler] = row.n;
  }
  return {
    handled,
    analyticsEvents: await one(`SELECT count(*)::int AS n FROM ${LIVE_SCHEMA}.analytics_events`),
    outbox: await one(`SELECT count(*)::int AS n FROM ${LIVE_SCHEMA}.whatsapp_outbox`),
  };
}

/** Rows as sorted JSON lines: the same set of rows whatever order the server returns them in. */
function canonical(table: Record<string, unknown>[]): string[] {
  return table.map((row) => JSON.stringify(Object.keys(row).sort().map((key) => [key, row[key]]))).sort();
}
