// Applies one event to one projection behind the per-order revision guard: the rows and the
// last applied revision of the event's stream commit together, so a redelivered event is a
// no-op and an early one (its predecessor not yet applied) is refused rather than applied wrong.
import type { EventEnvelope, EventLocation } from './event-envelope.js';
import type { ProjectionDefinition } from './projection.js';
import type { ReadModelStore, ReadModelTx } from './read-model-store.js';

export type ProjectionOutcome = 'applied' | 'skipped' | 'duplicate';

/** The event arrived before the one preceding it in its stream was applied. */
export class OutOfOrderEventError extends Error {
  readonly code = 'OUT_OF_ORDER_EVENT';
  constructor(
    readonly streamId: string,
    readonly revision: number,
    readonly lastApplied: number,
  ) {
    super(`${streamId}@${revision} arrived before revision ${lastApplied + 1} was applied`);
    this.name = 'OutOfOrderEventError';
  }
}

export async function lastAppliedRevision(tx: ReadModelTx, projection: string, streamId: string): Promise<number> {
  const row = await tx.get<{ revision: number }>(
    'SELECT revision FROM projection_revisions WHERE projection = ? AND stream_id = ?',
    projection,
    streamId,
  );
  return row?.revision ?? -1;
}

/** The stream's guard moved from `from - 1` to `to` (revisions from..to applied), if it stood at `from - 1`. */
async function advanceGuard(tx: ReadModelTx, projection: ProjectionDefinition, streamId: string, from: number, to: number): Promise<boolean> {
  const result = await tx.run('UPDATE projection_revisions SET revision = ? WHERE projection = ? AND stream_id = ? AND revision = ?', to, projection.name, streamId, from - 1);
  return result.changes === 1;
}

/**
 * `envelope` is undefined for an event of the stream that is not an order event (unknown type):
 * it still takes its revision, so the events after it are not held back.
 */
export function applyToProjection(
  store: ReadModelTx,
  projection: ProjectionDefinition,
  location: EventLocation,
  envelope: EventEnvelope | undefined,
): Promise<ProjectionOutcome> {
  // On a store: a transaction of its own; inside one: a savepoint.
  return store.transaction((tx) => applyInTransaction(tx, projection, location, envelope));
}

/**
 * The same inside a transaction the caller opened (and rolls back if this throws), so a batch
 * of events can share one commit.
 */
export async function applyInTransaction(
  tx: ReadModelTx,
  projection: ProjectionDefinition,
  location: EventLocation,
  envelope: EventEnvelope | undefined,
): Promise<ProjectionOutcome> {
  // The usual case, the stream's next revision, in one statement.
  const advanced = location.revision > 0 && (await advanceGuard(tx, projection, location.streamId, location.revision, location.revision));
  if (!advanced) {
    // A stream's first revision has no predecessor to look up: the INSERT below decides (a record
    // already there makes it change nothing, and the look-up after it finds the duplicate).
    const last = location.revision === 0 ? -1 : await lastAppliedRevision(tx, projection.name, location.streamId);
    if (location.revision <= last) return 'duplicate';
    if (location.revision > last + 1) throw new OutOfOrderEventError(location.streamId, location.revision, last);
    // The first revision of the stream (or the record a rebuild left behind one short). Another
    // worker applying the same event at the same moment (PostgreSQL, several hosts) makes this
    // change nothing once its transaction commits: then this one is the duplicate.
    const recorded = await tx.run(
      `INSERT INTO projection_revisions (projection, stream_id, revision) VALUES (?, ?, ?)
       ON CONFLICT (projection, stream_id) DO UPDATE SET revision = excluded.revision
       WHERE projection_revisions.revision = excluded.revision - 1`,
      projection.name,
      location.streamId,
      location.revision,
    );
    if (recorded.changes !== 1) {
      const now = await lastAppliedRevision(tx, projection.name, location.streamId);
      if (location.revision <= now) return 'duplicate';
      throw new OutOfOrderEventError(location.streamId, location.revision, now);
    }
  }
  return applyEffects(tx, projection, envelope);
}

/** The event's rows, once its guard let it through. */
async function applyEffects(tx: ReadModelTx, projection: ProjectionDefinition, envelope: EventEnvelope | undefined): Promise<ProjectionOutcome> {
  const handled = envelope !== undefined && projection.handles.includes(envelope.type);
  if (handled) await projection.apply(envelope, tx);
  return handled ? 'applied' : 'skipped';
}

