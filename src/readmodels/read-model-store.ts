// The database read models and handlers write to: a SQLite file under the data directory (the
// embedded default, better-sqlite3) or PostgreSQL (READ_MODEL_URL=postgres://..., `pg` with a
// pool), behind one async interface. A projection's rows, its revision guard and a handler's
// idempotency record commit in one transaction on either.
//
// SQL is written once, in what both accept: `?` placeholders (numbered $1.. for PostgreSQL),
// `ON CONFLICT` upserts, `RETURNING`. The few differences in DDL are translated for PostgreSQL
// (postgres-dialect.ts): INTEGER columns become BIGINT (positions pass 2^31), `WITHOUT ROWID`
// is dropped, `INTEGER PRIMARY KEY AUTOINCREMENT` becomes an identity column.
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { startWalCheckpointer, type WalCheckpointer } from './wal-checkpointer.js';

export type SqlParams = unknown[];
export type Dialect = 'sqlite' | 'postgres';

export interface RunResult {
  /** Rows inserted, updated or deleted. */
  changes: number;
}

/** What a projection's apply/reset and a handler's writes see: one open transaction. */
export interface ReadModelTx {
  readonly dialect: Dialect;
  run(sql: string, ...params: SqlParams): Promise<RunResult>;
  get<T>(sql: string, ...params: SqlParams): Promise<T | undefined>;
  all<T>(sql: string, ...params: SqlParams): Promise<T[]>;
  /**
   * A statement whose outcome the caller does not read (a projection's effect). SQLite runs it
   * at once; PostgreSQL sends it without waiting for its answer, pipelined behind the statements
   * before it, so a batch of effects costs one round trip rather than one each. It is done
   * before the transaction's next run/get/all, the end of the savepoint it is in, or the
   * commit, and its error fails that one (the transaction is rolled back as for any error).
   * A one-row INSERT may be held back there and sent with the others of its table as one
   * multi-row INSERT, with the same outcome (combined-inserts.ts).
   */
  write(sql: string, ...params: SqlParams): Promise<void>;
  /** Statements without parameters (DDL), several separated by `;`. */
  exec(sql: string): Promise<void>;
  /** Inside a transaction: a savepoint, rolled back alone when fn throws. */
  transaction<T>(fn: (tx: ReadModelTx) => Promise<T> | T): Promise<T>;
}

