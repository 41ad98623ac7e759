// The watched read-model store on real SQLite files: corruption SQLite reports while running
// and a file replaced under it both make it refuse with ReadModelUnavailableError (and its
// health say why), instead of answering from a damaged or orphaned file.
import { closeSync, existsSync, mkdtempSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openWatchedReadModelStore, ReadModelUnavailableError, type WatchedReadModelStore } from '../../../src/readmodels/read-model-health.js';
import { eventually } from '../../e2e/faults/support.js';

describe('the watched read-model store', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  const fileWithRows = (rows = 2_000): string => {
    const dir = mkdtempSync(join(tmpdir(), 'order-store-watched-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'readmodels.db');
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, text TEXT NOT NULL)');
    const insert = db.prepare('INSERT INTO t (text) VALUES (?)');
    db.transaction(() => {
      for (let i = 0; i < rows; i++) insert.run(`row ${i} ${'x'.repeat(100)}`);
    })();
    db.close();
    return file;
  };

  const watch = async (file: string): Promise<WatchedReadModelStore> => {
    const store = await openWatchedReadModelStore({ file, watchIntervalMs: 50, projections: ['order-summary'] });
    cleanups.push(() => store.close());
    return store;
  };

  it('a page SQLite finds corrupt while running: refused from then on, and the health says corrupt', async () => {
    const file = fileWithRows();
    const store = await watch(file);
    expect(store.health.fault).toBeUndefined();
    // Garbage over the table's pages (the schema page stays), after the open's quick_check.
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.alloc(64 * 1024, 0xa5), 0, 64 * 1024, 4096);
    closeSync(fd);
    await expect(store.all('SELECT text FROM t')).rejects.toThrow(ReadModelUnavailableError);
    expect(store.health.fault?.kind).toBe('corrupt');
    await expect(store.get('SELECT 1 AS one')).rejects.toThrow(ReadModelUnavailableError);
  });

  it('a file replaced under it: noticed by its identity, refused until the projections are replayed into the new one', async () => {
    const file = fileWithRows();
    const store = await watch(file);
    expect((await store.get<{ n: number }>('SELECT count(*) AS n FROM t'))?.n).toBe(2_000);
    // As `orders replay` replaces a damaged file: the old one with its WAL moved aside, a new one put there.
    const other = fileWithRows(7);
    for (const suffix of ['', '-wal', '-shm']) if (existsSync(file + suffix)) renameSync(file + suffix, `${file}.damaged${suffix}`);
    renameSync(other, file);
    await eventually('the replacement is noticed', async () => store.health.fault?.kind === 'replaced', 5_000);
    await expect(store.get('SELECT count(*) AS n FROM t')).rejects.toThrow(ReadModelUnavailableError);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(store.health.fault?.reason).toContain('waiting for `orders replay` of order-summary');

    // What `orders replay order-summary` records once it swapped the projection in.
    const db = new Database(file);
    db.exec('CREATE TABLE projection_replays (projection TEXT PRIMARY KEY, replayed_at TEXT NOT NULL, position TEXT, events INTEGER NOT NULL)');
    db.prepare('INSERT INTO projection_replays VALUES (?, ?, NULL, 0)').run('order-summary', new Date().toISOString());
    db.close();
    await eventually('the new file is opened', async () => store.health.fault === undefined, 5_000);
    expect((await store.get<{ n: number }>('SELECT count(*) AS n FROM t'))?.n).toBe(7);
  });
});
