// Hands a projection's parked events back to it (`orders parked <projection> --replay`): each is
// read again from the store and applied, oldest parked first, behind the same revision guard as
// live processing (each order's in revision order), with its parked record removed in the same
// transaction. One that still fails
// stays parked with the new reason; the events parked behind it (same order) then stay too.
import { FORWARDS, StreamNotFoundError, type EventStoreDBClient, type RecordedEvent } from '@eventstore/db-client';
import { isOrderEventType } from '../orders/events.js';
import { applyInTransaction } from '../readmodels/apply-projection.js';
import { locationOf, toEventEnvelope } from '../readmodels/event-envelope.js';
import type { ProjectionDefinition } from '../readmodels/projection.js';
import type { ReadModelStore } from '../readmodels/read-model-store.js';
import { errorMessage } from './errors.js';
import { PROJECTION_PARKED_DDL, listProjectionParked, removeProjectionParked, updateParkedReason, type ProjectionParkedEvent } from './projection-parking.js';

export interface ParkedReplayResult {
  /** Applied (or found already applied): no longer parked. */
  replayed: ProjectionParkedEvent[];
  /** Still parked, with why. */
  stillParked: Array<ProjectionParkedEvent & { failure: string }>;
  /** The event is gone from the store (its stream deleted or truncated): the record is removed. */
  gone: ProjectionParkedEvent[];
}

export async function replayProjectionParked(
  client: EventStoreDBClient,
  store: ReadModelStore,
  projection: ProjectionDefinition,
  stopAt: number | undefined,
): Promise<ParkedReplayResult> {
  await store.migrate(PROJECTION_PARKED_DDL);
  await store.migrate(projection.schema);
  // Chosen by number (the order they were parked in), applied in stream order: a retried event
  // may have been parked after the early ones that waited behind it.
  const byStream = new Map<string, ProjectionParkedEvent[]>();
  for (const entry of await listProjectionParked(store, projection.name)) {
    if (stopAt !== undefined && entry.number >= stopAt) continue;
    const entries = byStream.get(entry.streamId);
    if (entries) entries.push(entry);
    else byStream.set(entry.streamId, [entry]);
  }
  const chosen = [...byStream.values()].flatMap((entries) => entries.sort((a, b) => a.revision - b.revision));
  const result: ParkedReplayResult = { replayed: [], stillParked: [], gone: [] };
  for (const entry of chosen) {
    const recorded = await readOne(client, entry.streamId, entry.revision);
    if (!recorded || recorded.id !== entry.eventId) {
      await removeProjectionParked(store, projection.name, entry.eventId);
      result.gone.push(entry);
      continue;
    }
    try {
      await store.transaction(async (tx) => {
        const envelope = isOrderEventType(recorded.type) && projection.handles.includes(recorded.type) ? toEventEnvelope(recorded) : undefined;
        await applyInTransaction(tx, projection, locationOf(recorded), envelope);
        await removeProjectionParked(tx, projection.name, entry.eventId);
      });
      result.replayed.push(entry);
    } catch (error) {
      const failure = errorMessage(error);
      await updateParkedReason(store, projection.name, entry.eventId, `replayed, failed again: ${failure}`);
      result.stillParked.push({ ...entry, failure });
    }
  }
  return result;
}

async function readOne(client: EventStoreDBClient, stream: string, revision: number): Promise<RecordedEvent | undefined> {
  let found: RecordedEvent | undefined;
  try {
    // Read to its end (one event): a read left early can keep the client's dispose() pending.
    for await (const resolved of client.readStream(stream, { direction: FORWARDS, fromRevision: BigInt(revision), maxCount: 1 })) {
      if (resolved.event?.revision === BigInt(revision)) found = resolved.event;
    }
  } catch (error) {
    if (!(error instanceof StreamNotFoundError)) throw error;
  }
  return found;
}
