// The read models' PostgreSQL going away under load (READ_MODEL_URL), on the run's real server:
//   - the workers' connections are killed by the server (pg_terminate_backend) again and again
//     while batches are in flight: no event is parked, none is applied twice (sums and a handler's
//     rows count each event once), and once the database answers, everything is there;
//   - the API's database is cut off (a proxy between them resets and refuses its connections):
//     reads answer 503 problem+json and /ready says why, commands go on (they need only the event
//     store), and reads answer again once it is back.
// On SQLite there is no connection to lose: the file skips.
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import orderSummary, { listOrderSummaries } from '../../../projections/order-summary.js';
import salesByDay, { getSalesByDay } from '../../../projections/sales-by-day.js';
import { build } from '../../../src/api/app.js';
import { OrderStateCache } from '../../../src/eventstore/order-state-cache.js';
import { openServiceReadModels, type WatchedReadModelStore } from '../../../src/readmodels/read-model-health.js';
import type { ReadModelStore } from '../../../src/readmodels/read-model-store.js';
import { groupName } from '../../../src/subscriptions/group-settings.js';
import { defineHandler } from '../../../src/subscriptions/handler.js';
import { listProjectionParked } from '../../../src/subscriptions/projection-parking.js';
import type { SubscriptionRunner } from '../../../src/subscriptions/runner.js';
import { auth, TENANT_A } from '../../helpers/app.js';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { openTestReadModels, testDatabaseUrl } from '../../helpers/read-models.js';
import { startTcpProxy, type TcpProxy } from '../../helpers/tcp-proxy.js';
import { OrderWriter, eventually } from './order-writer.js';
import { readParked, startRunner } from './worker-helpers.js';

const ORDERS = 30;
const TOTAL = 1_250;

/** Counts every event it is given: a row per delivery that committed, so a double shows. */
const tally = defineHandler({
  name: 'tally',
  handles: ['order.created', 'payment.processed'],
  schema: 'CREATE TABLE IF NOT EXISTS tally (n INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL, type TEXT NOT NULL)',
  handle(event, context) {
    context.record(async (tx) => {
      await tx.run('INSERT INTO tally (event_id, type) VALUES (?, ?)', event.id, event.type);
    });
  },
});

