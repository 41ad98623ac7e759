// store.snapshot: an answer built from several statements (a customer's orders and their sums, the
// sales days and statuses) reads one state of the read models, even while a writer commits between
// its statements (on PostgreSQL each statement of a READ COMMITTED transaction would see the newest
// commit; on SQLite the writer waits for the snapshot to end).
import { describe, expect, it } from 'vitest';
import { openTestReadModels } from '../../helpers/read-models.js';

const count = async (tx: { get<T>(sql: string, ...params: unknown[]): Promise<T | undefined> }) =>
  Number((await tx.get<{ n: number | string }>('SELECT count(*) AS n FROM snapshot_marks'))!.n);

describe('a snapshot read', () => {
  it('sees neither a commit made between its statements nor half of one, and the commit is there after it', async () => {
    const db = await openTestReadModels();
    try {
      await db.exec('CREATE TABLE IF NOT EXISTS snapshot_marks (id TEXT PRIMARY KEY)');
      await db.run("INSERT INTO snapshot_marks (id) VALUES ('a')");
      let writer: Promise<void> | undefined;
      const seen = await db.snapshot(async (tx) => {
        const before = await count(tx);
        writer = db.transaction(async (w) => {
          await w.run("INSERT INTO snapshot_marks (id) VALUES ('b')");
          await w.run("INSERT INTO snapshot_marks (id) VALUES ('c')");
        });
        // Where the writer can commit meanwhile (PostgreSQL), it has by the end of this wait.
        await Promise.race([writer, new Promise((resolve) => setTimeout(resolve, 500))]);
        return [before, await count(tx)];
      });
      expect(seen).toEqual([1, 1]);
      await writer;
      expect(await count(db)).toBe(3);
    } finally {
      await db.close();
    }
  });

  it('is rolled back like any transaction when its function throws, and the store goes on', async () => {
    const db = await openTestReadModels();
    try {
      await db.exec('CREATE TABLE IF NOT EXISTS snapshot_marks (id TEXT PRIMARY KEY)');
      await expect(db.snapshot(async (tx) => { await count(tx); throw new Error('boom'); })).rejects.toThrow('boom');
      await db.run("INSERT INTO snapshot_marks (id) VALUES ('z')");
      expect(await db.snapshot(count)).toBe(1);
    } finally {
      await db.close();
    }
  });
});
