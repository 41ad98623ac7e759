// The projections' events are acked only once the commit that holds their effects succeeded: a
// commit that fails (PostgreSQL: its connection ended by the server; SQLite: an I/O error at
// the commit) takes every event in it back to the store, which redelivers them, and each is
// applied once in the end. Acked before the commit, the events of a failed one would be lost.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import orderSummary, { listOrderSummaries } from '../../../projections/order-summary.js';
import salesByDay, { getSalesByDay } from '../../../projections/sales-by-day.js';
import type { ReadModelStore, ReadModelTx } from '../../../src/readmodels/read-model-store.js';
import { listProjectionParked } from '../../../src/subscriptions/projection-parking.js';
import type { SubscriptionRunner } from '../../../src/subscriptions/runner.js';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { openTestReadModels } from '../../helpers/read-models.js';
import { OrderWriter, eventually } from './order-writer.js';
import { startRunner } from './worker-helpers.js';

const ORDERS = 12;
const TOTAL = 700;

/** Ends the commit's own connection (PostgreSQL) or fails it as a disk would (SQLite), after its writes. */
async function failCommit(tx: ReadModelTx): Promise<never> {
  if (tx.dialect === 'postgres') await tx.get('SELECT pg_terminate_backend(pg_backend_pid()) AS ended');
  throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' });
}

/** The real store, the next `failing` of its commits failing once their writes are done. */
function failingCommits(db: ReadModelStore) {
  const state = { failing: 0, failed: 0, store: db };
  state.store = {
    ...db,
    // The runner's commits (shared-commit.ts); what they nest is a savepoint, on the tx.
    transaction: (fn) =>
      db.transaction(async (tx) => {
        const result = await fn(tx);
        if (state.failing > 0) {
          state.failing--;
          state.failed++;
          await failCommit(tx);
        }
        return result;
      }),
  };
  return state;
}

describe('projection events acked only after their commit', () => {
  let store: TestEventStore;
  let readModels: ReadModelStore | undefined;
  let runner: SubscriptionRunner | undefined;

  beforeEach(async () => {
    store = await startTestEventStore();
  });
  afterEach(async () => {
    await runner?.stop();
    await readModels?.close();
    await store.close();
    runner = readModels = undefined;
  });

  it('the events of commits that fail are redelivered and applied once each: none is lost, none doubled', { timeout: 60_000 }, async () => {
    readModels = await openTestReadModels();
    const failing = failingCommits(readModels);
    ({ runner } = await startRunner({
      client: store.client,
      store: failing.store,
      projections: [orderSummary, salesByDay],
      runner: { retry: { maxRetries: 2, baseDelayMs: 5, maxDelayMs: 50, outOfOrderMaxRetries: 400, outOfOrderDelayMs: 5 } },
    }));

    // The first commits that hold these orders' events fail.
    failing.failing = 4;
    const writer = new OrderWriter(store.client);
    const orderIds = Array.from({ length: ORDERS }, (_, index) => `acked-${index}`);
    await Promise.all(orderIds.map((orderId) => writer.create(orderId, { items: [{ sku: 'MUG', quantity: 1, unitPrice: TOTAL }] })));
    await Promise.all(orderIds.map((orderId) => writer.pay(orderId, TOTAL)));

    const models = readModels;
    const paid = await eventually(async () => {
      const page = await listOrderSummaries(models, { tenantId: 'tenant-a', status: 'PAID', limit: 100 });
      return page.items.length === ORDERS ? page.items : undefined;
    }, 30_000);
    expect(failing.failed).toBe(4);
    expect(paid.every((summary) => summary.paidAmount === TOTAL)).toBe(true);
    // Additive sums: an event applied twice would count twice, one lost would be missing.
    const today = new Date().toISOString().slice(0, 10);
    await eventually(async () => (await getSalesByDay(models, 'tenant-a', today, today))[0]?.paidAmount === String(ORDERS * TOTAL), 30_000);
    expect(await getSalesByDay(models, 'tenant-a', today, today)).toEqual([
      expect.objectContaining({ ordersPlaced: ORDERS, orderedAmount: String(ORDERS * TOTAL), paidAmount: String(ORDERS * TOTAL) }),
    ]);
    expect(await listProjectionParked(models, 'order-summary')).toEqual([]);
    expect(await listProjectionParked(models, 'sales-by-day')).toEqual([]);
  });
});
