// The parked events of a persistent subscription group as the server keeps them: the stream
// $persistentsubscription-<source>::<group>-parked, one link per parked event, its metadata
// saying when and why. Read by `orders parked` and by the move of the old per-projection groups'
// parked events into the projections' own (projection-migration.ts).
import { FORWARDS, START, StreamNotFoundError, type EventStoreDBClient, type RecordedEvent } from '@eventstore/db-client';

export interface ParkedEvent {
  /** Number of the parked entry in the parked stream (what --stop-at compares against). */
  parkedNumber: number;
  parkedAt: string | undefined;
  reason: string | undefined;
  stream: string | undefined;
  revision: number | undefined;
  type: string | undefined;
  eventId: string | undefined;
}

export function serverParkedStreamOf(info: { eventSource: string; groupName: string }): string {
  return `$persistentsubscription-${info.eventSource}::${info.groupName}-parked`;
}

export async function readParked(client: EventStoreDBClient, info: { eventSource: string; groupName: string }): Promise<ParkedEvent[]> {
  const parked: ParkedEvent[] = [];
  try {
    for await (const resolved of client.readStream(serverParkedStreamOf(info), { direction: FORWARDS, fromRevision: START, resolveLinkTos: true })) {
      // Resolved, `link` is the parked entry and `event` what it points at (gone if deleted since).
      const entry = resolved.link ?? resolved.event;
      if (!entry) continue;
      const metadata = typeof entry.metadata === 'object' && entry.metadata !== null && !(entry.metadata instanceof Uint8Array) ? (entry.metadata as Record<string, unknown>) : {};
      const points = pointer(entry.data);
      const target = resolved.link ? resolved.event : points && (await readOne(client, points.stream, points.revision));
      parked.push({
        parkedNumber: Number(entry.revision),
        parkedAt: stringOf(metadata.Added ?? metadata.added),
        reason: stringOf(metadata.Reason ?? metadata.reason),
        stream: target?.streamId ?? points?.stream,
        revision: target ? Number(target.revision) : points?.revision,
        type: target?.type,
        eventId: target?.id,
      });
    }
  } catch (err) {
    if (!(err instanceof StreamNotFoundError)) throw err;
  }
  return parked;
}

/** A store that does not resolve links outside its system streams still gets each event shown. */
async function readOne(client: EventStoreDBClient, stream: string, revision: number): Promise<RecordedEvent | undefined> {
  let found: RecordedEvent | undefined;
  try {
    for await (const resolved of client.readStream(stream, { direction: FORWARDS, fromRevision: BigInt(revision), maxCount: 1 })) {
      if (resolved.event?.revision === BigInt(revision)) found = resolved.event;
    }
  } catch (err) {
    if (!(err instanceof StreamNotFoundError)) throw err;
  }
  return found;
}

/** A link's data is `<revision>@<stream>`. */
function pointer(data: unknown): { stream: string; revision: number } | undefined {
  const text = data instanceof Uint8Array ? Buffer.from(data).toString('utf8') : typeof data === 'string' ? data : undefined;
  if (!text) return undefined;
  const at = text.indexOf('@');
  const revision = Number(text.slice(0, at));
  return at > 0 && Number.isSafeInteger(revision) ? { stream: text.slice(at + 1), revision } : undefined;
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}
