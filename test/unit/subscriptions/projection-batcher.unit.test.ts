import { describe, expect, it } from 'vitest';
import { projectionBatcher } from '../../../src/subscriptions/projection-group.js';
import { lastAppliedRevision, OutOfOrderEventError, resetProjection } from '../../../src/readmodels/apply-projection.js';
import orderSummary, { getOrderSummary } from '../../../projections/order-summary.js';
import { asRecorded, paidAndShipped } from '../projections/envelopes.js';
import { onPostgres, openTestReadModels } from '../../helpers/read-models.js';
import { countingCommits } from '../../helpers/counting-commits.js';
import { defineProjection } from '../../../src/readmodels/projection.js';
import { sharedCommit } from '../../../src/subscriptions/shared-commit.js';



describe('applying the events of one turn together', () => {
  it('commits a batch in order, and when one event is early still commits the others', async () => {
    const db = await openTestReadModels();
    await resetProjection(db, orderSummary);
    const apply = projectionBatcher(db, orderSummary);
    const events = paidAndShipped('o-1').map((envelope) => asRecorded(envelope));

    // Revision 2 arrives before 1: the batch holds 0, 2, 1 (2 is refused, 0 and 1 commit).
    const outcomes = await Promise.allSettled([apply(events[0]!), apply(events[2]!), apply(events[1]!)]);
    expect(outcomes[0]).toEqual({ status: 'fulfilled', value: 'applied' });
    expect(outcomes[1]).toMatchObject({ status: 'rejected', reason: expect.any(OutOfOrderEventError) });
    expect(outcomes[2]).toEqual({ status: 'fulfilled', value: 'applied' });
    expect(await lastAppliedRevision(db, 'order-summary', 'order-o-1')).toBe(1);

    // Its retry, and the rest, apply; a redelivery is a duplicate.
    const rest = await Promise.all([apply(events[2]!), apply(events[3]!), apply(events[4]!), apply(events[5]!), apply(events[5]!)]);
    expect(rest).toEqual(['applied', 'applied', 'skipped', 'applied', 'duplicate']);
    expect(await getOrderSummary(db, 'tenant-a', 'o-1')).toMatchObject({ status: 'SHIPPED', paidAmount: 3000, revision: 5 });
    await db.close();
  });

  it('events delivered while a commit is under way go in the next commit together, and one that is refused there is refused alone', async () => {
    const db = await openTestReadModels();
    const refusing = defineProjection({
      ...orderSummary,
      name: 'order-summary',
      apply: async (event, tx) => {
        if (event.type === 'payment.processed' && event.data.orderId === 'o-poison') throw new Error('poisoned payment');
        await orderSummary.apply(event, tx);
      },
    });
    await resetProjection(db, refusing);
    const counter = countingCommits(db);
    const commits = sharedCommit(counter.store);
    const apply = projectionBatcher(counter.store, refusing, 500, undefined, commits);
    let finishFirst!: () => void;
    const held = new Promise<void>((resolve) => (finishFirst = resolve));
    let began = false;
    // A commit under way (a slow round trip) while the events arrive.
    const first = commits.write(async () => {
      began = true;
      await held;
    });
    while (!began) await new Promise((resolve) => setTimeout(resolve, 5));
    const orders = ['o-1', 'o-poison', 'o-2'].map((orderId) => paidAndShipped(orderId).slice(0, 2).map((envelope) => asRecorded(envelope)));
    // In delivery order, over several turns: o-1 created, o-poison created, o-2 created, then the payments.
    const delivered: Array<Promise<unknown>> = [];
    for (const index of [0, 1]) {
      for (const events of orders) {
        delivered.push(apply(events[index]!));
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    expect(counter.commits).toBe(1);
    finishFirst();
    await first;
    const outcomes = await Promise.allSettled(delivered);
    expect(outcomes.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value : (outcome.reason as Error).message))).toEqual([
      'applied',
      'applied',
      'applied',
      'applied',
      'poisoned payment',
      'applied',
    ]);
    // All six in the one commit after the first.
    expect(counter.commits).toBe(2);
    expect(await getOrderSummary(db, 'tenant-a', 'o-1')).toMatchObject({ paidAmount: 3000, revision: 1 });
    expect(await getOrderSummary(db, 'tenant-a', 'o-2')).toMatchObject({ paidAmount: 3000, revision: 1 });
    // The refused payment left nothing: the order's row and revision stay at its creation.
    expect(await getOrderSummary(db, 'tenant-a', 'o-poison')).toMatchObject({ paidAmount: 0, revision: 0 });
    expect(await lastAppliedRevision(db, 'order-summary', 'order-o-poison')).toBe(0);
    await db.close();
  });

  // SQLite commits a turn synchronously; on PostgreSQL the BEGIN is awaited and the next turn's events may join the batch.
  it.skipIf(onPostgres)('commits each turn at once while events trickle in, and while busy lets a few turns share one commit', async () => {
    const db = await openTestReadModels();
    await resetProjection(db, orderSummary);
    const counter = countingCommits(db);
    const apply = projectionBatcher(counter.store, orderSummary);
    const created = (index: number) => asRecorded(paidAndShipped(`o-${index}`)[0]!);
    const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

    // Live: one event per turn, each committed in its own turn.
    const live = [apply(created(0))];
    await nextTurn();
    live.push(apply(created(1)));
    await Promise.all(live);
    expect(counter.commits).toBe(2);

    // A burst (a batch of 20) marks the batcher busy...
    await Promise.all(Array.from({ length: 20 }, (_, index) => apply(created(10 + index))));
    expect(counter.commits).toBe(3);
    // ...so events of the next turns wait for each other and share one commit.
    const burst = Array.from({ length: 10 }, (_, index) => apply(created(40 + index)));
    await nextTurn();
    burst.push(...Array.from({ length: 10 }, (_, index) => apply(created(60 + index))));
    expect(await Promise.all(burst)).toEqual(Array(20).fill('applied'));
    expect(counter.commits).toBe(4);
    await db.close();
  });
});
