// Every handler and projection group receives its own copy of each order event; parsing it
// (JSON, zod, upcasting) once for all of them roughly halves that work during catch-up. Keyed on
// where the event was written, not only its id, so two different events can never share an
// envelope. Handlers and projections only read envelopes, so sharing one is safe.
//
// Bounded by size as well as by count (issue #11): 4,096 envelopes of ~56 KB orders (200 lines)
// are ~450 MB of parsed objects, and after a burst of them the cache kept the last ones for good
// (a heap snapshot of the service 14 min after the overload bench: 129,000 order lines of 645
// orders, 46 MB of strings, all held here).
import type { RecordedEvent } from '@eventstore/db-client';
import { toEventEnvelope, type EventEnvelope } from './event-envelope.js';

export type EnvelopeParser = (recorded: RecordedEvent) => EventEnvelope;

/** Approximate size of what the cache keeps of an event: its data's strings and values. */
const MAX_BYTES = 4 * 1024 * 1024;

/**
 * Remembers the last `capacity` envelopes, and fewer where their data adds up to more than
 * `maxBytes` (the groups run close together while catching up). `onParsed` sees each envelope
 * once, when it is parsed.
 */
export function cachedEnvelopes(capacity = 4_096, maxBytes = MAX_BYTES, onParsed?: (envelope: EventEnvelope) => void): EnvelopeParser {
  const cache = new Map<string, { envelope: EventEnvelope; bytes: number }>();
  let bytes = 0;
  return (recorded) => {
    const key = `${recorded.id}\u0000${recorded.streamId}\u0000${recorded.revision}`;
    const cached = cache.get(key);
    if (cached !== undefined) return cached.envelope;
    const envelope = toEventEnvelope(recorded);
    onParsed?.(envelope);
    const size = approximateBytes(recorded.data);
    cache.set(key, { envelope, bytes: size });
    bytes += size;
    // The newest always stays, however large: the other groups ask for it next.
    while (cache.size > 1 && (cache.size > capacity || bytes > maxBytes)) {
      const [oldest, entry] = cache.entries().next().value!;
      cache.delete(oldest);
      bytes -= entry.bytes;
    }
    return envelope;
  };
}

/** Bytes of an event's data as parsed, roughly: string lengths plus a word per value. */
function approximateBytes(data: unknown): number {
  let bytes = 0;
  const pending: unknown[] = [data];
  while (pending.length > 0) {
    const value = pending.pop();
    bytes += 8;
    if (typeof value === 'string') bytes += value.length;
    else if (value instanceof Uint8Array) bytes += value.byteLength;
    else if (Array.isArray(value)) pending.push(...(value as unknown[]));
    else if (typeof value === 'object' && value !== null) {
      for (const [name, field] of Object.entries(value)) {
        bytes += name.length;
        pending.push(field);
      }
    }
  }
  return bytes;
}
