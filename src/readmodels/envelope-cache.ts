// Every handler and projection group receives its own copy of each order event; parsing it
// (JSON, zod, upcasting) once for all of them roughly halves that work during catch-up. Keyed on
// where the event was written, not only its id, so two different events can never share an
// envelope. Handlers and projections only read envelopes, so sharing one is safe.
import type { RecordedEvent } from '@eventstore/db-client';
import { toEventEnvelope, type EventEnvelope } from './event-envelope.js';

export type EnvelopeParser = (recorded: RecordedEvent) => EventEnvelope;

/** Remembers the last `capacity` envelopes (the groups run close together while catching up). */
export function cachedEnvelopes(capacity = 4_096): EnvelopeParser {
  const cache = new Map<string, EventEnvelope>();
  return (recorded) => {
    const key = `${recorded.id}\u0000${recorded.streamId}\u0000${recorded.revision}`;
    let envelope = cache.get(key);
    if (envelope === undefined) {
      envelope = toEventEnvelope(recorded);
      if (cache.size >= capacity) cache.delete(cache.keys().next().value!);
      cache.set(key, envelope);
    }
    return envelope;
  };
}
