// The same events through the batched path (a catch-up's: every projection takes a batch at once,
// side by side in one transaction, on PostgreSQL its one-row inserts sent as multi-row ones) and
// one by one (a transaction per event and projection) leave identical tables, on either backend.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide, evolve, initialOrderState, isOrderError, type OrderCommand, type OrderEvent, type OrderState } from '../../../src/orders/index.js';
import { applyBatchInTransaction, applyToProjection, resetProjection } from '../../../src/readmodels/apply-projection.js';
import type { EventEnvelope } from '../../../src/readmodels/event-envelope.js';
import type { PostgresReadModelStore } from '../../../src/readmodels/postgres-store.js';
import type { ReadModelStore } from '../../../src/readmodels/read-model-store.js';
import { projections } from '../../../projections/index.js';
import analytics from '../../../projections/analytics.js';
import { onPostgres, openTestReadModels } from '../../helpers/read-models.js';


type Step = 'pay' | 'ship' | 'deliver' | 'cancel' | 'return' | 'refund' | 'count';

/** Orders run through the decider (refused commands append nothing), with stock counts between them; each event with its stream, revision and $all position. */
function historyOf(orders: Array<{ tenant: number; customer: number; sku: number; quantity: number; steps: Step[] }>): EventEnvelope[] {
  const events: EventEnvelope[] = [];
  const revisions = new Map<string, number>();
  const append = (streamId: string, event: OrderEvent) => {
    const revision = (revisions.get(streamId) ?? -1) + 1;
    revisions.set(streamId, revision);
    // Several events a day (sales_by_day's rows are added to many times a batch), a few days.
    const occurredAt = new Date(Date.UTC(2026, 10, 20) + events.length * 3_600_000).toISOString();
    const data = 'occurredAt' in event.data ? { ...event.data, occurredAt } : event.data;
    events.push({ ...event, data, id: randomUUID(), streamId, revision, position: (events.length + 1) * 10, recordedAt: new Date(occurredAt), metadata: undefined, correlationId: 'corr' } as EventEnvelope);
  };
  const states = new Map<string, OrderState>();
  // Every order's first command, then their other steps in turns: orders interleave in $all.
  const queues = orders.map((order, index) => ({ order, orderId: `o-${index}`, steps: ['create' as const, ...order.steps] }));
  for (let turn = 0; queues.some((queue) => queue.steps.length > turn); turn++) {
    for (const { order, orderId, steps } of queues) {
      const step = steps[turn];
      if (step === undefined) continue;
      const tenantId = `tenant-${order.tenant}`;
      const sku = `SKU-${order.sku}`;
      if (step === 'count') {
        append(`inventory-${tenantId}-${sku}`, { type: 'inventory.stock_set', data: { schemaVersion: 1, tenantId, sku, onHand: order.quantity * 3, occurredAt: '' } } as unknown as OrderEvent);
        continue;
      }
      const key = `${tenantId}/${orderId}`;
      const state = states.get(key) ?? initialOrderState;
      const command = {
        create: { type: 'CreateOrder', customer: order.customer === 0 ? {} : { id: `c-${order.customer}`, name: 'Ada' }, currency: order.sku % 2 ? 'EUR' : 'USD', items: [{ sku, quantity: order.quantity, unitPrice: 250 }] },
        pay: { type: 'RecordPayment', paymentId: `p-${orderId}`, amount: order.quantity * 250, method: 'card' },
        ship: { type: 'ShipOrder' },
        deliver: { type: 'DeliverOrder' },
        cancel: { type: 'CancelOrder', reason: 'changed mind' },
        return: { type: 'ReturnOrder' },
        refund: { type: 'RefundOrder' },
      }[step];
      const context = { commandId: `${orderId}-${turn}`, tenantId, actor: 'test', at: '2026-11-20T00:00:00.000Z', correlationId: 'corr' };
      let decided: OrderEvent[];
      try {
        decided = decide({ ...command, orderId, context } as OrderCommand, state);
      } catch (error) {
        if (isOrderError(error)) continue;
        throw error;
      }
      states.set(key, decided.reduce(evolve, state));
      for (const event of decided) append(`order-${tenantId}-${orderId}`, event);
    }
  }
  return events;
}

async function freshStore(): Promise<ReadModelStore> {
  const store = await openTestReadModels();
  for (const projection of projections) await resetProjection(store, projection);
  return store;
}

async function oneByOne(events: readonly EventEnvelope[]): Promise<ReadModelStore> {
  const store = await freshStore();
  for (const event of events) for (const projection of projections) await applyToProjection(store, projection, event, event);
  return store;
}

