// New projections catch up on the stored history by one read of $all, then the shared projections
// group starts where the read ended (src/subscriptions/projection-bootstrap.ts, projection-migration.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventStoreDBClient, jsonEvent } from '@eventstore/db-client';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { projections } from '../../../projections/index.js';
import { getOrderSummary, listOrderSummaries } from '../../../projections/order-summary.js';
import { getCustomerOrders } from '../../../projections/orders-by-customer.js';
import { workerMetrics } from '../../../src/observability/worker-metrics.js';
import { type ReadModelStore } from '../../../src/readmodels/read-model-store.js';
import { projectionsGroupName } from '../../../src/subscriptions/group-settings.js';
import { listProjectionParked } from '../../../src/subscriptions/projection-parking.js';
import { bootstrapProjections } from '../../../src/subscriptions/projection-bootstrap.js';
import type { SubscriptionRunner } from '../../../src/subscriptions/runner.js';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { OrderWriter, eventually } from './order-writer.js';
import { metricValue, startRunner } from './worker-helpers.js';
import { openTestReadModels } from '../../helpers/read-models.js';

const silent = pino({ level: 'silent' });
const projectionsGroup = projectionsGroupName();

let store: TestEventStore;
let readModels: ReadModelStore;
let writer: OrderWriter;
const runners: SubscriptionRunner[] = [];

beforeEach(async () => {
  store = await startTestEventStore();
  readModels = await openTestReadModels();
  writer = new OrderWriter(store.client);
});

afterEach(async () => {
  for (const runner of runners.splice(0)) await runner.stop();
  await readModels.close();
  await store.close();
});

/** Writes `count` orders (created, paid, shipped); returns the number of events written. */
async function writeOrders(prefix: string, count: number): Promise<number> {
  let events = 0;
  for (let index = 0; index < count; index++) {
    const orderId = `${prefix}-${index}`;
    events += (await writer.create(orderId, { customer: { id: `cust-${index % 3}`, name: 'Ada' } })).length;
    events += (await writer.pay(orderId, 2000)).length;
    events += (await writer.ship(orderId)).length;
  }
  return events;
}