export interface BatchItem {
  location: EventLocation;
  envelope: EventEnvelope | undefined;
}

/**
 * A batch of events applied to one projection inside a transaction the caller opened, each
 * behind its stream's revision guard, in order; throws (OutOfOrderEventError, or what apply
 * threw) and the caller rolls the batch back.
 *
 * SQLite: run by run, a run being consecutive revisions of one stream next to each other in the
 * batch (an append's events are): its guard advanced from the run's first to its last in one
 * statement, or, when that finds the stream elsewhere (a duplicate, an early event), event by
 * event (a statement there costs no round trip; the runs took the guards from 8.3 statements a
 * command of the `npm start` load to ~4). PostgreSQL: the guards of
 * every stream of the batch are read and locked in one statement (a row per stream, made at -1
 * when new, in one sorted order so two workers' batches cannot deadlock), checked here, and
 * written back in one statement after the effects, which go out pipelined (tx.write). Another
 * worker applying the same events waits on those rows until this commits, then finds them
 * applied: duplicates, as event by event.
 */
export async function applyBatchInTransaction(tx: ReadModelTx, projection: ProjectionDefinition, items: readonly BatchItem[]): Promise<ProjectionOutcome[]> {
  const outcomes: ProjectionOutcome[] = [];
  if (tx.dialect === 'sqlite' || items.length === 1) {
    for (let start = 0; start < items.length; ) {
      const first = items[start]!.location;
      let end = start + 1;
      while (end < items.length && items[end]!.location.streamId === first.streamId && items[end]!.location.revision === items[end - 1]!.location.revision + 1) end++;
      const advanced = end - start > 1 && first.revision > 0 && (await advanceGuard(tx, projection, first.streamId, first.revision, items[end - 1]!.location.revision));
      for (let index = start; index < end; index++) {
        const { location, envelope } = items[index]!;
        outcomes.push(advanced ? await applyEffects(tx, projection, envelope) : await applyInTransaction(tx, projection, location, envelope));
      }
      start = end;
    }
    return outcomes;
  }
  const streams = [...new Set(items.map((item) => item.location.streamId))].sort();
  const guards = await tx.all<{ stream_id: string; revision: number }>(
    `INSERT INTO projection_revisions (projection, stream_id, revision) SELECT ?, stream_id, -1 FROM unnest(CAST(? AS TEXT[])) AS s(stream_id)
     ON CONFLICT (projection, stream_id) DO UPDATE SET revision = projection_revisions.revision
     RETURNING stream_id, revision`,
    projection.name,
    streams,
  );
  const last = new Map(guards.map((guard) => [guard.stream_id, Number(guard.revision)]));
  const advanced = new Set<string>();
  for (const { location, envelope } of items) {
    const before = last.get(location.streamId) ?? -1;
    if (location.revision <= before) {
      outcomes.push('duplicate');
      continue;
    }
    if (location.revision > before + 1) throw new OutOfOrderEventError(location.streamId, location.revision, before);
    last.set(location.streamId, location.revision);
    advanced.add(location.streamId);
    const handled = envelope !== undefined && projection.handles.includes(envelope.type);
    if (handled) await projection.apply(envelope, tx);
    outcomes.push(handled ? 'applied' : 'skipped');
  }
  if (advanced.size > 0) {
    const ids = [...advanced];
    // An upsert on rows this transaction holds: each found through the key (an UPDATE ... FROM
    // the arrays was planned as a join, and took 16 ms a batch over a large table).
    await tx.write(
      `INSERT INTO projection_revisions (projection, stream_id, revision) SELECT ?, stream_id, revision FROM unnest(CAST(? AS TEXT[]), CAST(? AS BIGINT[])) AS v(stream_id, revision)
       ON CONFLICT (projection, stream_id) DO UPDATE SET revision = excluded.revision`,
      projection.name,
      ids,
      ids.map((id) => last.get(id)!),
    );
  }
  return outcomes;
}

/** Empties a projection's rows and revision records (for a rebuild into this store). */
export async function resetProjection(store: ReadModelStore, projection: ProjectionDefinition): Promise<void> {
  await store.migrate(projection.schema);
  await store.transaction(async (tx) => {
    await projection.reset(tx);
    await tx.run('DELETE FROM projection_revisions WHERE projection = ?', projection.name);
  });
}
