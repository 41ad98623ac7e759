// Parked events of each projection. The projections share one persistent subscription group
// (projections-group.ts), so the server's parked stream of that group cannot say which projection
// gave up on an event: an event one projection cannot apply is recorded here, in the read-model
// store, for that projection alone (committed before its event is acked), and the others carry on.
// `orders parked <projection>` lists these; `--replay` applies them again, oldest first.
import type { ReadModelStore, ReadModelTx } from '../readmodels/read-model-store.js';

export const PROJECTION_PARKED_DDL = `
  CREATE TABLE IF NOT EXISTS projection_parked (
    projection TEXT NOT NULL,
    number INTEGER NOT NULL,
    event_id TEXT NOT NULL,
    stream_id TEXT NOT NULL,
    revision INTEGER NOT NULL,
    event_type TEXT NOT NULL,
    commit_position TEXT,
    reason TEXT NOT NULL,
    parked_at TEXT NOT NULL,
    PRIMARY KEY (projection, number),
    UNIQUE (projection, event_id)
  );
  CREATE INDEX IF NOT EXISTS projection_parked_stream ON projection_parked (projection, stream_id);
`;

export interface ProjectionParkedEvent {
  projection: string;
  /** Per projection, in the order the events were parked (what --stop-at compares against). */
  number: number;
  eventId: string;
  streamId: string;
  revision: number;
  eventType: string;
  commitPosition: string | undefined;
  reason: string;
  parkedAt: string;
}

export interface ParkRequest {
  projection: string;
  eventId: string;
  streamId: string;
  revision: number;
  eventType: string;
  commitPosition: bigint | undefined;
  reason: string;
}

/** Records the event as parked for the projection; false when it already was. */
export async function parkForProjection(tx: ReadModelTx, request: ParkRequest, at = new Date()): Promise<boolean> {
  // Two workers parking for one projection at once (PostgreSQL) may pick the same number: the
  // one whose insert changed nothing and whose event is not parked yet takes the next.
  for (let attempt = 0; ; attempt++) {
    const next = (await tx.get<{ next: number }>('SELECT coalesce(max(number), -1) + 1 AS next FROM projection_parked WHERE projection = ?', request.projection))!.next;
    const inserted =
      (
        await tx.run(
          `INSERT INTO projection_parked (projection, number, event_id, stream_id, revision, event_type, commit_position, reason, parked_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
          request.projection,
          next,
          request.eventId,
          request.streamId,
          request.revision,
          request.eventType,
          request.commitPosition?.toString() ?? null,
          request.reason,
          at.toISOString(),
        )
      ).changes === 1;
    if (inserted) return true;
    if (attempt >= 10 || (await isParkedFor(tx, request.projection, request.eventId))) return false;
  }
}

export async function isParkedFor(tx: ReadModelTx, projection: string, eventId: string): Promise<boolean> {
  return (await tx.get('SELECT 1 AS one FROM projection_parked WHERE projection = ? AND event_id = ?', projection, eventId)) !== undefined;
}

/** An event of this stream is parked for the projection: the stream's later events wait behind it. */
export async function hasParkedInStream(tx: ReadModelTx, projection: string, streamId: string): Promise<boolean> {
  return (await tx.get('SELECT 1 AS one FROM projection_parked WHERE projection = ? AND stream_id = ? LIMIT 1', projection, streamId)) !== undefined;
}

export async function listProjectionParked(tx: ReadModelTx, projection: string): Promise<ProjectionParkedEvent[]> {
  const rows = await tx.all<{
    projection: string;
    number: number;
    event_id: string;
    stream_id: string;
    revision: number;
    event_type: string;
    commit_position: string | null;
    reason: string;
    parked_at: string;
  }>('SELECT * FROM projection_parked WHERE projection = ? ORDER BY number', projection);
  return rows.map((row) => ({
    projection: row.projection,
    number: row.number,
    eventId: row.event_id,
    streamId: row.stream_id,
    revision: row.revision,
    eventType: row.event_type,
    commitPosition: row.commit_position ?? undefined,
    reason: row.reason,
    parkedAt: row.parked_at,
  }));
}

export async function removeProjectionParked(tx: ReadModelTx, projection: string, eventId: string): Promise<void> {
  await tx.run('DELETE FROM projection_parked WHERE projection = ? AND event_id = ?', projection, eventId);
}

export async function updateParkedReason(tx: ReadModelTx, projection: string, eventId: string, reason: string): Promise<void> {
  await tx.run('UPDATE projection_parked SET reason = ?, parked_at = ? WHERE projection = ? AND event_id = ?', reason, new Date().toISOString(), projection, eventId);
}

/** Parked count per projection (projections with none are absent). */
export async function projectionParkedCounts(store: ReadModelStore): Promise<Map<string, number>> {
  await ensureParkedTable(store);
  const rows = await store.all<{ projection: string; n: number }>('SELECT projection, count(*) AS n FROM projection_parked GROUP BY projection');
  return new Map(rows.map((row) => [row.projection, row.n]));
}

const parkedTableMade = new WeakSet<object>();

/** The table, made once per store (migrate takes PostgreSQL's schema-change lock: not per call). */
export async function ensureParkedTable(store: ReadModelStore): Promise<void> {
  if (parkedTableMade.has(store)) return;
  await store.migrate(PROJECTION_PARKED_DDL);
  parkedTableMade.add(store);
}
