// Analytics was a handler with its own group (`<prefix>.handler.analytics`) and is a projection in
// the shared projections group now. A store written by an earlier version keeps its analytics rows:
// the projection catches up by reading $all from the start (every write idempotent by event id and
// revision, so nothing counts twice), and the old handler group is deleted once the shared group
// runs; a start that stopped before the deletion deletes it the next time.
import { PersistentSubscriptionDoesNotExistError } from '@eventstore/db-client';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import analytics from '../../../projections/analytics.js';
import orderSummary, { getOrderSummary } from '../../../projections/order-summary.js';
import { getSalesByStatus, recordOrderEvent } from '../../../src/handlers/analytics-store.js';
import { ORDER_EVENT_TYPES } from '../../../src/orders/events.js';
import { workerMetrics } from '../../../src/observability/worker-metrics.js';
import type { ReadModelStore } from '../../../src/readmodels/read-model-store.js';
import { ensureGroup, groupName, handlerFilter, projectionFilter, projectionsGroupName } from '../../../src/subscriptions/group-settings.js';
import { planProjectionsGroup } from '../../../src/subscriptions/projection-migration.js';
import type { SubscriptionRunner } from '../../../src/subscriptions/runner.js';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { openTestReadModels } from '../../helpers/read-models.js';
import { OrderWriter, eventually } from './order-writer.js';
import { startRunner } from './worker-helpers.js';

const OLD_GROUP = groupName('handler', 'analytics');

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

async function exists(group: string): Promise<boolean> {
  try {
    await store.client.getPersistentSubscriptionToAllInfo(group);
    return true;
  } catch (error) {
    if (error instanceof PersistentSubscriptionDoesNotExistError) return false;
    throw error;
  }
}

/** What the analytics handler of the earlier version left: its group, and its rows for the first `handled` events. */
async function earlierAnalytics(handled: number): Promise<void> {
  await ensureGroup(store.client, OLD_GROUP, handlerFilter(ORDER_EVENT_TYPES), { messageTimeoutMs: 10_000, maxRetryCount: 10 });
  await readModels.migrate(analytics.schema);
  for (const event of (await orderEvents()).slice(0, handled)) {
    const data = event.data as { tenantId: string; orderId: string; occurredAt: string; total?: number; currency?: string };
    await readModels.transaction((tx) =>
      recordOrderEvent(tx, { tenantId: data.tenantId, eventId: event.id, orderId: data.orderId, type: event.type, occurredAt: data.occurredAt, revision: Number(event.revision) }),
    );
  }
}

async function analyticsEventIds(): Promise<string[]> {
  return (await readModels.all<{ event_id: string }>('SELECT event_id FROM analytics_events ORDER BY event_id')).map((row) => row.event_id);
}

async function members(): Promise<string[]> {
  return (await readModels.all<{ projection: string }>('SELECT projection FROM projection_group_members ORDER BY projection')).map((row) => row.projection);
}

describe('analytics moving from its handler group to the shared projections group', () => {
  it('over a shared projections group of the earlier version: catches up by reading, counts each event once, deletes the old group', async () => {
    const first = await startRunner({ client: store.client, store: readModels, projections: [orderSummary] });
    await writer.create('a-1', { currency: 'USD', items: [{ sku: 'PEN', quantity: 2, unitPrice: 150 }] });
    await writer.pay('a-1', 300);
    await writer.create('a-2', { currency: 'USD', items: [{ sku: 'PEN', quantity: 1, unitPrice: 150 }] });
    await eventually(async () => (await getOrderSummary(readModels, 'tenant-a', 'a-2')) !== undefined);
    await first.runner.stop();
    // The old handler had recorded the first two events.
    await earlierAnalytics(2);

    const { runner } = await startRunner({ client: store.client, store: readModels, projections: [orderSummary, analytics] });
    runners.push(runner);
    expect(runner.bootstrap?.projections).toEqual(['analytics']);
    const history = await orderEvents();
    expect(await analyticsEventIds()).toEqual(history.map((event) => event.id).sort());
    expect(await getSalesByStatus(readModels, 'tenant-a')).toEqual([
      { status: 'PAID', currency: 'USD', orders: 1, total: '300' },
      { status: 'PENDING', currency: 'USD', orders: 1, total: '150' },
    ]);
    expect(await exists(OLD_GROUP)).toBe(false);
    expect(runner.consumers.map((consumer) => consumer.group)).toEqual([projectionsGroupName()]);
    expect(await members()).toEqual(['analytics', 'order-summary']);

    // Live events reach it through the shared group.
    await writer.ship('a-1');
    await eventually(async () => (await getSalesByStatus(readModels, 'tenant-a')).some((row) => row.status === 'SHIPPED'));
    expect(await analyticsEventIds()).toEqual((await orderEvents()).map((event) => event.id).sort());
  });

  it('from a store without a shared group yet: analytics catches up by reading with the new projections, the old group goes', async () => {
    await writer.create('b-1', { currency: 'USD', items: [{ sku: 'PEN', quantity: 1, unitPrice: 500 }] });
    await writer.cancel('b-1');
    await earlierAnalytics(1);

    const { runner } = await startRunner({ client: store.client, store: readModels, projections: [orderSummary, analytics] });
    runners.push(runner);
    expect(runner.bootstrap?.projections).toEqual(['order-summary', 'analytics']);
    expect(await analyticsEventIds()).toEqual((await orderEvents()).map((event) => event.id).sort());
    expect(await getSalesByStatus(readModels, 'tenant-a')).toEqual([{ status: 'CANCELLED', currency: 'USD', orders: 1, total: '500' }]);
    expect(await exists(OLD_GROUP)).toBe(false);
  });

  it('a start that ended before deleting the old group deletes it at the next start, without catching up again', async () => {
    await writer.create('c-1');
    await earlierAnalytics(0);
    // The first start got as far as the catch-up, the membership and the shared group, and no
    // further (a crash before it deleted the old group).
    const plan = await planProjectionsGroup({
      client: store.client,
      store: readModels,
      logger: pino({ level: 'silent' }),
      metrics: workerMetrics(new Registry()),
      projections: [analytics],
      prefix: 'order-store',
      bootstrapMode: 'read',
    });
    expect(plan.oldGroups).toEqual([OLD_GROUP]);
    await ensureGroup(store.client, projectionsGroupName(), projectionFilter(), { messageTimeoutMs: 10_000, maxRetryCount: 10 }, typeof plan.startFrom === 'object' ? plan.startFrom : undefined);
    expect(await exists(OLD_GROUP)).toBe(true);
    expect(await analyticsEventIds()).toHaveLength(1);

    const { runner } = await startRunner({ client: store.client, store: readModels, projections: [analytics] });
    runners.push(runner);
    expect(runner.bootstrap).toBeUndefined();
    expect(await exists(OLD_GROUP)).toBe(false);
    await writer.pay('c-1', 2000);
    const history = (await orderEvents()).map((event) => event.id).sort();
    expect(history.length).toBeGreaterThan(1);
    await eventually(async () => JSON.stringify(await analyticsEventIds()) === JSON.stringify(history));
  });
});
