import { describe, expect, it } from 'vitest';
import { type ReadModelStore, type ReadModelTx } from '../../../src/readmodels/read-model-store.js';
import { lastAppliedRevision, resetProjection } from '../../../src/readmodels/apply-projection.js';
import { defineProjection } from '../../../src/readmodels/projection.js';
import { projectionBatcher } from '../../../src/subscriptions/projection-group.js';
import { sharedCommit } from '../../../src/subscriptions/shared-commit.js';
import orderSummary, { getOrderSummary } from '../../../projections/order-summary.js';
import ordersByCustomer from '../../../projections/orders-by-customer.js';
import { asRecorded, paidAndShipped } from '../projections/envelopes.js';
import { openTestReadModels } from '../../helpers/read-models.js';
import { countingCommits } from '../../helpers/counting-commits.js';


const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
const until = async (condition: () => boolean) => {
  for (let waited = 0; !condition(); waited += 5) {
    if (waited > 10_000) throw new Error('waited 10 s in vain');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};
const rows = async (db: ReadModelStore, table: string) => (await db.get<{ n: number }>(`SELECT count(*) AS n FROM ${table}`))!.n;

describe('one commit per turn for the groups of a runner', () => {
  it('two projections and a handler record written in one turn share one commit, each reported done after it', async () => {
    const db = await openTestReadModels();
    await resetProjection(db, orderSummary);
    await resetProjection(db, ordersByCustomer);
    await db.exec('CREATE TABLE marks (id TEXT PRIMARY KEY)');
    const counter = countingCommits(db);
    const commits = sharedCommit(counter.store);
    const summary = projectionBatcher(counter.store, orderSummary, 500, undefined, commits);
    const customers = projectionBatcher(counter.store, ordersByCustomer, 500, undefined, commits);
    const created = asRecorded(paidAndShipped('o-1')[0]!);

    const done = Promise.all([summary(created), customers(created), commits.write(async (tx) => (await tx.run("INSERT INTO marks VALUES ('handled')")).changes)]);
    // Nothing is written before the turn ends.
    expect(await rows(db, 'order_summary')).toBe(0);
    expect(await done).toEqual(['applied', 'applied', 1]);
    expect(counter.commits).toBe(1);
    expect(await getOrderSummary(db, 'tenant-a', 'o-1')).toMatchObject({ status: 'PENDING', revision: 0 });
    expect(await rows(db, 'customer_orders')).toBe(1);
    await db.close();
  });

  it('a write that fails is rolled back alone: the others of its turn still commit', async () => {
    const db = await openTestReadModels();
    await db.exec('CREATE TABLE marks (id TEXT PRIMARY KEY)');
    const commits = sharedCommit(db);
    const outcomes = await Promise.allSettled([
      commits.write(async (tx) => await tx.run("INSERT INTO marks VALUES ('a')")),
      commits.write(async (tx) => {
        await tx.run("INSERT INTO marks VALUES ('b')");
        throw new Error('refused');
      }),
      commits.write(async (tx) => await tx.run("INSERT INTO marks VALUES ('c')")),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((await db.all<{ id: string }>('SELECT id FROM marks ORDER BY id')).map((row) => row.id)).toEqual(['a', 'c']);
    await db.close();
  });

  it('projections whose batches share a commit keep their own outcomes: one refusing the events of an order leaves the other projection and its own other orders committed', async () => {
    const db = await openTestReadModels();
    const refusing = defineProjection({
      ...ordersByCustomer,
      apply: async (event, tx) => {
        if ('orderId' in event.data && event.data.orderId === 'o-refused') throw new Error('refused order');
        await ordersByCustomer.apply(event, tx);
      },
    });
    await resetProjection(db, orderSummary);
    await resetProjection(db, refusing);
    const counter = countingCommits(db);
    const commits = sharedCommit(counter.store);
    const summary = projectionBatcher(counter.store, orderSummary, 500, undefined, commits);
    const customers = projectionBatcher(counter.store, refusing, 500, undefined, commits);
    const events = ['o-1', 'o-refused'].flatMap((orderId) => paidAndShipped(orderId).slice(0, 2).map((envelope) => asRecorded(envelope)));

    const outcomes = await Promise.allSettled(events.flatMap((event) => [summary(event), customers(event)]));
    // Per event: order-summary's outcome, then the refusing projection's (its next event of the order is early).
    expect(outcomes.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value : (outcome.reason as Error).name))).toEqual([
      'applied',
      'applied',
      'applied',
      'skipped',
      'applied',
      'Error',
      'applied',
      'OutOfOrderEventError',
    ]);
    expect(counter.commits).toBe(1);
    expect(await lastAppliedRevision(db, 'order-summary', 'order-o-refused')).toBe(1);
    expect(await lastAppliedRevision(db, ordersByCustomer.name, 'order-o-refused')).toBe(-1);
    expect(await lastAppliedRevision(db, ordersByCustomer.name, 'order-o-1')).toBe(1);
    await db.close();
  });

  it('writes queued while a commit is under way wait for it, then commit together in the next one', async () => {
    const db = await openTestReadModels();
    await db.exec('CREATE TABLE marks (id TEXT PRIMARY KEY)');
    const counter = countingCommits(db);
    const commits = sharedCommit(counter.store);
    const ran: string[] = [];
    let finishFirst!: () => void;
    const held = new Promise<void>((resolve) => (finishFirst = resolve));
    const mark = (id: string) => async (tx: ReadModelTx) => {
      ran.push(id);
      await tx.run('INSERT INTO marks VALUES (?)', id);
    };
    // The first commit stays open (a slow PostgreSQL round trip) until released.
    const first = commits.write(async (tx) => {
      await mark('first')(tx);
      await held;
    });
    await until(() => ran.length > 0);
    expect(ran).toEqual(['first']);
    // Three turns' writes while it is open: none begins a transaction of its own.
    const later = [commits.write(mark('a'))];
    await nextTurn();
    later.push(commits.write(mark('b')));
    await nextTurn();
    later.push(commits.write(mark('c')));
    await nextTurn();
    expect(ran).toEqual(['first']);
    expect(counter.commits).toBe(1);

    finishFirst();
    await Promise.all([first, ...later]);
    expect(ran).toEqual(['first', 'a', 'b', 'c']);
    expect(counter.commits).toBe(2);
    expect((await db.all<{ id: string }>('SELECT id FROM marks ORDER BY id')).map((row) => row.id)).toEqual(['a', 'b', 'c', 'first']);
    // Nothing under way: the next write commits at the end of its own turn.
    await commits.write(mark('d'));
    expect(counter.commits).toBe(3);
    await db.close();
  });

  it('when the commit itself fails, every write of the turn fails and none is kept', async () => {
    const db = await openTestReadModels();
    await db.exec('CREATE TABLE marks (id TEXT PRIMARY KEY)');
    // The outermost transaction fails as it ends, as a failed COMMIT would.
    let depth = 0;
    const failing: ReadModelStore = {
      ...db,
      transaction: async (fn) =>
        await db.transaction(async (tx) => {
          const outermost = depth++ === 0;
          try {
            const result = await fn(tx);
            if (outermost) throw new Error('disk full');
            return result;
          } finally {
            depth--;
          }
        }),
    };
    const commits = sharedCommit(failing);
    const outcomes = await Promise.allSettled([commits.write(async (tx) => await tx.run("INSERT INTO marks VALUES ('a')")), commits.write(async (tx) => await tx.run("INSERT INTO marks VALUES ('b')"))]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
    expect(await rows(db, 'marks')).toBe(0);
    await db.close();
  });
});
