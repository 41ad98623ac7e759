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

export function lastAppliedRevision(tx: ReadModelTx, projection: string, streamId: string): number {
  const row = tx.get<{ revision: number }>(
    'SELECT revision FROM projection_revisions WHERE projection = ? AND stream_id = ?',
    projection,
    streamId,
  );
  return row?.revision ?? -1;
}

/**
 * `envelope` is undefined for an event of the stream that is not an order event (unknown type):
 * it still takes its revision, so the events after it are not held back.
 */
export function applyToProjection(
  store: ReadModelStore,
  projection: ProjectionDefinition,
  location: EventLocation,
  envelope: EventEnvelope | undefined,
): ProjectionOutcome {
  return store.transaction((tx) => applyInTransaction(tx, projection, location, envelope));
}

/**
 * The same inside a transaction the caller opened (and rolls back if this throws), so a batch
 * of events can share one commit.
 */
export function applyInTransaction(
  tx: ReadModelTx,
  projection: ProjectionDefinition,
  location: EventLocation,
  envelope: EventEnvelope | undefined,
): ProjectionOutcome {
  // The usual case, the stream's next revision, in one statement.
  const advanced =
    location.revision > 0 &&
    tx.run(
      'UPDATE projection_revisions SET revision = ? WHERE projection = ? AND stream_id = ? AND revision = ?',
      location.revision,
      projection.name,
      location.streamId,
      location.revision - 1,
    ).changes === 1;
  if (!advanced) {
    const last = lastAppliedRevision(tx, projection.name, location.streamId);
    if (location.revision <= last) return 'duplicate';
    if (location.revision > last + 1) throw new OutOfOrderEventError(location.streamId, location.revision, last);
    tx.run(
      `INSERT INTO projection_revisions (projection, stream_id, revision) VALUES (?, ?, ?)
       ON CONFLICT (projection, stream_id) DO UPDATE SET revision = excluded.revision`,
      projection.name,
      location.streamId,
      location.revision,
    );
  }
  const handled = envelope !== undefined && projection.handles.includes(envelope.type);
  if (handled) projection.apply(envelope, tx);
  return handled ? 'applied' : 'skipped';
}

/** Empties a projection's rows and revision records (for a rebuild into this store). */
export function resetProjection(store: ReadModelStore, projection: ProjectionDefinition): void {
  store.migrate(projection.schema);
  store.transaction((tx) => {
    projection.reset(tx);
    tx.run('DELETE FROM projection_revisions WHERE projection = ?', projection.name);
  });
}
