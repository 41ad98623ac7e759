// The read-model file's WAL checkpoints, on a thread of their own. SQLite's automatic checkpoint
// runs inside the COMMIT that takes the WAL past 1,000 pages, on the thread that commits: in
// `npm start` that is the API's and the workers' main thread, where one commit in ~25 took ~8 ms
// (copying the WAL's pages into the database file and syncing both), two thirds of the time the
// main thread spent committing read models (docs/benchmarks.md, session 30). So the writing
// connection's automatic checkpoint is off and every COMMITS_PER_CHECKPOINT commits this thread
// is asked for a PASSIVE checkpoint on a connection of its own: it copies what no reader still
// needs while the main thread goes on committing.
// SQLite starts the WAL over only for a writer that begins while every page of it has been copied;
// the thread, a few commits behind, never gets it there alone. So once the WAL holds
// RESTART_FRAMES pages, the writer copies the few commits' pages the thread has not (a small
// checkpoint of its own, before its next BEGIN), and that transaction starts the WAL over: it
// stays under ~16 MB. Nothing about durability changes (a commit is in the WAL either way, and a
// checkpoint cut short by a crash is redone from the WAL). Should the thread fail, the
// connection's automatic checkpoint is switched back on.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';

/** About SQLite's default of 1,000 pages between checkpoints at the `npm start` load's commit sizes. */
export const COMMITS_PER_CHECKPOINT = 16;

/** WAL pages past which the writer catches the checkpoint up and starts the WAL over (16 MB at 4 KB a page). */
export const RESTART_FRAMES = 4000;

export interface WalCheckpointer {
  /** Called after each commit of the writing connection: every so many, a checkpoint is asked for. */
  committed(): void;
  /**
   * Called before the writing connection begins a transaction: once the thread has copied the
   * WAL, copies here what was committed meanwhile (a few commits' pages), so that this
   * transaction finds the WAL wholly copied and starts it over (SQLite restarts the WAL only for
   * a writer that began so; the thread alone, always a few commits behind, never gets it there).
   */
  beforeBegin(): void;
  /** Checkpoints the thread ran so far (its answers, a busy one included). */
  readonly checkpoints: number;
  /** The pages in the WAL at the thread's last checkpoint (since the WAL last started over). */
  readonly walPages: number;
  /** Waits for a checkpoint under way, then ends the thread (the connection's close checkpoints the rest). */
  close(): Promise<void>;
}

interface CheckpointerData {
  file: string;
  betterSqlite3: string;
}

/** The thread: plain CommonJS, evaluated (no loader needed under tsx or vitest). */
const SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.betterSqlite3);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 0');
parentPort.on('message', (message) => {
  if (message === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  let result;
  try {
    result = db.pragma('wal_checkpoint(PASSIVE)')[0];
  } catch (error) {
    // SQLITE_BUSY (another connection checkpoints or the WAL is being reset): the next nudge retries.
    result = { error: String(error && error.code || error) };
  }
  parentPort.postMessage(result);
});
`;

export interface CheckpointerOptions {
  commitsPerCheckpoint?: number;
  restartFrames?: number;
  /** The thread failed: the connection checkpoints automatically again. */
  onError?: (error: Error) => void;
  /** The better-sqlite3 module the thread loads (default: this package's). */
  betterSqlite3?: string;
}

/**
 * Takes the checkpoints of `db` (a file in WAL mode) onto a thread: its automatic checkpoint is
 * switched off until close, or until the thread fails.
 */
export function startWalCheckpointer(db: Database.Database, options: CheckpointerOptions = {}): WalCheckpointer {
  const every = options.commitsPerCheckpoint ?? COMMITS_PER_CHECKPOINT;
  const restartFrames = options.restartFrames ?? RESTART_FRAMES;
  const data: CheckpointerData = { file: db.name, betterSqlite3: options.betterSqlite3 ?? createRequire(import.meta.url).resolve('better-sqlite3') };
  const worker = new Worker(SOURCE, { eval: true, workerData: data });
  // Idle, the thread keeps no process alive: a checkpoint under way is awaited by close().
  worker.unref();
  db.pragma('wal_autocheckpoint = 0');
  let sinceLast = 0;
  let asked = false;
  let failed = false;
  let checkpoints = 0;
  let walPages = 0;
  let answered: (() => void) | undefined;
  /** The thread copied the WAL: the rest is copied before the next transaction. */
  let catchUp = false;
  const fallBack = (error: Error) => {
    if (failed) return;
    failed = true;
    if (db.open) db.pragma('wal_autocheckpoint = 1000');
    answered?.();
    options.onError?.(error);
  };
  worker.on('message', (result: { log?: number }) => {
    checkpoints++;
    asked = false;
    walPages = result.log ?? walPages;
    if (walPages >= restartFrames) catchUp = true;
    answered?.();
  });
  worker.on('error', fallBack);
  worker.on('exit', (code) => fallBack(new Error(`the read models' checkpoint thread exited (code ${code})`)));
  return {
    committed() {
      if (failed || asked || ++sinceLast < every) return;
      sinceLast = 0;
      asked = true;
      worker.postMessage('checkpoint');
    },
    beforeBegin() {
      if (!catchUp) return;
      catchUp = false;
      if (!failed) db.pragma('wal_checkpoint(PASSIVE)');
    },
    get checkpoints() {
      return checkpoints;
    },
    get walPages() {
      return walPages;
    },
    async close() {
      if (failed) return;
      worker.ref();
      if (asked) await new Promise<void>((resolve) => (answered = resolve));
      failed = true;
      if (db.open) db.pragma('wal_autocheckpoint = 1000');
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.postMessage('close');
      await exited;
    },
  };
}
