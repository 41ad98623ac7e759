// The read-model backend a suite runs on: SQLite unless READ_MODEL_BACKEND=postgres (the
// `postgres` vitest project sets it and starts one server for the run). The same suites run on
// both: they open their stores and give child processes their environment through here.
import { createHash } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import pg from 'pg';
import { inject } from 'vitest';
import { openReadModelStore, readModelFileIn, type ReadModelStore } from '../../src/readmodels/read-model-store.js';
import { openPostgresReadModelStore } from '../../src/readmodels/postgres-store.js';

export type ReadModelBackend = 'sqlite' | 'postgres';

export const readModelBackend: ReadModelBackend = process.env.READ_MODEL_BACKEND === 'postgres' ? 'postgres' : 'sqlite';
export const onPostgres = readModelBackend === 'postgres';

let database: Promise<string> | undefined;
let schemas = 0;

/** This test file's database on the run's server (created on first use): its URL. */
export function testDatabaseUrl(): Promise<string> {
  database ??= (async () => {
    const server = inject('postgresUrl');
    const name = `t_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
    const admin = new pg.Client({ connectionString: server });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${name}`);
    } finally {
      await admin.end();
    }
    const url = new URL(server);
    url.pathname = `/${name}`;
    return url.toString();
  })();
  return database;
}

