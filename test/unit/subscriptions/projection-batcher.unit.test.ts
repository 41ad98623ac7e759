import { describe, expect, it } from 'vitest';
import { projectionBatcher } from '../../../src/subscriptions/projection-group.js';
import { type ReadModelStore } from '../../../src/readmodels/read-model-store.js';
import { lastAppliedRevision, OutOfOrderEventError, resetProjection } from '../../../src/readmodels/apply-projection.js';
import orderSummary, { getOrderSummary } from '../../../projections/order-summary.js';
import { asRecorded, paidAndShipped } from '../projections/envelopes.js';
import { onPostgres, openTestReadModels } from '../../helpers/read-models.js';


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

  // SQLite commits a turn synchronously; on PostgreSQL a commit is awaited and the next turn's events may join it.
  it.skipIf(onPostgres)('commits each turn at once while events trickle in, and while busy lets a few turns share one commit', async () => {
    const db = await openTestReadModels();
    await resetProjection(db, orderSummary);
    // Commits: the outermost transactions (the nested ones are savepoints).
    let commits = 0;
    let depth = 0;
    const counting: ReadModelStore = {
      ...db,
      transaction: async (fn) => {
        if (depth++ === 0) commits++;
        try {
          return await db.transaction(fn);
        } finally {
          depth--;
        }
      },
    };
    const apply = projectionBatcher(counting, orderSummary);
    const created = (index: number) => asRecorded(paidAndShipped(`o-${index}`)[0]!);
    const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

    // Live: one event per turn, each committed in its own turn.
    const live = [apply(created(0))];
    await nextTurn();
    live.push(apply(created(1)));
    await Promise.all(live);
    expect(commits).toBe(2);

    // A burst (a batch of 20) marks the batcher busy...
    await Promise.all(Array.from({ length: 20 }, (_, index) => apply(created(10 + index))));
    expect(commits).toBe(3);
    // ...so events of the next turns wait for each other and share one commit.
    const burst = Array.from({ length: 10 }, (_, index) => apply(created(40 + index)));
    await nextTurn();
    burst.push(...Array.from({ length: 10 }, (_, index) => apply(created(60 + index))));
    expect(await Promise.all(burst)).toEqual(Array(20).fill('applied'));
    expect(commits).toBe(4);
    await db.close();
  });
});
