// The read models' WAL checkpoints on a thread of their own (src/readmodels/wal-checkpointer.ts):
// the writing connection stops checkpointing itself, the thread does it, the WAL still starts
// over (it stays bounded while commits keep coming), a failed thread hands the checkpoints back,
// and a writer killed with -9 mid-checkpoint loses no commit.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openReadModelStore } from '../../../src/readmodels/read-model-store.js';
import { startWalCheckpointer } from '../../../src/readmodels/wal-checkpointer.js';

const here = dirname(fileURLToPath(import.meta.url));
const turn = () => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the read models\' checkpoint thread', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'wal-checkpointer-'));
    file = join(dir, 'readmodels.db');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('checkpoints off the writing connection, and the WAL starts over while commits keep coming', async () => {
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec('CREATE TABLE numbered (n INTEGER PRIMARY KEY, pad TEXT NOT NULL)');
    const checkpointer = startWalCheckpointer(db, { commitsPerCheckpoint: 4, restartFrames: 200 });
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    const insert = db.prepare('INSERT INTO numbered (n, pad) VALUES (?, ?)');
    const walPages: number[] = [];
    let commits = 0;
    let sinceAnswer = 0;
    // Until the thread has answered 30 times (it takes a moment to start: the WAL meanwhile grows).
    for (let n = 0; checkpointer.checkpoints < 30 && n < 50_000; n++, commits++) {
      checkpointer.beforeBegin();
      db.exec('BEGIN');
      for (let row = 0; row < 10; row++) insert.run(n * 10 + row, 'x'.repeat(400));
      db.exec('COMMIT');
      checkpointer.committed();
      sinceAnswer++;
      if (walPages.length < checkpointer.checkpoints) {
        walPages.push(checkpointer.walPages);
        sinceAnswer = 0;
      }
      // Once it runs, at most 12 commits between two of its answers (it is asked every 4th commit,
      // so a request is out by then): the bound below is the catch-up's, not how a machine busy
      // with other tests schedules the thread (in CI it once answered after ~120 commits, and the
      // WAL grew that much before it could start over). On a machine that is not busy the wait never happens.
      const deadline = Date.now() + 5_000;
      while (walPages.length > 0 && sinceAnswer >= 12 && checkpointer.checkpoints === walPages.length && Date.now() < deadline) await sleep(1);
      await turn();
    }
    expect(checkpointer.checkpoints).toBe(30);
    // Left alone the WAL would only grow (the thread is always a few commits behind): it started
    // over each time it passed 200 pages, so its pages went down (~50 pages a checkpoint here).
    const restarts = walPages.flatMap((pages, index) => (index > 0 && pages < walPages[index - 1]! ? [index] : []));
    const seen = `WAL pages at each checkpoint: ${walPages.join(' ')}`;
    expect(restarts.length, seen).toBeGreaterThan(2);
    // Each answer at or past 200 pages is followed by a restart (by the next answer or, when the
    // writer's catch-up met the thread's checkpoint and did nothing, the one after): without the
    // catch-up the WAL mostly grows on past it.
    const notRestarted = walPages.flatMap((pages, index) =>
      index >= restarts[0]! && pages >= 200 && index + 2 < walPages.length && walPages[index + 1]! >= pages && walPages[index + 2]! >= walPages[index + 1]! ? [index] : []);
    expect(notRestarted, seen).toEqual([]);
    await checkpointer.close();
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    expect(db.prepare('SELECT count(*) AS n FROM numbered').get()).toEqual({ n: commits * 10 });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });

  it('hands the checkpoints back to the connection when its thread fails', async () => {
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    const failed = new Promise<Error>((resolve) => startWalCheckpointer(db, { betterSqlite3: join(dir, 'no-such-module.js'), onError: resolve }));
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    expect((await failed).message).toMatch(/no-such-module|exited/);
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    db.close();
  });

  it('is used by a store opened for the service once it commits, not by others', async () => {
    const service = openReadModelStore({ file, checkpointThread: true });
    expect(service.db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    await service.transaction(async (tx) => void (await tx.run('CREATE TABLE t (n INTEGER)')));
    expect(service.db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    const other = openReadModelStore({ file });
    await other.transaction(async (tx) => void (await tx.run('INSERT INTO t (n) VALUES (1)')));
    expect(other.db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    await other.close();
    await service.close();
  });

  it('is started by a transaction that wrote, not by a read snapshot (a ROLE=api process only reads)', async () => {
    const setup = openReadModelStore({ file });
    await setup.exec('CREATE TABLE t (n INTEGER)');
    await setup.close();
    const reader = openReadModelStore({ file, checkpointThread: true });
    for (let i = 0; i < 3; i++) await reader.snapshot(async (tx) => tx.all('SELECT n FROM t'));
    expect(reader.db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    // A write that returns rows counts as a write.
    await reader.transaction(async (tx) => tx.get('INSERT INTO t (n) VALUES (1) RETURNING n'));
    expect(reader.db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    await reader.close();
  });

  it('loses no commit when the writer is killed with -9 while its thread checkpoints', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'checkpoint-child.ts')], {
      env: { ...process.env, READ_MODEL_FILE: file },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let acknowledged = 0;
    let output = '';
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`the writer exited early (${code})`)));
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const lines = output.split('\n');
        output = lines.pop()!;
        if (lines.length > 0) acknowledged = Number(lines.at(-1));
        // Past many checkpoints (one every 16 commits) and WAL restarts.
        if (acknowledged >= 1_500) resolve();
      });
    });
    child.removeAllListeners('exit');
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    const db = new Database(file);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    const { n } = db.prepare('SELECT count(*) AS n FROM numbered WHERE n < ?').get((acknowledged + 1) * 10) as { n: number };
    expect(n).toBe(acknowledged * 10);
    db.close();
  }, 60_000);
});
