// A batch of events applied to a projection in one go (applyBatchInTransaction: on PostgreSQL its
// guards read, locked and written once, its effects pipelined through tx.write), and tx.write's
// promise: done before the transaction's next read, savepoint end or commit, and its error theirs.
import { describe, expect, it } from 'vitest';
import { applyBatchInTransaction, lastAppliedRevision, OutOfOrderEventError, resetProjection, type BatchItem } from '../../../src/readmodels/apply-projection.js';
import type { EventEnvelope } from '../../../src/readmodels/event-envelope.js';
import { defineProjection } from '../../../src/readmodels/projection.js';
import { paidAndShipped } from '../projections/envelopes.js';
import { onPostgres, openTestReadModels, testDatabaseUrl } from '../../helpers/read-models.js';
import { openPostgresReadModelStore } from '../../../src/readmodels/postgres-store.js';

const counting = defineProjection({
  name: 'batch-counting',
  handles: ['order.created', 'order.status_changed'],
  schema: 'CREATE TABLE IF NOT EXISTS batch_counted (stream_id TEXT NOT NULL, revision INTEGER NOT NULL, PRIMARY KEY (stream_id, revision))',
  async apply(event, tx) {
    await tx.write('INSERT INTO batch_counted (stream_id, revision) VALUES (?, ?)', event.streamId, event.revision);
  },
  async reset(tx) {
    await tx.run('DELETE FROM batch_counted');
  },
});

const item = (envelope: EventEnvelope): BatchItem => ({ location: envelope, envelope });

async function fresh() {
  const db = await openTestReadModels();
  await resetProjection(db, counting);
  return db;
}

describe('a batch of events applied to a projection at once', () => {
  it("applies each stream's next revisions in order, takes the revision of what it does not handle, and skips what was applied", async () => {
    const db = await fresh();
    const [created1, payment1, paid1, statusChanged1] = paidAndShipped('b-1');
    const [created2] = paidAndShipped('b-2');
    const first = await db.transaction((tx) => applyBatchInTransaction(tx, counting, [item(created1!), item(created2!), item(payment1!)]));
    expect(first).toEqual(['applied', 'applied', 'skipped']);
    // Redelivered with the next one: the applied ones are duplicates, the next applies.
    const second = await db.transaction((tx) => applyBatchInTransaction(tx, counting, [item(created1!), item(payment1!), item(paid1!), item(statusChanged1!), item(created2!)]));
    expect(second).toEqual(['duplicate', 'duplicate', 'skipped', 'applied', 'duplicate']);
    expect(await lastAppliedRevision(db, counting.name, 'order-b-1')).toBe(3);
    expect(await lastAppliedRevision(db, counting.name, 'order-b-2')).toBe(0);
    const rows = await db.all<{ stream_id: string; revision: number }>('SELECT stream_id, revision FROM batch_counted ORDER BY stream_id, revision');
    expect(rows.map((row) => `${row.stream_id}@${row.revision}`)).toEqual(['order-b-1@0', 'order-b-1@3', 'order-b-2@0']);
  });

  it("advances a run of one stream's consecutive revisions in one guard statement, and event by event where the stream is elsewhere", async () => {
    const db = await fresh();
    const [created, payment, paid, statusChanged, shipped, shippedStatus] = paidAndShipped('b-run');
    await db.transaction((tx) => applyBatchInTransaction(tx, counting, [item(created!)]));
    // The guard's statements, counted on the real transaction.
    const guards = async (items: BatchItem[]) =>
      db.transaction(async (tx) => {
        let statements = 0;
        const counted = new Proxy(tx, {
          get: (target, key) => {
            const value = Reflect.get(target, key) as unknown;
            if (typeof value !== 'function') return value;
            return (sql: string, ...params: unknown[]) => {
              if (typeof sql === 'string' && sql.includes('projection_revisions')) statements++;
              return (value as (...args: unknown[]) => unknown).call(target, sql, ...params);
            };
          },
        });
        return { outcomes: await applyBatchInTransaction(counted, counting, items), statements };
      });
    // SQLite: the run's one UPDATE; PostgreSQL: its batch's one read and one write of the guards.
    expect(await guards([item(payment!), item(paid!), item(statusChanged!)])).toEqual({ outcomes: ['skipped', 'skipped', 'applied'], statements: db.dialect === 'sqlite' ? 1 : 2 });
    expect(await lastAppliedRevision(db, counting.name, 'order-b-run')).toBe(3);
    // Redelivered from revision 2 with the next two: the run's guard finds 3, not 1; event by event.
    const redelivered = await guards([item(paid!), item(statusChanged!), item(shipped!), item(shippedStatus!)]);
    expect(redelivered.outcomes).toEqual(['duplicate', 'duplicate', 'skipped', 'applied']);
    if (db.dialect === 'sqlite') expect(redelivered.statements).toBeGreaterThan(1);
    expect(await lastAppliedRevision(db, counting.name, 'order-b-run')).toBe(5);
    const rows = await db.all<{ revision: number }>('SELECT revision FROM batch_counted ORDER BY revision');
    expect(rows.map((row) => row.revision)).toEqual([0, 3, 5]);
  });

  it('is refused whole for an event that comes before its predecessor: nothing of the batch stays', async () => {
    const db = await fresh();
    const [created1] = paidAndShipped('b-3');
    const [, payment4] = paidAndShipped('b-4');
    await db.transaction(async (tx) => {
      await expect(tx.transaction((inner) => applyBatchInTransaction(inner, counting, [item(created1!), item(payment4!)]))).rejects.toThrow(OutOfOrderEventError);
    });
    expect(await db.all('SELECT * FROM batch_counted')).toEqual([]);
    expect(await lastAppliedRevision(db, counting.name, 'order-b-3')).toBe(-1);
    expect(await db.all('SELECT stream_id FROM projection_revisions WHERE projection = ?', counting.name)).toEqual([]);
  });
});

