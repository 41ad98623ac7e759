// The read-model backend a suite runs on: SQLite unless READ_MODEL_BACKEND=postgres (the
// `postgres` vitest project sets it and starts one server for the run). The same suites run on
// both: they open their stores and give child processes their environment through here.
import { createHash } from 'node:crypto';
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

