// Swaps a rebuilt projection into the live read-model database in one SQLite transaction:
// readers (other processes, WAL) see the old rows or the new ones, never a mix, and a crash
// mid-swap rolls back to the old. The live projection may be running meanwhile; the swap is
// refused while it has applied an event the rebuild has not, so nothing it did is lost.
import Database from 'better-sqlite3';
import type { ProjectionDefinition } from '../readmodels/projection.js';
import { openReadModelStore } from '../readmodels/read-model-store.js';
import { PROJECTION_MEMBERS_DDL, RECORD_MEMBER_SQL, RECORD_PROJECTION_VERSION_SQL } from '../subscriptions/projection-migration.js';
import { projectionTables } from './projection-tables.js';

export type SwapResult =
  /** member: the projection is among the projections group's members (recorded now, or before). */
  | { kind: 'swapped'; rows: Record<string, number>; member: boolean }
  /** The live projection applied events of `streams` orders past what the rebuild has: catch up and retry. */
  | { kind: 'live-ahead'; streams: number; examples: string[] };

export interface SwapRequest {
  liveFile: string;
  copyFile: string;
  projection: ProjectionDefinition;
  /** Recorded in the live database: where the rebuilt model stops. */
  position: bigint | undefined;
  events: number;
  /** Record the projection among the projections group's members (groupDeliversAfter said it may). */
  member: boolean;
}

/** Records of past replays, next to the projection bookkeeping. */
export const REPLAYS_DDL = `CREATE TABLE IF NOT EXISTS projection_replays (
  projection TEXT PRIMARY KEY,
  replayed_at TEXT NOT NULL,
  position TEXT,
  events INTEGER NOT NULL
) WITHOUT ROWID`;

export async function swapIntoLive(request: SwapRequest): Promise<SwapResult> {
  const { liveFile, copyFile, projection } = request;
  // Creates the live database and its bookkeeping tables if no worker ever has.
  await openReadModelStore({ file: liveFile }).close();
  const db = new Database(liveFile);
  try {
    db.pragma('busy_timeout = 10000');
    db.prepare('ATTACH DATABASE ? AS replay').run(copyFile);
    const tables = projectionTables(projection);
    const swap = db.transaction((): SwapResult => {
      const ahead = db
        .prepare(
          `SELECT live.stream_id AS stream, live.revision AS revision FROM main.projection_revisions AS live
           LEFT JOIN replay.projection_revisions AS rebuilt ON rebuilt.projection = live.projection AND rebuilt.stream_id = live.stream_id
           WHERE live.projection = ? AND live.revision > coalesce(rebuilt.revision, -1)`,
        )
        .all(projection.name) as Array<{ stream: string; revision: number }>;
      if (ahead.length > 0) return { kind: 'live-ahead', streams: ahead.length, examples: ahead.slice(0, 3).map((row) => `${row.stream}@${row.revision}`) };

      // Dropped and re-created from the projection's schema, so a schema change lands too.
      for (const table of tables) db.exec(`DROP TABLE IF EXISTS main."${table}"`);
      db.exec(projection.schema);
      const rows: Record<string, number> = {};
      for (const table of tables) {
        rows[table] = db.prepare(`INSERT INTO main."${table}" SELECT * FROM replay."${table}"`).run().changes;
      }
      db.prepare('DELETE FROM main.projection_revisions WHERE projection = ?').run(projection.name);
      db.prepare('INSERT INTO main.projection_revisions SELECT * FROM replay.projection_revisions WHERE projection = ?').run(projection.name);
      db.exec(REPLAYS_DDL);
      db.prepare(
        `INSERT INTO main.projection_replays (projection, replayed_at, position, events) VALUES (?, ?, ?, ?)
         ON CONFLICT (projection) DO UPDATE SET replayed_at = excluded.replayed_at, position = excluded.position, events = excluded.events`,
      ).run(projection.name, new Date().toISOString(), request.position?.toString() ?? null, request.events);
      // The rows are this version's now: the workers' next start must not empty them again.
      db.exec(PROJECTION_MEMBERS_DDL);
      db.prepare(RECORD_PROJECTION_VERSION_SQL).run(projection.name, projection.version ?? 1);
      // And fed from there by the group: the next start does not read $all again to catch it up.
      if (request.member) db.prepare(RECORD_MEMBER_SQL).run(projection.name, new Date().toISOString(), 'replay');
      const member = db.prepare('SELECT 1 FROM main.projection_group_members WHERE projection = ?').get(projection.name) !== undefined;
      return { kind: 'swapped', rows, member };
    });
    // IMMEDIATE: take the write lock before reading, so no worker commits between check and swap.
    return swap.immediate();
  } finally {
    db.close();
  }
}
