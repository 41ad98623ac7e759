// The read models on PostgreSQL (READ_MODEL_URL=postgres://user:pass@host/db[?schema=name]): a
// `pg` pool, named prepared statements, `?` placeholders numbered for the server. Every table
// lives in one schema (default `public`, or `?schema=`), set as the search_path of each
// connection, so a replay can build into a schema of its own and swap tables across.
import pg from 'pg';
import { BOOKKEEPING_DDL, inTransaction, redactUrl, type OpenTransaction, type ReadModelStore, type ReadModelTx, type RunResult, type SqlParams } from './read-model-store.js';
import { assertIdentifier, numberPlaceholders, postgresDdl } from './postgres-dialect.js';
import { CombinedInserts } from './combined-inserts.js';

export interface PostgresStoreOptions {
  url: string;
  /** Overrides `?schema=` of the URL (replays build into a schema of their own). */
  schema?: string;
  poolSize?: number;
  /** Creates the schema when missing (default true). */
  create?: boolean;
}

/** Whole numbers come back as numbers (COUNT and SUM give int8 and numeric, which pg leaves as strings). */
const wholeNumber = (value: string) => (value === null ? null : Number(value));
const types = {
  // Asked for each column of each answer (pg describes every execution): one parser, not a new closure each time.
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20 || oid === 1700) return wholeNumber;
    return pg.types.getTypeParser(oid, format as 'text');
  },
} as unknown as pg.CustomTypesConfig;

/** The advisory lock every schema change takes, so processes starting together do not collide. */
const MIGRATE_LOCK = 'order-store:read-model-ddl';

export interface PostgresReadModelStore extends ReadModelStore {
  readonly pool: pg.Pool;
  readonly schema: string;
  /** Statements sent, and the times a caller waited for answers (round trips on its path). */
  readonly counts: { statements: number; waits: number };
}

export function splitSchema(url: string): { url: string; schema: string } {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema') ?? 'public';
  parsed.searchParams.delete('schema');
  return { url: parsed.toString(), schema: assertIdentifier(schema) };
}