/** A transaction left open across several steps (a rebuild commits every N events). */
export interface OpenTransaction extends ReadModelTx {
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

/** Runs `fn` in a transaction from `begin`: committed when it returns, rolled back when it throws. */
export async function inTransaction<T>(begin: () => Promise<OpenTransaction>, fn: (t: ReadModelTx) => Promise<T> | T): Promise<T> {
  const open = await begin();
  try {
    const result = await fn(open);
    await open.commit();
    return result;
  } catch (error) {
    await open.rollback();
    throw error;
  }
}

export interface ReadModelStore extends ReadModelTx {
  /** The SQLite file (or ':memory:'), or the PostgreSQL URL without its password. */
  readonly location: string;
  /** PostgreSQL: the schema that holds the tables (search_path). */
  readonly schema?: string;
  /**
   * Runs fn in one transaction; rolls back when it throws. Transactions never interleave: on
   * SQLite they take turns on the one connection, on PostgreSQL each has its own. fn must use
   * the tx it is given (the store itself would wait for fn on SQLite).
   */
  transaction<T>(fn: (tx: ReadModelTx) => Promise<T> | T): Promise<T>;
  /**
   * Runs fn's reads in one consistent snapshot (an answer built from several statements, a list
   * and its sums, must not mix two commits): on SQLite a transaction (writers wait for it), on
   * PostgreSQL a REPEATABLE READ, READ ONLY transaction (each statement would see the newest
   * commit under READ COMMITTED).
   */
  snapshot<T>(fn: (tx: ReadModelTx) => Promise<T> | T): Promise<T>;
  begin(): Promise<OpenTransaction>;
  /** Creates tables and indexes (idempotent DDL: CREATE ... IF NOT EXISTS); safe from several processes at once. */
  migrate(ddl: string): Promise<void>;
  close(): Promise<void>;
}

export const READ_MODEL_FILE_NAME = 'readmodels.db';

export function readModelFileIn(dataDir: string): string {
  return join(resolve(dataDir), READ_MODEL_FILE_NAME);
}

export const BOOKKEEPING_DDL = `
  CREATE TABLE IF NOT EXISTS projection_revisions (
    projection TEXT NOT NULL,
    stream_id TEXT NOT NULL,
    revision INTEGER NOT NULL,
    PRIMARY KEY (projection, stream_id)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS handled_events (
    handler TEXT NOT NULL,
    event_id TEXT NOT NULL,
    handled_at TEXT NOT NULL,
    PRIMARY KEY (handler, event_id)
  ) WITHOUT ROWID;
`;

/** Where the read models are: READ_MODEL_URL when set, else the file under DATA_DIR. */
export interface ReadModelLocation {
  dataDir: string;
  readModelUrl?: string | undefined;
}

export function isPostgresUrl(url: string | undefined): url is string {
  return url !== undefined && /^postgres(?:ql)?:\/\//i.test(url);
}

/** Opens the configured read models (the file under dataDir, or READ_MODEL_URL). */
export async function openConfiguredReadModels(location: ReadModelLocation, options: { poolSize?: number } = {}): Promise<ReadModelStore> {
  if (isPostgresUrl(location.readModelUrl)) {
    const { openPostgresReadModelStore } = await import('./postgres-store.js');
    return openPostgresReadModelStore({ url: location.readModelUrl, ...options });
  }
  return openReadModelStore({ file: readModelFileIn(location.dataDir) });
}

/** Where the configured read models are, for messages (no password). */
export function describeReadModels(location: ReadModelLocation): string {
  if (isPostgresUrl(location.readModelUrl)) return redactUrl(location.readModelUrl);
  return readModelFileIn(location.dataDir);
}

export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

/**
 * The SQLite store. Sync work under an async face: one connection, transactions take turns.
 * `checkpointThread`: the WAL's checkpoints run on a thread of their own once this connection
 * first commits (wal-checkpointer.ts), for the service's workers, whose main thread commits.
 */
export function openReadModelStore(options: { file: string; checkpointThread?: boolean; onCheckpointError?: (error: Error) => void }): ReadModelStore & { readonly db: Database.Database } {
  if (options.file !== ':memory:') mkdirSync(dirname(resolve(options.file)), { recursive: true });
  const db = new Database(options.file);
  // WAL lets the API process read while worker processes write; NORMAL sync survives kill -9
  // (only an OS crash can lose the newest commits, which redelivery would then re-apply).
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.exec(BOOKKEEPING_DDL);
  let checkpointer: WalCheckpointer | undefined;
  const onThread = options.checkpointThread === true && options.file !== ':memory:';
  const committed = onThread ? () => (checkpointer ??= startWalCheckpointer(db, { onError: options.onCheckpointError })).committed() : () => {};

  /** A statement outside a transaction committed on its own. */
  const autocommitted = <T>(result: T): T => {
    committed();
    return result;
  };

  const statements = new Map<string, Database.Statement>();
  const statement = (sql: string): Database.Statement => {
    let prepared = statements.get(sql);
    if (!prepared) {
      prepared = db.prepare(sql);
      statements.set(sql, prepared);
    }
    return prepared;
  };
  const run = (sql: string, params: SqlParams): RunResult => ({ changes: statement(sql).run(...params).changes });
  const get = <T>(sql: string, params: SqlParams) => statement(sql).get(...params) as T | undefined;
  const all = <T>(sql: string, params: SqlParams) => statement(sql).all(...params) as T[];

  // The turn-taking: `held` while a transaction is open; others wait in `waiting`, in order.
  let held = false;
  const waiting: Array<() => void> = [];
  const acquire = (): Promise<void> | undefined => {
    if (!held) {
      held = true;
      return undefined;
    }
    return new Promise<void>((resolveTurn) => waiting.push(resolveTurn));
  };
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else held = false;
  };
  /** A statement outside any transaction: now when nothing is open, else after what is. */
  const single = <T>(work: () => T): Promise<T> => {
    if (!held) {
      try {
        return Promise.resolve(work());
      } catch (error) {
        return Promise.reject(error as Error);
      }
    }
    return new Promise<void>((resolveTurn) => waiting.push(resolveTurn)).then(() => {
      try {
        return work();
      } finally {
        release();
      }
    });
  };