describe('the read models losing their PostgreSQL connections', () => {
  let store: TestEventStore;
  let readModels: ReadModelStore | undefined;
  let admin: pg.Client | undefined;
  let runner: SubscriptionRunner | undefined;
  let proxy: TcpProxy | undefined;
  let api: { app: FastifyInstance; readModels: WatchedReadModelStore } | undefined;

  beforeEach(async () => {
    store = await startTestEventStore();
  });
  afterEach(async () => {
    await runner?.stop();
    await api?.app.close();
    await api?.readModels.close();
    await proxy?.close();
    await readModels?.close();
    await admin?.end();
    await store.close();
    runner = readModels = admin = proxy = api = undefined;
  });

  it('workers whose connections are terminated mid-batch lose nothing and double nothing once the database is back', { timeout: 120_000 }, async () => {
    readModels = await openTestReadModels();
    admin = new pg.Client({ connectionString: await testDatabaseUrl() });
    await admin.connect();
    const connection = admin;
    ({ runner } = await startRunner({
      client: store.client,
      store: readModels,
      projections: [orderSummary, salesByDay],
      handlers: [tally],
      runner: { retry: { maxRetries: 2, baseDelayMs: 5, maxDelayMs: 50, outOfOrderMaxRetries: 400, outOfOrderDelayMs: 5 } },
    }));

    // Every other session of this test's database ended by the server, over and over, while the
    // orders are written and the workers apply them.
    let terminated = 0;
    let writing = true;
    const killer = (async () => {
      for (let round = 0; round < 200 && (writing || round < 10); round++) {
        const { rows } = await connection.query<{ n: string }>(
          'SELECT count(*) AS n FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()) AS ended',
        );
        terminated += Number(rows[0]?.n ?? 0);
        await new Promise((resolve) => setTimeout(resolve, 40));
      }
    })();
    const writer = new OrderWriter(store.client);
    for (let index = 0; index < ORDERS; index++) {
      const orderId = `loss-${index}`;
      await writer.create(orderId, { items: [{ sku: 'MUG', quantity: 1, unitPrice: TOTAL }] });
      await writer.pay(orderId, TOTAL);
    }
    writing = false;
    await killer;
    expect(terminated).toBeGreaterThan(0);

    const models = readModels;
    const paid = await eventually(async () => {
      const page = await listOrderSummaries(models, { tenantId: 'tenant-a', status: 'PAID', limit: 100 });
      return page.items.length === ORDERS ? page.items : undefined;
    }, 60_000);
    expect(paid.every((summary) => summary.paidAmount === TOTAL)).toBe(true);
    // Additive sums: an event applied twice would count twice.
    const today = new Date().toISOString().slice(0, 10);
    await eventually(async () => (await getSalesByDay(models, 'tenant-a', today, today))[0]?.paidAmount === String(ORDERS * TOTAL), 60_000);
    expect(await getSalesByDay(models, 'tenant-a', today, today)).toEqual([
      expect.objectContaining({ ordersPlaced: ORDERS, orderedAmount: String(ORDERS * TOTAL), paidAmount: String(ORDERS * TOTAL) }),
    ]);
    // The handler's rows: one per event, none twice.
    await eventually(async () => (await models.get<{ n: number }>('SELECT count(*) AS n FROM tally'))?.n === ORDERS * 2, 60_000);
    expect(await models.get('SELECT count(*) AS n, count(DISTINCT event_id) AS events FROM tally')).toEqual({ n: ORDERS * 2, events: ORDERS * 2 });
    // Nothing was given up on for it.
    expect(await listProjectionParked(models, 'order-summary')).toEqual([]);
    expect(await listProjectionParked(models, 'sales-by-day')).toEqual([]);
    expect(await readParked(store.client, groupName('handler', 'tally'))).toEqual([]);
  });

  it('the API answers reads 503 and keeps taking commands while its database is out of reach, and reads again once it is back', { timeout: 60_000 }, async () => {
    const direct = new URL(await testDatabaseUrl());
    proxy = await startTcpProxy({ host: direct.hostname, port: Number(direct.port) });
    const proxied = new URL(direct);
    proxied.port = String(proxy.port);
    proxied.searchParams.set('schema', `s_loss_${process.pid}`);
    const models = await openServiceReadModels({ dataDir: '.', readModelUrl: proxied.toString() }, { poolSize: 2 });
    const app = await build({
      client: store.client,
      apiKeys: new Map([[TENANT_A.key, TENANT_A.tenantId]]),
      cache: new OrderStateCache(),
      overload: { maxEventLoopDelayMs: 0 },
      readModels: models,
    });
    await app.ready();
    api = { app, readModels: models };
    const order = () => ({ customer: { id: 'c-1' }, currency: 'EUR', items: [{ sku: 'MUG', quantity: 1, unitPrice: 1000 }] });

    expect((await app.inject({ method: 'GET', url: '/orders', headers: auth() })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200);

    await proxy.cut();
    const read = await app.inject({ method: 'GET', url: '/orders', headers: auth() });
    expect(read.statusCode).toBe(503);
    expect(read.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(read.json()).toMatchObject({ status: 503, code: 'READ_MODEL_UNAVAILABLE' });
    expect(read.headers['retry-after']).toBeDefined();
    const ready = await app.inject({ method: 'GET', url: '/ready' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({ code: 'READ_MODEL_UNAVAILABLE', fault: 'unreachable' });
    // Commands need only the event store.
    const created = await app.inject({ method: 'POST', url: '/orders', headers: auth(), payload: order() });
    expect(created.statusCode).toBe(201);

    await proxy.restore();
    await eventually(async () => (await app.inject({ method: 'GET', url: '/orders', headers: auth() })).statusCode === 200, 20_000);
    expect((await app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200);
  });
});
