// Parked messages, as EventStoreDB keeps them: link events (`$>`, data `<revision>@<stream>`) in
// `$persistentsubscription-<stream>::<group>-parked`, metadata saying when and why. Replaying
// hands them back and then truncates the stream ($tb) past what was replayed.
import { randomUUID } from 'node:crypto';
import { parseStreamMetadata } from '../log/stream-metadata.js';
import { LINK_EVENT_TYPE, METADATA_EVENT_TYPE, metadataStreamOf } from '../log/system-streams.js';
import type { EventLog, RecordedEvent, ResolvedEvent } from '../log/types.js';

const EMPTY = new Uint8Array(0);

/** `id`: the parked event's id, the same on every retry, so a retry after an unclear failure parks it once. */
export async function parkMessage(log: EventLog, parkedStream: string, event: ResolvedEvent, key: number, reason: string, id: string = randomUUID()): Promise<number> {
  const target = event.event;
  const data = target ? `${target.revision}@${target.stream}` : Buffer.from(event.link?.data ?? EMPTY).toString('utf8');
  const metadata = JSON.stringify({ Added: new Date().toISOString(), Reason: reason, SubscriptionEventNumber: key });
  const result = await log.append(parkedStream, 'any', [
    { id, type: LINK_EVENT_TYPE, contentType: 'application/octet-stream', data: Buffer.from(data), metadata: Buffer.from(metadata) },
  ]);
  if (result.kind !== 'success') throw new Error(`could not park a message in ${parkedStream}`);
  return result.nextRevision;
}

/** First revision still parked (what earlier replays truncated away is gone). */
export function parkedTruncateBefore(log: EventLog, parkedStream: string): number {
  const meta = log.readStream(metadataStreamOf(parkedStream), { from: 'end', direction: 'backwards', maxCount: 1, resolveLinkTos: false });
  if (meta.kind !== 'ok') return 0;
  const event = meta.events[0]?.event;
  if (!event || event.type !== METADATA_EVENT_TYPE) return 0;
  return parseStreamMetadata(event.data).truncateBefore ?? 0;
}

export function parkedMessageCount(log: EventLog, parkedStream: string): number {
  const last = log.streamRevision(parkedStream);
  if (last === undefined) return 0;
  return Math.max(0, last - parkedTruncateBefore(log, parkedStream) + 1);
}

export interface ParkedBatch {
  /** Parked events resolved to what they point at; the link is the parked event itself. */
  events: ResolvedEvent[];
  /** Revision in the parked stream to read next. */
  next: number;
}

export function readParked(log: EventLog, parkedStream: string, from: number, stopAt: number, maxCount: number): ParkedBatch {
  const count = Math.min(maxCount, stopAt - from);
  if (count <= 0) return { events: [], next: from };
  const result = log.readStream(parkedStream, { from, direction: 'forwards', maxCount: count, resolveLinkTos: false });
  if (result.kind !== 'ok' || result.events.length === 0) return { events: [], next: stopAt };
  const events: ResolvedEvent[] = [];
  let next = from;
  for (const { event: link } of result.events) {
    if (!link || link.revision >= stopAt) break;
    next = link.revision + 1;
    const target = resolveLink(log, link);
    if (target) events.push({ event: target, link, position: target.position });
  }
  return { events, next: result.events.length < count ? stopAt : next };
}

export async function markReplayed(log: EventLog, parkedStream: string, truncateBefore: number, id: string = randomUUID()): Promise<void> {
  await log.append(metadataStreamOf(parkedStream), 'any', [
    {
      id,
      type: METADATA_EVENT_TYPE,
      contentType: 'application/json',
      data: Buffer.from(JSON.stringify({ $tb: truncateBefore })),
      metadata: EMPTY,
    },
  ]);
}

function resolveLink(log: EventLog, link: RecordedEvent): RecordedEvent | undefined {
  const text = Buffer.from(link.data).toString('utf8');
  const at = text.indexOf('@');
  const revision = Number(text.slice(0, at));
  if (at <= 0 || !Number.isSafeInteger(revision)) return undefined;
  const stream = text.slice(at + 1);
  const read = log.readStream(stream, { from: revision, direction: 'forwards', maxCount: 1, resolveLinkTos: false });
  if (read.kind !== 'ok') return undefined;
  const found = read.events[0]?.event;
  return found && found.revision === revision ? found : undefined;
}
