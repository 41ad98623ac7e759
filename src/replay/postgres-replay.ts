// `orders replay` on PostgreSQL: the copy is built in a schema of its own next to the live one,
// then its tables are moved into the live schema in one transaction (ALTER TABLE ... SET SCHEMA:
// no rows copied), compared with the live ones (dry run), or the whole schema is renamed to the
// `--until` output. A running replay holds a session advisory lock named after its scratch
// schema; one whose lock is free belongs to a replay that died (on any host) and is dropped.
import pg from 'pg';
import type { ProjectionDefinition } from '../readmodels/projection.js';
import { assertIdentifier } from '../readmodels/postgres-dialect.js';
import { openPostgresReadModelStore, splitSchema } from '../readmodels/postgres-store.js';
import { redactUrl, type ReadModelStore } from '../readmodels/read-model-store.js';
import type { TableComparison } from './compare.js';
import { projectionTables } from './projection-tables.js';
import { REPLAYS_DDL, type SwapResult } from './swap.js';
import { PROJECTION_MEMBERS_DDL, RECORD_MEMBER_SQL, RECORD_PROJECTION_VERSION_SQL } from '../subscriptions/projection-migration.js';

const slug = (name: string) => name.replace(/[^a-z0-9]+/g, '_');

export function scratchSchemaPrefix(liveSchema: string, projection: string): string {
  return `${liveSchema}__rebuild_${slug(projection)}_`;
}

/** The schema `--until` writes to unless --out names one. */
export function untilSchemaFor(liveSchema: string, projection: string, label: string): string {
  return assertIdentifier(`${liveSchema}__until_${slug(projection)}_${label.toLowerCase().replace(/[^a-z0-9]+/g, '_')}`.slice(0, 63).replace(/_+$/, ''));
}

export interface ScratchSchema {
  /** The live schema's store; undefined when opened without it (`--until` never touches the live schema). */
  live: (ReadModelStore & { schema: string }) | undefined;
  liveSchema: string;
  /** The live read models, as the summary names them. */
  liveLocation: string;
  scratch: ReadModelStore & { schema: string };
  /** The session holding the replay's advisory lock (and running the schema statements). */
  holder: pg.Client;
  /** Drops the scratch schema (unless it was renamed) and releases the lock. */
  dispose(): Promise<void>;
  /** The scratch schema became the --until output: dispose() leaves it. */
  markRenamed(): void;
}

/**
 * Opens the live schema and a fresh scratch schema for a rebuild, dropping abandoned ones. With
 * `live: false` the live schema is not opened (opening it sets up its bookkeeping tables, a write
 * a `--until` replay must not make, as it never creates the SQLite file).
 */
export async function openScratchSchema(url: string, projection: string, options: { live?: boolean } = {}): Promise<ScratchSchema> {
  const split = splitSchema(url);
  const liveSchema = split.schema;
  const live = options.live === false ? undefined : await openPostgresReadModelStore({ url, poolSize: 2 });
  const prefix = scratchSchemaPrefix(liveSchema, projection);
  const name = assertIdentifier(`${prefix}${process.pid}_${Math.random().toString(36).slice(2, 8)}`.slice(0, 63));
  // The lock lives as long as this session: the mark of a replay still running.
  const holder = new pg.Client({ connectionString: split.url });
  holder.on('error', () => undefined);
  await holder.connect();
  try {
    await holder.query('SELECT pg_advisory_lock(hashtext($1))', [name]);
    const found = await holder.query<{ nspname: string }>("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1)", [prefix]);
    for (const { nspname } of found.rows) {
      if (nspname === name) continue;
      const free = await holder.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [nspname]);
      if (!free.rows[0]?.locked) continue;
      await holder.query(`DROP SCHEMA IF EXISTS ${assertIdentifier(nspname)} CASCADE`);
      await holder.query('SELECT pg_advisory_unlock(hashtext($1))', [nspname]);
    }
  } catch (error) {
    await holder.end().catch(() => undefined);
    await live?.close();
    throw error;
  }
  const scratch = await openPostgresReadModelStore({ url, schema: name, poolSize: 2 });
  let renamed = false;
  return {
    live,
    liveSchema,
    liveLocation: `${redactUrl(split.url)}${liveSchema === 'public' ? '' : ` (schema ${liveSchema})`}`,
    scratch,
    holder,
    async dispose() {
      await scratch.close().catch(() => undefined);
      try {
        if (!renamed) await holder.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
      } finally {
        await live?.close().catch(() => undefined);
        await holder.end().catch(() => undefined);
      }
    },
    markRenamed() {
      renamed = true;
    },
  };
}

