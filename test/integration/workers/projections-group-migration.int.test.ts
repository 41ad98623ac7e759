// A store written by an earlier version has one group per projection. The shared projections
// group starts where those groups all are (the lowest of their positions), takes over their
// parked events, and they are deleted; a projection new to an existing shared group catches up
// by reading, parking what it refuses (src/subscriptions/projection-migration.ts).
import {
  PersistentSubscriptionDoesNotExistError,
  START,
  jsonEvent,
  persistentSubscriptionToAllSettingsFromDefaults,
  streamNameFilter,
  type Position,
} from '@eventstore/db-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import orderSummary, { getOrderSummary } from '../../../projections/order-summary.js';
import ordersByCustomer, { getCustomerOrders } from '../../../projections/orders-by-customer.js';
import { applyToProjection, lastAppliedRevision } from '../../../src/readmodels/apply-projection.js';
import { locationOf, toEventEnvelope } from '../../../src/readmodels/event-envelope.js';
import { openReadModelStore, type ReadModelStore } from '../../../src/readmodels/read-model-store.js';
import { openTestReadModels } from '../../helpers/read-models.js';
import { projectionsGroupName } from '../../../src/subscriptions/group-settings.js';
import { listProjectionParked } from '../../../src/subscriptions/projection-parking.js';
import type { SubscriptionRunner } from '../../../src/subscriptions/runner.js';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { OrderWriter, eventually } from './order-writer.js';
import { startRunner } from './worker-helpers.js';

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

async function orderEvents() {
  const events = [];
  for await (const resolved of store.client.readAll()) if (resolved.event?.streamId.startsWith('order-')) events.push(resolved.event);
  return events;
}

async function oldGroup(name: string, startFrom: Position | typeof START): Promise<string> {
  const group = `order-store.projection.${name}`;
  await store.client.createPersistentSubscriptionToAll(group, persistentSubscriptionToAllSettingsFromDefaults({ startFrom }), {
    filter: streamNameFilter({ prefixes: ['order-'] }),
  });
  return group;
}

async function exists(group: string): Promise<boolean> {
  try {
    await store.client.getPersistentSubscriptionToAllInfo(group);
    return true;
  } catch (error) {
    if (error instanceof PersistentSubscriptionDoesNotExistError) return false;
    throw error;
  }
}