function schemaFor(key: string): string {
  return `s_${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
}

/** READ_MODEL_URL for the read models that belong with `dataDir` (a schema of its own). */
export async function readModelUrlFor(dataDir: string): Promise<string> {
  const url = new URL(await testDatabaseUrl());
  url.searchParams.set('schema', schemaFor(readModelFileIn(dataDir)));
  return url.toString();
}

/** What a child process (orders serve, a worker, the CLI) needs to use the same read models as `dataDir`'s. */
export async function readModelEnv(dataDir: string): Promise<Record<string, string>> {
  return onPostgres ? { READ_MODEL_URL: await readModelUrlFor(dataDir) } : {};
}

/**
 * A fresh, empty store (SQLite in memory, or a new schema). With `file`: the store kept there
 * (SQLite) or the schema named after it, so two calls with the same file share the models.
 */
export async function openTestReadModels(file?: string): Promise<ReadModelStore> {
  if (!onPostgres) return openReadModelStore({ file: file ?? ':memory:' });
  const url = new URL(await testDatabaseUrl());
  url.searchParams.set('schema', file ? schemaFor(file) : `s_fresh_${process.pid}_${++schemas}`);
  return openPostgresReadModelStore({ url: url.toString(), poolSize: 4 });
}

/** The store of the read models under `dataDir` (what `orders serve --data dataDir` uses). */
export function openTestReadModelsIn(dataDir: string): Promise<ReadModelStore> {
  return openTestReadModels(readModelFileIn(dataDir));
}


/**
 * Where a set of read models is, as a test names it: the models under a data directory (the
 * live ones `orders serve --data dir` uses), or one other SQLite file / PostgreSQL schema (a
 * replay's copy, an `--until` output).
 */
export type ReadModelsAt = { dataDir: string } | { file: string } | { schema: string };

function fileOf(at: ReadModelsAt): string | undefined {
  return 'dataDir' in at ? readModelFileIn(at.dataDir) : 'file' in at ? at.file : undefined;
}

/** A store on `at` (the schema given, or the one named after the file). Closed by the caller. */
async function openAt(at: ReadModelsAt): Promise<ReadModelStore> {
  if (!('schema' in at)) return openTestReadModels(fileOf(at));
  const url = new URL(await testDatabaseUrl());
  url.searchParams.set('schema', at.schema);
  return openPostgresReadModelStore({ url: url.toString(), poolSize: 1 });
}

/** Runs `work` on the read models at `at`; SQLite opens the file read-only unless `write` (it never creates one). */
export async function withReadModelsAt<T>(at: ReadModelsAt, work: (store: ReadModelStore) => Promise<T>, options: { write?: boolean } = {}): Promise<T> {
  let store: ReadModelStore;
  if (onPostgres) store = await openAt(at);
  else {
    const file = fileOf(at);
    if (!file) throw new Error('a schema names PostgreSQL read models: this run is on SQLite');
    // Opening through the store would create a missing file (and take the write lock).
    store = options.write ? openReadModelStore({ file }) : readOnlySqlite(file);
  }
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

/** The few reads a test makes of a SQLite file, without opening it for writing. */
function readOnlySqlite(file: string): ReadModelStore {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  const store = {
    all: async (sql: string, ...params: unknown[]) => db.prepare(sql).all(...params),
    get: async (sql: string, ...params: unknown[]) => db.prepare(sql).get(...params),
    close: async () => db.close(),
  };
  return store as unknown as ReadModelStore;
}

/** Rows of a table at `at`, in a stable order (the first three columns). */
export function tableRowsAt(at: ReadModelsAt, table: string): Promise<unknown[]> {
  return withReadModelsAt(at, (store) => store.all(`SELECT * FROM "${table}" ORDER BY 1, 2, 3`));
}

/** Whether `table` exists at `at` (SQLite: also whether the file does). */
export async function tableExistsAt(at: ReadModelsAt, table: string): Promise<boolean> {
  const file = fileOf(at);
  if (onPostgres) {
    // Not through a store: opening one sets up the bookkeeping tables.
    const schema = 'schema' in at ? at.schema : schemaFor(file!);
    return (await onDatabase((client) => client.query('SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2', [schema, table]))).rowCount === 1;
  }
  if (!file || !existsSync(file)) return false;
  return withReadModelsAt(at, async (store) => (await store.get("SELECT 1 AS one FROM sqlite_master WHERE type = 'table' AND name = ?", table)) !== undefined);
}

/** `work` on a plain connection to this file's database. */
async function onDatabase<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: await testDatabaseUrl() });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Runs SQL (statements separated by `;`) against the read models at `at`: to damage them, as a bug would. */
export async function onReadModelsAt(at: ReadModelsAt, sql: string): Promise<void> {
  await withReadModelsAt(at, (store) => store.exec(sql), { write: true });
}

/** PostgreSQL schemas of this file's database whose names start with `prefix`. */
export async function schemasStartingWith(prefix: string): Promise<string[]> {
  const found = await onDatabase((client) => client.query<{ nspname: string }>('SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1) ORDER BY 1', [prefix]));
  return found.rows.map((row) => row.nspname);
}

/** The live schema of the read models under `dataDir` (PostgreSQL). */
export function liveSchemaFor(dataDir: string): string {
  return schemaFor(readModelFileIn(dataDir));
}

/**
 * The read models under `dataDir` lost, and an empty store in their place: on SQLite the file
 * (and its WAL) deleted and a new one made, on PostgreSQL the schema dropped and made again.
 */
export async function loseReadModelsIn(dataDir: string): Promise<void> {
  if (onPostgres) {
    await withReadModelsAt({ dataDir }, async (store) => {
      const schema = liveSchemaFor(dataDir);
      await store.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
    });
    return;
  }
  const file = readModelFileIn(dataDir);
  for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
  await openReadModelStore({ file }).close();
}

/** The environment of a child pointed where no read models are: a DATA_DIR without a file, or a schema nobody wrote to. */
export async function missingReadModelEnv(dataDir: string): Promise<Record<string, string>> {
  const nowhere = `${dataDir}/nowhere`;
  if (!onPostgres) return { DATA_DIR: nowhere };
  const url = new URL(await testDatabaseUrl());
  url.searchParams.set('schema', 'nowhere');
  return { DATA_DIR: nowhere, READ_MODEL_URL: url.toString() };
}

/** Rows in `table` of a PostgreSQL schema, on a plain connection (cheap to poll; no store set up there); 0 while it does not exist. */
export async function countRowsInSchema(schema: string, table: string): Promise<number> {
  try {
    const found = await onDatabase((client) => client.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}"."${table}"`));
    return Number(found.rows[0]?.n ?? 0);
  } catch {
    return 0;
  }
}