/** Swaps the rebuilt tables into the live schema in one transaction (see swap.ts for the rules). */
export async function swapSchemaIntoLive(
  handle: ScratchSchema,
  projection: ProjectionDefinition,
  record: { position: bigint | undefined; events: number; member: boolean },
): Promise<SwapResult> {
  const { scratch } = handle;
  const live = liveOf(handle);
  const tables = projectionTables(projection);
  return live.transaction(async (tx): Promise<SwapResult> => {
    // Workers' writes of revisions wait until the swap commits; reads go on.
    await tx.exec('LOCK TABLE projection_revisions IN EXCLUSIVE MODE');
    const ahead = await tx.all<{ stream: string; revision: number }>(
      `SELECT live.stream_id AS stream, live.revision AS revision FROM ${live.schema}.projection_revisions AS live
       LEFT JOIN ${scratch.schema}.projection_revisions AS rebuilt ON rebuilt.projection = live.projection AND rebuilt.stream_id = live.stream_id
       WHERE live.projection = ? AND live.revision > coalesce(rebuilt.revision, -1)`,
      projection.name,
    );
    if (ahead.length > 0) return { kind: 'live-ahead', streams: ahead.length, examples: ahead.slice(0, 3).map((row) => `${row.stream}@${row.revision}`) };
    const rows: Record<string, number> = {};
    for (const table of tables) {
      rows[table] = (await tx.get<{ n: number }>(`SELECT count(*) AS n FROM ${scratch.schema}."${table}"`))?.n ?? 0;
      await tx.exec(`DROP TABLE IF EXISTS ${live.schema}."${table}" CASCADE`);
      await tx.exec(`ALTER TABLE ${scratch.schema}."${table}" SET SCHEMA ${live.schema}`);
    }
    await tx.run('DELETE FROM projection_revisions WHERE projection = ?', projection.name);
    await tx.run(`INSERT INTO projection_revisions SELECT * FROM ${scratch.schema}.projection_revisions WHERE projection = ?`, projection.name);
    await tx.exec(REPLAYS_DDL);
    await tx.run(
      `INSERT INTO projection_replays (projection, replayed_at, position, events) VALUES (?, ?, ?, ?)
       ON CONFLICT (projection) DO UPDATE SET replayed_at = excluded.replayed_at, position = excluded.position, events = excluded.events`,
      projection.name,
      new Date().toISOString(),
      record.position?.toString() ?? null,
      record.events,
    );
    // The rows are this version's now: the workers' next start must not empty them again.
    await tx.exec(PROJECTION_MEMBERS_DDL);
    await tx.run(RECORD_PROJECTION_VERSION_SQL, projection.name, projection.version ?? 1);
    // And fed from there by the group: the next start does not read $all again to catch it up.
    if (record.member) await tx.run(RECORD_MEMBER_SQL, projection.name, new Date().toISOString(), 'replay');
    const member = (await tx.get('SELECT 1 AS one FROM projection_group_members WHERE projection = ?', projection.name)) !== undefined;
    return { kind: 'swapped', rows, member };
  });
}

/** The dry run's comparison, schema against schema. */
export async function compareSchemaWithLive(handle: ScratchSchema, projection: ProjectionDefinition): Promise<TableComparison[]> {
  const { scratch } = handle;
  const live = liveOf(handle);
  const count = async (sql: string) => (await live.get<{ n: number }>(sql))?.n ?? 0;
  const results: TableComparison[] = [];
  for (const table of projectionTables(projection)) {
    const rebuiltRows = await count(`SELECT count(*) AS n FROM ${scratch.schema}."${table}"`);
    const liveHas = (await live.get('SELECT 1 AS one FROM information_schema.tables WHERE table_schema = ? AND table_name = ?', live.schema, table)) !== undefined;
    if (!liveHas) {
      results.push({ table, liveRows: 0, rebuiltRows, onlyLive: 0, onlyRebuilt: rebuiltRows });
      continue;
    }
    const liveRows = await count(`SELECT count(*) AS n FROM ${live.schema}."${table}"`);
    try {
      const onlyLive = await count(`SELECT count(*) AS n FROM (SELECT * FROM ${live.schema}."${table}" EXCEPT SELECT * FROM ${scratch.schema}."${table}") AS only_live`);
      const onlyRebuilt = await count(`SELECT count(*) AS n FROM (SELECT * FROM ${scratch.schema}."${table}" EXCEPT SELECT * FROM ${live.schema}."${table}") AS only_rebuilt`);
      results.push({ table, liveRows, rebuiltRows, onlyLive, onlyRebuilt });
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      results.push({ table, liveRows, rebuiltRows, onlyLive: liveRows, onlyRebuilt: rebuiltRows, note: `not comparable row by row (${reason})` });
    }
  }
  return results;
}

/** `--until`: the scratch schema becomes the output schema (an older one of that name is replaced). */
export async function renameScratch(handle: ScratchSchema, outSchema: string): Promise<void> {
  assertIdentifier(outSchema);
  if (outSchema === handle.liveSchema) throw new Error(`--out names the live schema '${outSchema}': --until never writes there`);
  await handle.scratch.close();
  const { holder } = handle;
  await holder.query('BEGIN');
  try {
    await holder.query(`DROP SCHEMA IF EXISTS ${outSchema} CASCADE`);
    await holder.query(`ALTER SCHEMA ${handle.scratch.schema} RENAME TO ${outSchema}`);
    await holder.query('COMMIT');
  } catch (error) {
    await holder.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
  handle.markRenamed();
}

function liveOf(handle: ScratchSchema): ReadModelStore & { schema: string } {
  if (!handle.live) throw new Error('the scratch schema was opened without the live one');
  return handle.live;
}
