// The read models on PostgreSQL (READ_MODEL_URL=postgres://user:pass@host/db[?schema=name]): a
// `pg` pool, named prepared statements, `?` placeholders numbered for the server. Every table
// lives in one schema (default `public`, or `?schema=`), set as the search_path of each
// connection, so a replay can build into a schema of its own and swap tables across.
import pg from 'pg';
import { BOOKKEEPING_DDL, inTransaction, redactUrl, type OpenTransaction, type ReadModelStore, type ReadModelTx, type RunResult, type SqlParams } from './read-model-store.js';
import { assertIdentifier, numberPlaceholders, postgresDdl } from './postgres-dialect.js';

export interface PostgresStoreOptions {
  url: string;
  /** Overrides `?schema=` of the URL (replays build into a schema of their own). */
  schema?: string;
  poolSize?: number;
  /** Creates the schema when missing (default true). */
  create?: boolean;
}

/** Whole numbers come back as numbers (COUNT and SUM give int8 and numeric, which pg leaves as strings). */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20 || oid === 1700) return (value: string) => (value === null ? null : Number(value));
    return pg.types.getTypeParser(oid, format as 'text');
  },
} as unknown as pg.CustomTypesConfig;

/** The advisory lock every schema change takes, so processes starting together do not collide. */
const MIGRATE_LOCK = 'order-store:read-model-ddl';

export function splitSchema(url: string): { url: string; schema: string } {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema') ?? 'public';
  parsed.searchParams.delete('schema');
  return { url: parsed.toString(), schema: assertIdentifier(schema) };
}

export async function openPostgresReadModelStore(options: PostgresStoreOptions): Promise<ReadModelStore & { readonly pool: pg.Pool; readonly schema: string }> {
  const split = splitSchema(options.url);
  const schema = assertIdentifier(options.schema ?? split.schema);
  const pool = new pg.Pool({
    connectionString: split.url,
    max: options.poolSize ?? 10,
    options: `-c search_path=${schema}`,
    types,
    connectionTimeoutMillis: 10_000,
    application_name: 'order-store',
  });
  // A connection the server closed while idle in the pool: the pool drops it, the next query opens another.
  pool.on('error', () => undefined);
  // The server ending a connection that is checked out but between statements (inside a
  // transaction), or just removed from the pool, emits 'error' on the client, which the pool does
  // not always hear: without a listener of its own that is an uncaught exception. The statement
  // on it fails anyway (connection loss: retried, or 503).
  pool.on('connect', (client) => client.on('error', () => undefined));

  const names = new Map<string, pg.QueryConfig>();
  const prepared = (sql: string, params: SqlParams): pg.QueryConfig => {
    let config = names.get(sql);
    if (!config) {
      config = { name: `rm${names.size + 1}`, text: numberPlaceholders(sql) };
      names.set(sql, config);
    }
    return { ...config, values: params.map((value) => (value === undefined ? null : value)) };
  };
  type Queryable = pg.Pool | pg.PoolClient;
  const query = (on: Queryable, sql: string, params: SqlParams) => on.query(prepared(sql, params));
  const exec = async (on: Queryable, sql: string) => {
    await on.query(postgresDdl(sql));
  };

  let savepoints = 0;
  const on = (client: Queryable, state?: { open: boolean }): ReadModelTx => {
    const check = () => {
      if (state && !state.open) throw new Error('the read-model transaction is already committed or rolled back');
    };
    const tx: ReadModelTx = {
      dialect: 'postgres',
      run: async (sql, ...params): Promise<RunResult> => (check(), { changes: (await query(client, sql, params)).rowCount ?? 0 }),
      get: async <T>(sql: string, ...params: SqlParams) => (check(), (await query(client, sql, params)).rows[0] as T | undefined),
      all: async <T>(sql: string, ...params: SqlParams) => (check(), (await query(client, sql, params)).rows as T[]),
      exec: async (sql) => (check(), exec(client, sql)),
      transaction: async <T>(fn: (t: ReadModelTx) => Promise<T> | T): Promise<T> => {
        if (!state) return store.transaction(fn);
        check();
        const name = `sp${++savepoints}`;
        await client.query(`SAVEPOINT ${name}`);
        try {
          const result = await fn(tx);
          await client.query(`RELEASE SAVEPOINT ${name}`);
          return result;
        } catch (error) {
          await client.query(`ROLLBACK TO SAVEPOINT ${name}`);
          await client.query(`RELEASE SAVEPOINT ${name}`);
          throw error;
        }
      },
    };
    return tx;
  };

  const begin = async (): Promise<OpenTransaction> => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
    } catch (error) {
      client.release(error as Error);
      throw error;
    }
    const state = { open: true };
    const end = async (sql: string) => {
      if (!state.open) return;
      state.open = false;
      try {
        await client.query(sql);
        client.release();
      } catch (error) {
        // A connection that failed mid-transaction is not reused.
        client.release(error as Error);
        if (sql === 'COMMIT') throw error;
      }
    };
    return { ...on(client, state), commit: () => end('COMMIT'), rollback: () => end('ROLLBACK') };
  };

  const transaction = <T>(fn: (t: ReadModelTx) => Promise<T> | T): Promise<T> => inTransaction(begin, fn);

  const migrate = async (ddl: string, withSchema = false) => {
    await transaction(async (tx) => {
      await tx.get('SELECT pg_advisory_xact_lock(hashtext(?)) AS locked', MIGRATE_LOCK);
      if (withSchema) await tx.exec(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await tx.exec(ddl);
    });
  };

  const store: ReadModelStore & { readonly pool: pg.Pool; readonly schema: string } = {
    ...on(pool),
    pool,
    schema,
    location: `${redactUrl(split.url)}${schema === 'public' ? '' : ` (schema ${schema})`}`,
    begin,
    transaction,
    migrate: (ddl) => migrate(ddl),
    close: async () => {
      await pool.end();
    },
  };
  try {
    if (options.create === false) await migrate(BOOKKEEPING_DDL);
    else await migrate(BOOKKEEPING_DDL, true);
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error;
  }
  return store;
}