describe('moving from one group per projection to the shared projections group', () => {
  it('starts at the lowest position of the old groups, applies each event once, keeps their parked events and deletes them', async () => {
    await writer.create('m-1', { customer: { id: 'cust-m', name: 'Ada' } });
    await writer.pay('m-1', 2000);
    await writer.create('m-2', { customer: { id: 'cust-m', name: 'Ada' } });
    const history = await orderEvents();
    // The old orders-by-customer group had applied everything (its group is at the end); the old
    // order-summary group only the first event of m-1.
    await readModels.migrate(orderSummary.schema);
    await readModels.migrate(ordersByCustomer.schema);
    for (const event of history) await applyToProjection(readModels, ordersByCustomer, locationOf(event), toEventEnvelope(event));
    await applyToProjection(readModels, orderSummary, locationOf(history[0]!), toEventEnvelope(history[0]!));
    const customerGroup = await oldGroup('orders-by-customer', history.at(-1)!.position!);
    const summaryGroup = await oldGroup('order-summary', history[1]!.position!);
    // One event the old order-summary group had parked: m-2's creation.
    const parker = store.client.subscribeToPersistentSubscriptionToAll(summaryGroup);
    parker.on('data', (resolved) => {
      if (resolved.event?.streamId.endsWith('m-2')) void parker.nack('park', 'the old summary could not take it', resolved);
      else void parker.ack(resolved);
    });
    parker.on('error', () => undefined);
    await eventually(async () => (await store.client.getPersistentSubscriptionToAllInfo(summaryGroup)).stats.parkedMessageCount === 1n);
    await parker.unsubscribe();

    const { runner } = await startRunner({ client: store.client, store: readModels, projections: [orderSummary, ordersByCustomer] });
    runners.push(runner);

    // The shared group starts at the lowest of the two: where order-summary was.
    const shared = await store.client.getPersistentSubscriptionToAllInfo(projectionsGroupName());
    expect(shared.settings.startFrom).toEqual(history[1]!.position);
    expect(runner.bootstrap).toBeUndefined();
    expect(await exists(summaryGroup)).toBe(false);
    expect(await exists(customerGroup)).toBe(false);

    // Its parked event is now order-summary's own, with its reason.
    const parked = await listProjectionParked(readModels, 'order-summary');
    expect(parked).toEqual([expect.objectContaining({ streamId: history.at(-1)!.streamId, revision: 0, eventType: 'order.created', reason: expect.stringContaining('the old summary could not take it') })]);
    expect(await listProjectionParked(readModels, 'orders-by-customer')).toEqual([]);

    // order-summary gets the rest; orders-by-customer, already past them, applies nothing twice.
    await eventually(async () => (await getOrderSummary(readModels, 'tenant-a', 'm-1'))?.status === 'PAID');
    await writer.ship('m-1');
    await eventually(async () => (await getOrderSummary(readModels, 'tenant-a', 'm-1'))?.status === 'SHIPPED');
    await eventually(async () => (await getCustomerOrders(readModels, 'tenant-a', 'cust-m', 10)).orders.find((order) => order.orderId === 'm-1')?.status === 'SHIPPED');
    const customer = await getCustomerOrders(readModels, 'tenant-a', 'cust-m', 10);
    expect(customer.orders.map((order) => order.orderId).sort()).toEqual(['m-1', 'm-2']);
    expect(customer.totals).toEqual(await getCustomerOrdersOnce(history));

    // Moved before projections had versions: version 1, so orders-by-customer (version 2) is made
    // again from the history at the next start, with the same rows.
    expect(await readModels.get("SELECT version FROM projection_versions WHERE projection = 'orders-by-customer'")).toEqual({ version: 1 });
    await runners.splice(0)[0]!.stop();
    const next = await startRunner({ client: store.client, store: readModels, projections: [orderSummary, ordersByCustomer] });
    runners.push(next.runner);
    expect(next.runner.bootstrap?.projections).toEqual(['orders-by-customer']);
    expect(await getCustomerOrders(readModels, 'tenant-a', 'cust-m', 10)).toEqual(customer);
  });

  it('a projection new to an existing shared group catches up by reading, parks what it refuses, then gets live events', async () => {
    const first = await startRunner({ client: store.client, store: readModels, projections: [orderSummary] });
    await writer.create('n-1', { customer: { id: 'cust-n', name: 'Ada' } });
    // Written by something other than this service: not a valid order.status_changed.
    await store.client.appendToStream('order-n-1', jsonEvent({ type: 'order.status_changed', data: { to: 'somewhere' } }));
    await writer.create('n-2', { customer: { id: 'cust-n', name: 'Ada' } });
    await eventually(async () => (await getOrderSummary(readModels, 'tenant-a', 'n-2')) !== undefined);
    await first.runner.stop();

    const { runner } = await startRunner({ client: store.client, store: readModels, projections: [orderSummary, ordersByCustomer] });
    runners.push(runner);
    expect(runner.bootstrap?.projections).toEqual(['orders-by-customer']);
    // Already there when start() returns, from the read.
    expect((await getCustomerOrders(readModels, 'tenant-a', 'cust-n', 10)).orders.map((order) => order.orderId).sort()).toEqual(['n-1', 'n-2']);
    expect(await listProjectionParked(readModels, 'orders-by-customer')).toEqual([expect.objectContaining({ streamId: 'order-n-1', revision: 1, reason: expect.stringContaining('invalid order.status_changed') })]);
    expect(await lastAppliedRevision(readModels, 'orders-by-customer', 'order-n-2')).toBe(0);

    await writer.create('n-3', { customer: { id: 'cust-n', name: 'Ada' } });
    await eventually(async () => (await getCustomerOrders(readModels, 'tenant-a', 'cust-n', 10)).orders.length === 3);
    await eventually(async () => (await getOrderSummary(readModels, 'tenant-a', 'n-3')) !== undefined);
  });

  it("a member whose rows an earlier version of it made is emptied and catches up from the history, once", async () => {
    const first = await startRunner({ client: store.client, store: readModels, projections: [orderSummary, ordersByCustomer] });
    await writer.create('v-1', { customer: { id: 'cust-v', name: 'Ada' } });
    await writer.create('v-2', { customer: { id: 'cust-v', name: 'Ada' } });
    await eventually(async () => (await getCustomerOrders(readModels, 'tenant-a', 'cust-v', 10)).orders.length === 2);
    const made = await getCustomerOrders(readModels, 'tenant-a', 'cust-v', 10);
    await first.runner.stop();
    // As version 1 left the store: no customer_totals rows, no version recorded.
    await readModels.run('DELETE FROM customer_totals');
    await readModels.run("DELETE FROM projection_versions WHERE projection = 'orders-by-customer'");
    expect((await getCustomerOrders(readModels, 'tenant-a', 'cust-v', 10)).totals).toEqual({});

    const second = await startRunner({ client: store.client, store: readModels, projections: [orderSummary, ordersByCustomer] });
    expect(second.runner.bootstrap?.projections).toEqual(['orders-by-customer']);
    expect(await getCustomerOrders(readModels, 'tenant-a', 'cust-v', 10)).toEqual(made);
    expect(await readModels.get("SELECT version FROM projection_versions WHERE projection = 'orders-by-customer'")).toEqual({ version: ordersByCustomer.version });
    await second.runner.stop();

    const third = await startRunner({ client: store.client, store: readModels, projections: [orderSummary, ordersByCustomer] });
    runners.push(third.runner);
    expect(third.runner.bootstrap).toBeUndefined();
    await writer.create('v-3', { customer: { id: 'cust-v', name: 'Ada' } });
    await eventually(async () => (await getCustomerOrders(readModels, 'tenant-a', 'cust-v', 10)).orderCount === 3);
  });
});

/** The customer's totals as one application of each order event gives them. */
async function getCustomerOrdersOnce(history: Awaited<ReturnType<typeof orderEvents>>) {
  const fresh = openReadModelStore({ file: ':memory:' });
  try {
    await fresh.migrate(orderSummary.schema);
    await fresh.migrate(ordersByCustomer.schema);
    for (const event of history) await applyToProjection(fresh, ordersByCustomer, locationOf(event), toEventEnvelope(event));
    return (await getCustomerOrders(fresh, 'tenant-a', 'cust-m', 10)).totals;
  } finally {
    await fresh.close();
  }
}
