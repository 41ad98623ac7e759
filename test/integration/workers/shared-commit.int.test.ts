import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { type ReadModelStore } from '../../../src/readmodels/read-model-store.js';
import { lastAppliedRevision } from '../../../src/readmodels/apply-projection.js';
import { defineProjection } from '../../../src/readmodels/projection.js';
import { defineHandler } from '../../../src/subscriptions/handler.js';
import type { SubscriptionRunner } from '../../../src/subscriptions/runner.js';
import orderSummary, { getOrderSummary } from '../../../projections/order-summary.js';
import { OrderWriter, eventually } from './order-writer.js';
import { readParked, startRunner } from './worker-helpers.js';
import { openTestReadModels } from '../../helpers/read-models.js';
import { listProjectionParked } from '../../../src/subscriptions/projection-parking.js';

// The groups of one runner write in one commit per turn of the event loop: a projection that
// fails still holds up nobody, and every effect that is acked is in the store.
describe('one read-model commit per turn, shared by the groups of a runner', () => {
  let store: TestEventStore;
  let readModels: ReadModelStore;
  let runner: SubscriptionRunner;
  const handled: string[] = [];

  beforeAll(async () => {
    store = await startTestEventStore();
    readModels = await openTestReadModels();
    // Refuses every payment: parked, and the order's later events wait behind it (its own revision guard).
    const refusesPayments = defineProjection({
      name: 'refuses-payments',
      handles: ['order.created', 'payment.processed'],
      schema: 'CREATE TABLE IF NOT EXISTS refused_seen (order_id TEXT PRIMARY KEY)',
      async apply(event, tx) {
        if (event.type === 'payment.processed') throw new Error('payments are not welcome here');
        if (event.type !== 'order.created') return;
        await tx.run('INSERT INTO refused_seen (order_id) VALUES (?) ON CONFLICT DO NOTHING', event.data.orderId);
      },
      reset: async (tx) => {
        await tx.run('DELETE FROM refused_seen');
      },
    });
    const counter = defineHandler({
      name: 'counter',
      handles: ['order.status_changed'],
      handle(event) {
        if (event.type !== 'order.status_changed') return;
        handled.push(`${event.data.orderId}:${event.data.newStatus}`);
      },
    });
    ({ runner } = await startRunner({
      client: store.client,
      store: readModels,
      handlers: [counter],
      projections: [orderSummary, refusesPayments],
      runner: { retry: { maxRetries: 1, baseDelayMs: 5, maxDelayMs: 10, outOfOrderMaxRetries: 3, outOfOrderDelayMs: 5 } },
    }));
  });

  afterAll(async () => {
    await runner?.stop();
    await readModels?.close();
    await store?.close();
  });

  it('a projection that parks an event holds up neither the other projection nor the handler, and keeps its own revision and parked events', async () => {
    const writer = new OrderWriter(store.client);
    await writer.create('s-1');
    await writer.pay('s-1', 2000);
    await writer.ship('s-1');

    // The healthy projection and the handler reach the end of the order.
    await eventually(async () => (await getOrderSummary(readModels, 'tenant-a', 's-1'))?.status === 'SHIPPED');
    await eventually(() => handled.includes('s-1:SHIPPED'));
    // Each status once, in the order written: the order's SHIPPED waits for its PAID to be acked,
    // also when the turn's commit fails on the refused payment and its members run again alone.
    expect(handled.filter((entry) => entry.startsWith('s-1:'))).toEqual(['s-1:PAID', 's-1:SHIPPED']);

    // The failing one kept what it applied before the payment, and parked the rest as its own.
    const parked = await eventually(async () => {
      const entries = await listProjectionParked(readModels, 'refuses-payments');
      return entries.length === 5 ? entries : undefined;
    });
    const streamId = parked[0]!.streamId;
    expect(streamId).toContain('s-1');
    // In the order they were parked: the refused payment may be parked after the early events
    // that waited for it while it was retried.
    expect(parked.map((entry) => entry.revision).sort()).toEqual([1, 2, 3, 4, 5]);
    expect(parked.every((entry) => entry.streamId === streamId)).toBe(true);
    expect(parked.find((entry) => entry.revision === 1)!.reason).toContain('payments are not welcome here');
    expect(await lastAppliedRevision(readModels, 'refuses-payments', streamId)).toBe(0);
    expect((await readModels.get<{ n: number }>('SELECT count(*) AS n FROM refused_seen'))!.n).toBe(1);
    expect(await lastAppliedRevision(readModels, 'order-summary', streamId)).toBe(5);
    expect(await listProjectionParked(readModels, 'order-summary')).toEqual([]);
    // The shared group itself parked nothing: every event was acked once each projection was done with it.
    expect(await readParked(store.client, 'order-store.projections')).toEqual([]);
  });
});