export async function openPostgresReadModelStore(options: PostgresStoreOptions): Promise<PostgresReadModelStore> {
  const split = splitSchema(options.url);
  const schema = assertIdentifier(options.schema ?? split.schema);
  const pool = new pg.Pool({
    connectionString: split.url,
    max: options.poolSize ?? 10,
    // Every execution planned for its values (the statements stay prepared: parsed once). A
    // generic plan is made once and kept for the connection's life; made while a projection's
    // tables were still empty (a fresh deployment, a catch-up) it can pick any index that
    // starts with tenant_id: the order-summary UPDATE by (tenant_id, order_id) went through
    // order_summary_by_status and scanned every order of the tenant (1.4 ms each, not 0.05).
    options: `-c search_path=${schema} -c plan_cache_mode=force_custom_plan`,
    types,
    connectionTimeoutMillis: 10_000,
    application_name: 'order-store',
    // Statements go out without waiting for the answer to the one before (writes of a batch).
    pipeline: true,
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
  const counts = { statements: 0, waits: 0 };
  type Queryable = pg.Pool | pg.PoolClient;
  const query = (on: Queryable, sql: string, params: SqlParams) => {
    counts.statements++;
    return on.query(prepared(sql, params));
  };
  const exec = async (on: Queryable, sql: string) => {
    counts.statements++;
    await on.query(postgresDdl(sql));
  };

  /**
   * A checked-out connection's statements sent but not yet waited for (writes, SAVEPOINT,
   * RELEASE): the pool's connections pipeline (pg's `pipeline`), so each goes out at once behind
   * the one before, and the next statement waited for settles them all first.
   */
  interface Open {
    open: boolean;
    pending: Array<Promise<unknown>>;
    /** Statements that may have written (run, write, exec). */
    writes: number;
    /** One-row inserts written and not sent yet (combined-inserts.ts). */
    inserts: CombinedInserts;
  }
  const defer = (state: Open, sent: Promise<unknown>) => {
    sent.catch(() => undefined);
    state.pending.push(sent);
  };
  /** Waits for what is pending and then `last`; the first failure (in the order sent) is thrown. */
  const settle = async <T>(state: Open, last: Promise<T>): Promise<T> => {
    counts.waits++;
    if (state.pending.length === 0) return await last;
    const waits = state.pending;
    state.pending = [];
    waits.push(last);
    const results = await Promise.allSettled(waits);
    const failed = results.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    return (results[results.length - 1] as PromiseFulfilledResult<T>).value;
  };
  /** Waits for what was sent, whatever it answers (before a rollback). */
  const drain = async (state: Open) => {
    const waits = state.pending;
    state.pending = [];
    await Promise.allSettled(waits);
  };

  /** Sends the held inserts of the tables `sql` names (all when undefined), before `sql` goes out. */
  const sendHeld = (client: pg.PoolClient, state: Open, sql?: string) => {
    for (const statement of state.inserts.take(sql)) {
      if (statement.single !== undefined) defer(state, query(client, statement.single, statement.params));
      else {
        counts.statements++;
        defer(state, client.query({ text: statement.text, values: statement.params.map((value) => (value === undefined ? null : value)) }));
      }
    }
  };

  let savepoints = 0;
  const onPool = (): ReadModelTx => ({
    dialect: 'postgres',
    run: async (sql, ...params): Promise<RunResult> => ({ changes: (await query(pool, sql, params)).rowCount ?? 0 }),
    get: async <T>(sql: string, ...params: SqlParams) => (await query(pool, sql, params)).rows[0] as T | undefined,
    all: async <T>(sql: string, ...params: SqlParams) => (await query(pool, sql, params)).rows as T[],
    write: async (sql, ...params) => void (await query(pool, sql, params)),
    exec: (sql) => exec(pool, sql),
    transaction: (fn) => store.transaction(fn),
  });
  const onClient = (client: pg.PoolClient, state: Open): ReadModelTx => {
    const check = () => {
      if (!state.open) throw new Error('the read-model transaction is already committed or rolled back');
    };
    const tx: ReadModelTx = {
      dialect: 'postgres',
      // A statement whose answer is read may read any table: every held insert goes first.
      run: async (sql, ...params): Promise<RunResult> => (check(), sendHeld(client, state), state.writes++, { changes: (await settle(state, query(client, sql, params))).rowCount ?? 0 }),
      get: async <T>(sql: string, ...params: SqlParams) => (check(), sendHeld(client, state), (await settle(state, query(client, sql, params))).rows[0] as T | undefined),
      all: async <T>(sql: string, ...params: SqlParams) => (check(), sendHeld(client, state), (await settle(state, query(client, sql, params))).rows as T[]),
      write: async (sql, ...params) => {
        check();
        state.writes++;
        if (state.inserts.hold(sql, params)) return;
        sendHeld(client, state, sql);
        defer(state, query(client, sql, params));
      },
      exec: async (sql) => (check(), sendHeld(client, state), settle(state, exec(client, sql))),
      transaction: async <T>(fn: (t: ReadModelTx) => Promise<T> | T): Promise<T> => {
        check();
        const name = `sp${++savepoints}`;
        sendHeld(client, state);
        defer(state, client.query(`SAVEPOINT ${name}`));
        try {
          const result = await fn(tx);
          // What the savepoint's writes did is known before it is released: their error is its.
          sendHeld(client, state);
          await settle(state, client.query(`RELEASE SAVEPOINT ${name}`));
          return result;
        } catch (error) {
          // Held since the savepoint began (it sent what was held before): rolled back with it.
          state.inserts.discard();
          await drain(state);
          await client.query(`ROLLBACK TO SAVEPOINT ${name}`);
          await client.query(`RELEASE SAVEPOINT ${name}`);
          throw error;
        }
      },
    };
    return tx;
  };

  // Statistics for tables that grow from empty: until autovacuum first analyzes them (it looks
  // once a minute) the planner has none, and plans by guesses: a customer's orders joined to
  // their summaries went through the tenant's whole summary index for each order (31 ms, 0.5 ms
  // once analyzed). So this process analyzes its schema's tables after its first 500 committed
  // writes, then after 4x as many each time (a handful of times in all; autovacuum does the rest).
  let written = 0;
  let analyzeAt = 500;
  const committed = (writes: number) => {
    written += writes;
    if (written < analyzeAt) return;
    analyzeAt = written * 4;
    void (async () => {
      const tables = await pool.query<{ name: string }>('SELECT quote_ident(tablename) AS name FROM pg_tables WHERE schemaname = current_schema()');
      if (tables.rows.length > 0) await pool.query(`ANALYZE ${tables.rows.map((row) => row.name).join(', ')}`);
    })().catch(() => undefined);
  };

  const begin = async (mode: 'write' | 'snapshot' = 'write'): Promise<OpenTransaction> => {
    const client = await pool.connect();
    try {
      await client.query(mode === 'snapshot' ? 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY' : 'BEGIN');
    } catch (error) {
      client.release(error as Error);
      throw error;
    }
    const state: Open = { open: true, pending: [], writes: 0, inserts: new CombinedInserts() };
    const end = async (sql: 'COMMIT' | 'ROLLBACK') => {
      if (!state.open) return;
      state.open = false;
      try {
        // A write that failed left the transaction aborted, and COMMIT then rolls back without
        // an error of its own: the write's error is the commit's.
        if (sql === 'COMMIT') {
          sendHeld(client, state);
          await settle(state, client.query(sql));
          committed(state.writes);
        }
        else {
          state.inserts.discard();
          await drain(state);
          await client.query(sql);
        }
        client.release();
      } catch (error) {
        // A connection that failed mid-transaction is not reused.
        client.release(error as Error);
        if (sql === 'COMMIT') throw error;
      }
    };
    return { ...onClient(client, state), commit: () => end('COMMIT'), rollback: () => end('ROLLBACK') };
  };

  const transaction = <T>(fn: (t: ReadModelTx) => Promise<T> | T): Promise<T> => inTransaction(begin, fn);
  const snapshot = <T>(fn: (t: ReadModelTx) => Promise<T> | T): Promise<T> => inTransaction(() => begin('snapshot'), fn);

  const migrate = async (ddl: string, withSchema = false) => {
    await transaction(async (tx) => {
      await tx.get('SELECT pg_advisory_xact_lock(hashtext(?)) AS locked', MIGRATE_LOCK);
      if (withSchema) await tx.exec(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await tx.exec(ddl);
    });
  };

  const store: PostgresReadModelStore = {
    ...onPool(),
    pool,
    counts,
    schema,
    location: `${redactUrl(split.url)}${schema === 'public' ? '' : ` (schema ${schema})`}`,
    begin: () => begin(),
    transaction,
    snapshot,
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