describe('catch-up of new projections by reading $all', () => {
  it('applies the stored history before the runner starts, then the groups deliver from where the read ended', async () => {
    const written = await writeOrders('old', 6);
    // Events the projections must step over: another stream, and an event type they do not know.
    await store.client.appendToStream('cart-1', jsonEvent({ type: 'cart.opened', data: {} }));
    await store.client.appendToStream('order-old-0', jsonEvent({ type: 'order.note_added', data: { note: 'gift wrap' } }));

    const { runner, registry } = await startRunner({ client: store.client, store: readModels, projections: [...projections] });
    runners.push(runner);

    expect(runner.bootstrap).toMatchObject({ events: written + 1, projections: projections.map((projection) => projection.name) });
    expect(runner.bootstrap?.stoppedAt).toBeUndefined();
    // Already there when start() returns: no waiting on the groups.
    expect((await listOrderSummaries(readModels, { tenantId: 'tenant-a', status: 'SHIPPED', limit: 50 })).items).toHaveLength(6);
    expect((await getCustomerOrders(readModels, 'tenant-a', 'cust-0', 10)).orders.map((order) => order.orderId).sort()).toEqual(['old-0', 'old-3']);
    expect(await metricValue(registry, 'events_processed_total', { handler: 'order-summary' })).toBeGreaterThanOrEqual(written + 1);

    // The group starts at the last event read (redelivered, and skipped as a duplicate).
    const info = await store.client.getPersistentSubscriptionToAllInfo(projectionsGroup);
    expect(info.settings.startFrom).toEqual(runner.bootstrap?.position);

    // What comes next arrives through the groups, after an event the read already applied.
    await writer.create('new-0', { customer: { id: 'cust-0', name: 'Ada' } });
    await writer.deliver('old-1');
    await eventually(async () => await getOrderSummary(readModels, 'tenant-a', 'new-0'));
    await eventually(async () => (await getOrderSummary(readModels, 'tenant-a', 'old-1'))?.status === 'DELIVERED');
    expect(await getOrderSummary(readModels, 'tenant-a', 'old-0')).toMatchObject({ status: 'SHIPPED', paidAmount: 2000 });
  });

  it('leaves groups that already exist to catch up through the groups, whatever they missed', async () => {
    const first = await startRunner({ client: store.client, store: readModels, projections: [...projections] });
    expect(first.runner.bootstrap?.events).toBe(0); // new groups, nothing stored yet
    await first.runner.stop();

    await writeOrders('missed', 3);
    const { runner } = await startRunner({ client: store.client, store: readModels, projections: [...projections] });
    runners.push(runner);
    expect(runner.bootstrap).toBeUndefined();
    await eventually(async () => (await listOrderSummaries(readModels, { tenantId: 'tenant-a', status: 'SHIPPED', limit: 50 })).items.length === 3);
  });

  it("catches up through the groups alone when projectionBootstrap is 'group'", async () => {
    await writeOrders('old', 3);
    const { runner } = await startRunner({ client: store.client, store: readModels, projections: [...projections], runner: { projectionBootstrap: 'group' } });
    runners.push(runner);
    expect(runner.bootstrap).toBeUndefined();
    await eventually(async () => (await listOrderSummaries(readModels, { tenantId: 'tenant-a', status: 'SHIPPED', limit: 50 })).items.length === 3);
  });

  it('stops at an event that does not parse and leaves it to the groups, which retry and park it while the rest is applied', async () => {
    await writeOrders('good', 2);
    await writer.create('bad');
    // Written by something other than this service: not a valid order.paid.
    await store.client.appendToStream('order-bad', jsonEvent({ type: 'order.paid', data: { amount: 'lots' } }));
    await writeOrders('after', 2);

    const { runner } = await startRunner({ client: store.client, store: readModels, projections: [...projections] });
    runners.push(runner);
    expect(runner.bootstrap?.stoppedAt).toMatchObject({ streamId: 'order-bad', revision: 1 });
    expect(runner.bootstrap?.stoppedAt?.reason).toContain('invalid order.paid');

    // The group takes over: the bad event is parked for the projections that read order.paid...
    const parked = await eventually(async () => {
      const entries = await listProjectionParked(readModels, 'order-summary');
      return entries.length > 0 ? entries : undefined;
    });
    expect(parked.map((entry) => `${entry.revision}@${entry.streamId}`)).toEqual(['1@order-bad']);
    expect(parked[0]!.reason).toContain('order.paid');
    // ...and every other order is complete.
    await eventually(async () => (await listOrderSummaries(readModels, { tenantId: 'tenant-a', status: 'SHIPPED', limit: 50 })).items.length === 4);
    expect(await getOrderSummary(readModels, 'tenant-a', 'bad')).toMatchObject({ status: 'PENDING', paidAmount: 0 });
  });

  it('commits in batches, ends at the last committed event when it stops, and a second read changes nothing', async () => {
    let total = await writeOrders('a', 2);
    total += (await writer.create('bad')).length;
    await store.client.appendToStream('order-bad', jsonEvent({ type: 'order.paid', data: { amount: 'lots' } }));
    total += 1;
    const deps = { client: store.client, store: readModels, logger: silent, metrics: workerMetrics(new Registry()), batchSize: 4 };

    const first = await bootstrapProjections(projections, deps);
    // Whole batches of 4 before the one holding the bad (last) event; that batch is rolled back.
    const committed = 4 * Math.floor((total - 1) / 4);
    expect(first.events).toBe(committed);
    expect(first.stoppedAt).toMatchObject({ streamId: 'order-bad', revision: 1 });
    const orderEvents = [];
    for await (const resolved of store.client.readAll()) if (resolved.event?.streamId.startsWith('order-')) orderEvents.push(resolved.event);
    expect(first.position).toEqual(orderEvents[committed - 1]?.position);
    const revisions = await readModels.all<{ stream_id: string; revision: number }>(
      "SELECT stream_id, revision FROM projection_revisions WHERE projection = 'order-summary' ORDER BY stream_id",
    );
    // Exactly the committed events took their revision: the last committed of each stream.
    const expected = new Map<string, number>();
    for (const event of orderEvents.slice(0, committed)) expected.set(event.streamId, Number(event.revision));
    expect(revisions).toEqual([...expected].sort(([x], [y]) => x.localeCompare(y)).map(([stream_id, revision]) => ({ stream_id, revision })));

    const before = JSON.stringify((await listOrderSummaries(readModels, { tenantId: 'tenant-a', limit: 50 })).items);
    const metrics = workerMetrics(new Registry());
    const again = await bootstrapProjections(projections, { ...deps, metrics });
    expect(again.events).toBe(committed);
    expect(JSON.stringify((await listOrderSummaries(readModels, { tenantId: 'tenant-a', limit: 50 })).items)).toBe(before);
    const values = (await metrics.eventsProcessed.get()).values.filter((value) => value.labels.handler === 'order-summary');
    expect(values.every((value) => value.labels.outcome === 'duplicate')).toBe(true);
    expect(values.reduce((sum, value) => sum + value.value, 0)).toBe(committed);
  });
});

