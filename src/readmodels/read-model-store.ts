// The SQLite database read models and handlers write to (better-sqlite3, one file under the data
// directory). Synchronous on purpose: a projection's rows, its revision guard and a handler's
// idempotency record commit in one local transaction, with nothing awaited in between.
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';

export type SqlParams = unknown[];

/** What a projection's apply/reset and a handler's writes see: one open transaction. */
export interface ReadModelTx {
  run(sql: string, ...params: SqlParams): Database.RunResult;
  get<T>(sql: string, ...params: SqlParams): T | undefined;
  all<T>(sql: string, ...params: SqlParams): T[];
  exec(sql: string): void;
}

export interface ReadModelStore extends ReadModelTx {
  /** ':memory:' or the database file. */
  readonly file: string;
  /** Runs fn in one transaction (nested calls become savepoints); rolls back when it throws. */
  transaction<T>(fn: (tx: ReadModelTx) => T): T;
  /** Creates tables and indexes (idempotent DDL: CREATE ... IF NOT EXISTS). */
  migrate(ddl: string): void;
  close(): void;
}

export const READ_MODEL_FILE_NAME = 'readmodels.db';

export function readModelFileIn(dataDir: string): string {
  return join(resolve(dataDir), READ_MODEL_FILE_NAME);
}

const BOOKKEEPING_DDL = `
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

export function openReadModelStore(options: { file: string }): ReadModelStore {
  if (options.file !== ':memory:') mkdirSync(dirname(resolve(options.file)), { recursive: true });
  const db = new Database(options.file);
  // WAL lets the API process read while worker processes write; NORMAL sync survives kill -9
  // (only an OS crash can lose the newest commits, which redelivery would then re-apply).
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.exec(BOOKKEEPING_DDL);

  const statements = new Map<string, Database.Statement>();
  const statement = (sql: string): Database.Statement => {
    let prepared = statements.get(sql);
    if (!prepared) {
      prepared = db.prepare(sql);
      statements.set(sql, prepared);
    }
    return prepared;
  };
  const tx: ReadModelTx = {
    run: (sql, ...params) => statement(sql).run(...params),
    get: <T>(sql: string, ...params: SqlParams) => statement(sql).get(...params) as T | undefined,
    all: <T>(sql: string, ...params: SqlParams) => statement(sql).all(...params) as T[],
    exec: (sql) => {
      db.exec(sql);
    },
  };
  const inTransaction = db.transaction((fn: (t: ReadModelTx) => unknown) => fn(tx));

  return {
    ...tx,
    file: options.file,
    transaction: <T>(fn: (t: ReadModelTx) => T) => inTransaction(fn) as T,
    migrate: (ddl) => {
      db.exec(ddl);
      statements.clear();
    },
    close: () => {
      statements.clear();
      if (db.open) db.close();
    },
  };
}