/** As the catch-up by reading: batches of `sizes` (repeating), each applied by every projection side by side in one transaction; `again` events of the previous batch delivered again at the start of the next. */
async function batched(events: readonly EventEnvelope[], sizes: readonly number[], again = 0): Promise<ReadModelStore> {
  const store = await freshStore();
  let from = 0;
  for (let turn = 0; from < events.length; turn++) {
    const size = sizes[turn % sizes.length]!;
    const batch = events.slice(Math.max(0, from - again), from + size);
    await store.transaction(async (tx) => {
      const items = batch.map((event) => ({ location: event, envelope: event }));
      await Promise.all(projections.map((projection) => applyBatchInTransaction(tx, projection, items)));
    });
    from += size;
  }
  return store;
}

/** Every table of the store (each projection's, and the revision records), its rows in a stable order. */
async function tables(store: ReadModelStore): Promise<Record<string, unknown[]>> {
  const names = (
    store.dialect === 'sqlite'
      ? await store.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      : await store.all<{ name: string }>('SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name')
  ).map((row) => row.name);
  expect(names).toEqual(expect.arrayContaining(['order_summary', 'customer_orders', 'sales_by_day', 'inventory_lines', 'analytics_events', 'analytics_orders', 'projection_revisions']));
  const out: Record<string, unknown[]> = {};
  for (const table of names) {
    const columns = (await store.all<Record<string, unknown>>(`SELECT * FROM ${table} LIMIT 1`))[0];
    const order = columns ? Object.keys(columns).join(', ') : '1';
    out[table] = await store.all(`SELECT * FROM ${table} ORDER BY ${order}`);
  }
  return out;
}

async function expectSameTables(events: readonly EventEnvelope[], sizes: readonly number[], again = 0): Promise<void> {
  const [one, many] = [await oneByOne(events), await batched(events, sizes, again)];
  try {
    expect(await tables(many)).toEqual(await tables(one));
  } finally {
    await Promise.all([one.close(), many.close()]);
  }
}

const STEPS: Step[] = ['pay', 'ship', 'deliver', 'cancel', 'return', 'refund', 'count'];

describe('batched and one-by-one application of the projections', () => {
  it('leave the same tables for orders whose events (created, paid, shipped, returned, refunded) fall in one batch, and in several', async () => {
    const orders = Array.from({ length: 30 }, (_, index) => ({
      tenant: index % 2,
      customer: index % 4,
      sku: index % 3,
      quantity: 1 + (index % 5),
      steps: (index % 3 === 0 ? ['count', 'pay', 'ship', 'deliver', 'return', 'refund'] : index % 3 === 1 ? ['pay', 'refund', 'count'] : ['cancel', 'count']) as Step[],
    }));
    const events = historyOf(orders);
    // The whole history in one batch, then batches that split each order's events, with redeliveries.
    await expectSameTables(events, [events.length]);
    await expectSameTables(events, [7, 1, 13], 3);
  });

  it('leave the same tables for any history and any batch sizes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            tenant: fc.integer({ min: 0, max: 1 }),
            customer: fc.integer({ min: 0, max: 2 }),
            sku: fc.integer({ min: 0, max: 2 }),
            quantity: fc.integer({ min: 1, max: 4 }),
            steps: fc.array(fc.constantFrom(...STEPS), { maxLength: 6 }),
          }),
          { minLength: 1, maxLength: 12 },
        ),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 0, max: 3 }),
        async (orders, sizes, again) => expectSameTables(historyOf(orders), sizes, again),
      ),
      { numRuns: 8 },
    );
  });

  it.runIf(onPostgres)("on PostgreSQL sends a batch's one-row inserts of a table as one statement, not one an event", async () => {
    const events = historyOf(Array.from({ length: 20 }, () => ({ tenant: 0, customer: 1, sku: 0, quantity: 1, steps: ['pay', 'ship'] as Step[] })));
    const store = (await openTestReadModels()) as PostgresReadModelStore;
    try {
      await resetProjection(store, analytics);
      const before = store.counts.statements;
      await store.transaction((tx) => applyBatchInTransaction(tx, analytics, events.map((event) => ({ location: event, envelope: event }))));
      // Guards read and written (2), BEGIN/COMMIT are not counted; the events' rows in one insert,
      // the orders' rows in one a round (as many rounds as the most events of one order).
      const perStream = new Map<string, number>();
      for (const event of events) perStream.set(event.streamId, (perStream.get(event.streamId) ?? 0) + 1);
      const perOrder = Math.max(...perStream.values());
      expect(store.counts.statements - before).toBeLessThanOrEqual(2 + 1 + perOrder);
      expect(events.length).toBeGreaterThan(100);
      expect(await store.get<{ n: number }>('SELECT count(*) AS n FROM analytics_events')).toEqual({ n: events.length });
    } finally {
      await store.close();
    }
  });
});