describe('reading in pages', () => {
  it('applies every event exactly once across page boundaries', async () => {
    const written = await writeOrders('paged', 5);
    await store.client.appendToStream('cart-9', jsonEvent({ type: 'cart.opened', data: {} })); // not an order stream
    const metrics = workerMetrics(new Registry());
    const result = await bootstrapProjections(projections, { client: store.client, store: readModels, logger: silent, metrics, batchSize: 3, pageSize: 4 });
    expect(result.events).toBe(written);
    const outcomes = (await metrics.eventsProcessed.get()).values.filter((value) => value.labels.handler === 'order-summary');
    expect(outcomes.reduce((sum, value) => sum + value.value, 0)).toBe(written);
    expect(outcomes.some((value) => value.labels.outcome === 'duplicate')).toBe(false);
    expect((await listOrderSummaries(readModels, { tenantId: 'tenant-a', status: 'SHIPPED', limit: 50 })).items).toHaveLength(5);
  });

  it('reads the rest of a page after stopping early, so the client can still be disposed', async () => {
    await writer.create('before');
    await writer.create('bad');
    await store.client.appendToStream('order-bad', jsonEvent({ type: 'order.paid', data: { amount: 'lots' } }));
    await writer.create('after');
    // Its own client: one that never disposes would hang this test, not the teardown.
    const client = EventStoreDBClient.connectionString(store.connectionString);
    const result = await bootstrapProjections(projections, { client, store: readModels, logger: silent, metrics: workerMetrics(new Registry()), batchSize: 1 });
    expect(result.stoppedAt?.streamId).toBe('order-bad');
    const disposed = await Promise.race([client.dispose().then(() => 'disposed'), new Promise((resolve) => setTimeout(() => resolve('still pending after 5 s'), 5_000))]);
    expect(disposed).toBe('disposed');
  });
});

describe('two workers starting at once on a history', () => {
  let dir: string;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bootstrap-race-'));
  });
  afterEach(async () => rmSync(dir, { recursive: true, force: true }));

  it('both read, one creates each group, and every order is right once', async () => {
    const written = await writeOrders('shared', 8);
    const file = join(dir, 'readmodels.db');
    const [storeA, storeB] = [await openTestReadModels(file), await openTestReadModels(file)];
    try {
      const [a, b] = await Promise.all([
        startRunner({ client: store.client, store: storeA, projections: [...projections] }),
        startRunner({ client: store.client, store: storeB, projections: [...projections] }),
      ]);
      runners.push(a.runner, b.runner);
      expect([a.runner.bootstrap?.events, b.runner.bootstrap?.events]).toEqual([written, written]);
      const rows = (await listOrderSummaries(storeA, { tenantId: 'tenant-a', status: 'SHIPPED', limit: 50 })).items;
      expect(rows).toHaveLength(8);
      expect(rows.every((row) => row.paidAmount === 2000 && row.total === 2000)).toBe(true);
      const applied = await storeA.get<{ n: number }>("SELECT count(*) AS n FROM projection_revisions WHERE projection = 'order-summary'");
      expect(applied?.n).toBe(8);

      await writer.deliver('shared-0');
      await eventually(async () => (await getOrderSummary(storeB, 'tenant-a', 'shared-0'))?.status === 'DELIVERED');
      for (const runner of runners.splice(0)) await runner.stop();
    } finally {
      await storeA.close();
      await storeB.close();
    }
  });
});