  // Savepoints are named by their depth, so each level's SAVEPOINT / RELEASE / ROLLBACK TO is a
  // statement prepared once (a shared commit opens ~4 a command; `db.exec` parsed each anew).
  let depth = 0;
  const inside = (state: { open: boolean; wrote: boolean }): ReadModelTx => {
    const check = () => {
      if (!state.open) throw new Error('the read-model transaction is already committed or rolled back');
    };
    const writing = () => {
      check();
      state.wrote = true;
    };
    /** A read, unless its statement writes (`INSERT ... RETURNING`). */
    const reading = (sql: string) => {
      check();
      if (!state.wrote && !statement(sql).readonly) state.wrote = true;
    };
    const tx: ReadModelTx = {
      dialect: 'sqlite',
      run: async (sql, ...params) => (writing(), run(sql, params)),
      get: async <T>(sql: string, ...params: SqlParams) => (reading(sql), get<T>(sql, params)),
      all: async <T>(sql: string, ...params: SqlParams) => (reading(sql), all<T>(sql, params)),
      write: async (sql, ...params) => void (writing(), run(sql, params)),
      exec: async (sql) => {
        writing();
        db.exec(sql);
      },
      transaction: async <T>(fn: (t: ReadModelTx) => Promise<T> | T): Promise<T> => {
        check();
        const name = `sp${++depth}`;
        try {
          statement(`SAVEPOINT ${name}`).run();
        } catch (error) {
          depth--;
          throw error;
        }
        try {
          const result = await fn(tx);
          statement(`RELEASE ${name}`).run();
          return result;
        } catch (error) {
          statement(`ROLLBACK TO ${name}`).run();
          statement(`RELEASE ${name}`).run();
          throw error;
        } finally {
          depth--;
        }
      },
    };
    return tx;
  };

  const begin = async (): Promise<OpenTransaction> => {
    await acquire();
    try {
      checkpointer?.beforeBegin();
      db.exec('BEGIN');
    } catch (error) {
      release();
      throw error;
    }
    const state = { open: true, wrote: false };
    const tx = inside(state);
    const end = (sql: string) => {
      if (!state.open) return;
      state.open = false;
      try {
        if (db.inTransaction) db.exec(sql);
        // Only a transaction that wrote leaves pages to checkpoint: a read snapshot's does not.
        if (sql === 'COMMIT' && state.wrote) committed();
      } finally {
        release();
      }
    };
    return { ...tx, commit: async () => end('COMMIT'), rollback: async () => end('ROLLBACK') };
  };

  return {
    db,
    dialect: 'sqlite',
    location: options.file,
    run: (sql, ...params) => single(() => autocommitted(run(sql, params))),
    get: <T>(sql: string, ...params: SqlParams) => single(() => get<T>(sql, params)),
    all: <T>(sql: string, ...params: SqlParams) => single(() => all<T>(sql, params)),
    write: (sql, ...params) => single(() => void autocommitted(run(sql, params))),
    exec: (sql) => single(() => void autocommitted(db.exec(sql))),
    begin,
    transaction: (fn) => inTransaction(begin, fn),
    snapshot: (fn) => inTransaction(begin, fn),
    migrate: (ddl) =>
      single(() => {
        db.exec(ddl);
        statements.clear();
      }),
    close: async () => {
      await checkpointer?.close();
      await single(() => {
        statements.clear();
        if (db.open) db.close();
      });
    },
  };
}

/** The names of a table's columns (empty when there is no such table). */
export async function tableColumns(tx: ReadModelTx, table: string): Promise<string[]> {
  const rows =
    tx.dialect === 'sqlite'
      ? await tx.all<{ name: string }>('SELECT name FROM pragma_table_info(?)', table)
      : await tx.all<{ name: string }>('SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ?', table);
  return rows.map((row) => row.name);
}

export async function tableExists(tx: ReadModelTx, table: string): Promise<boolean> {
  const row =
    tx.dialect === 'sqlite'
      ? await tx.get("SELECT 1 AS one FROM sqlite_master WHERE type = 'table' AND name = ?", table)
      : await tx.get('SELECT 1 AS one FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?', table);
  return row !== undefined;
}