describe('a write whose answer is not waited for', () => {
  it('is seen by the next read of its transaction, and its failure fails the commit: nothing of the transaction is kept', async () => {
    const db = await fresh();
    const seen = await db.transaction(async (tx) => {
      await tx.write("INSERT INTO batch_counted (stream_id, revision) VALUES ('w', 1)");
      return tx.all('SELECT revision FROM batch_counted');
    });
    expect(seen).toEqual([{ revision: 1 }]);
    await expect(
      db.transaction(async (tx) => {
        await tx.write("INSERT INTO batch_counted (stream_id, revision) VALUES ('w', 2)");
        await tx.write("INSERT INTO batch_counted (stream_id, revision) VALUES ('w', 1)");
      }),
    ).rejects.toThrow(/unique|constraint/i);
    expect(await db.all('SELECT revision FROM batch_counted ORDER BY revision')).toEqual([{ revision: 1 }]);
  });

  it('fails its own savepoint, and the rest of the transaction still commits', async () => {
    const db = await fresh();
    await db.transaction(async (tx) => {
      await tx.write("INSERT INTO batch_counted (stream_id, revision) VALUES ('s', 1)");
      await expect(tx.transaction(async (inner) => void (await inner.write("INSERT INTO batch_counted (stream_id, revision) VALUES ('s', 1)")))).rejects.toThrow(/unique|constraint/i);
      await tx.write("INSERT INTO batch_counted (stream_id, revision) VALUES ('s', 2)");
    });
    expect(await db.all('SELECT revision FROM batch_counted ORDER BY revision')).toEqual([{ revision: 1 }, { revision: 2 }]);
  });
});

describe.skipIf(!onPostgres)('the same batches applied by two workers at once (PostgreSQL, two pools as two hosts)', () => {
  it('applies each event once, the other worker finding them applied, and overlapping batches in any order do not deadlock', async () => {
    const url = new URL(await testDatabaseUrl());
    url.searchParams.set('schema', `s_batched_${process.pid}`);
    const [one, two] = [await openPostgresReadModelStore({ url: url.toString(), poolSize: 2 }), await openPostgresReadModelStore({ url: url.toString(), poolSize: 2 })];
    try {
      await resetProjection(one, counting);
      const orders = Array.from({ length: 20 }, (_, index) => paidAndShipped(`h-${index}`));
      const batch = orders.flatMap((events) => events.slice(0, 2)).map(item);
      const [a, b] = await Promise.all([one, two].map((store) => store.transaction((tx) => applyBatchInTransaction(tx, counting, batch))));
      const outcomes = [...a!, ...b!];
      expect(outcomes.filter((outcome) => outcome === 'applied')).toHaveLength(20);
      expect(outcomes.filter((outcome) => outcome === 'duplicate')).toHaveLength(batch.length);
      // The next events of every order (paid, then its status change), the orders taken in
      // opposite orders on the two workers.
      const next = (list: typeof orders) => list.flatMap((events) => [item(events[2]!), item(events[3]!)]);
      const results = await Promise.allSettled([
        one.transaction((tx) => applyBatchInTransaction(tx, counting, next(orders))),
        two.transaction((tx) => applyBatchInTransaction(tx, counting, next([...orders].reverse()))),
      ]);
      expect(results.map((result) => result.status)).toEqual(['fulfilled', 'fulfilled']);
      // created and the status change of each order, once each.
      expect((await one.get<{ n: number }>('SELECT count(*) AS n FROM batch_counted'))?.n).toBe(40);
      for (const index of [0, 19]) expect(await lastAppliedRevision(one, counting.name, `order-h-${index}`)).toBe(3);
    } finally {
      await one.close();
      await two.close();
    }
  });
});
