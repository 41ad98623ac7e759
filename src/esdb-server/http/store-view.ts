// Read-only questions the UI asks the log, answered through the EventLog contract only (the
// same reads the gRPC services make): recent streams from `$streams` and the tail of `$all`,
// a stream's page newest first, one event, a correlation's events from `$bc-<id>`.
import type { EventLog, RecordedEvent, ResolvedEvent } from '../log/types.js';
import { LINK_EVENT_TYPE } from '../log/system-streams.js';

export interface EventSummary {
  stream: string;
  revision: number;
  type: string;
  /** ms since the Unix epoch */
  createdMs: number;
  position: number;
  size: number;
  contentType: string;
  /** For an event read through a link stream: the link's own revision in that stream. */
  linkRevision: number | undefined;
  /** A link whose target is gone (deleted or truncated). */
  missingTarget: string | undefined;
  correlationId: string | undefined;
  causationId: string | undefined;
  id: string;
}

export interface StreamPage {
  stream: string;
  lastRevision: number;
  events: EventSummary[];
  /** Revision to start the next (older) page from, if there is one. */
  older: number | undefined;
  /** Revision to start the newer page from; undefined on the newest page. */
  newer: number | undefined;
}

/** How far the recently-changed list looks back in $all. */
const RECENT_SCAN = 2_000;
/** How many streams a prefix search looks through in `$streams`. */
const SEARCH_SCAN = 20_000;

export function createdMs(event: RecordedEvent): number {
  return Number(event.created / 10_000n);
}

export function summarise(resolved: ResolvedEvent, throughLink: boolean): EventSummary {
  const event = resolved.event;
  const link = resolved.link;
  if (!event) {
    const shown = link!;
    return {
      stream: shown.stream,
      revision: shown.revision,
      type: LINK_EVENT_TYPE,
      createdMs: createdMs(shown),
      position: resolved.position,
      size: shown.data.length,
      contentType: shown.contentType,
      linkRevision: shown.revision,
      missingTarget: Buffer.from(shown.data).toString('utf8'),
      correlationId: undefined,
      causationId: undefined,
      id: shown.id,
    };
  }
  const metadata = parseJsonObject(event.metadata);
  return {
    stream: event.stream,
    revision: event.revision,
    type: event.type,
    createdMs: createdMs(event),
    position: event.position,
    size: event.data.length + event.metadata.length,
    contentType: event.contentType,
    linkRevision: throughLink && link ? link.revision : undefined,
    missingTarget: undefined,
    correlationId: stringField(metadata, '$correlationId'),
    causationId: stringField(metadata, '$causationId'),
    id: event.id,
  };
}

/** A stream's events newest first, `count` per page, starting at revision `from` (or the newest). */
export function readStreamPage(log: EventLog, stream: string, from: number | 'end', count: number): StreamPage | 'not_found' | 'deleted' {
  const result = log.readStream(stream, { from, direction: 'backwards', maxCount: count + 1, resolveLinkTos: true });
  if (result.kind !== 'ok') return result.kind;
  const rows = result.events.slice(0, count);
  const revisionOf = (resolved: ResolvedEvent) => (resolved.link ?? resolved.event)!.revision;
  const events = rows.map((resolved) => summarise(resolved, true));
  const first = rows[0];
  const newest = first ? revisionOf(first) : result.lastRevision;
  const extra = result.events[count];
  return {
    stream,
    lastRevision: result.lastRevision,
    events,
    older: extra ? revisionOf(extra) : undefined,
    newer: newest < result.lastRevision ? Math.min(result.lastRevision, newest + count) : undefined,
  };
}

export interface EventDetail {
  summary: EventSummary;
  event: RecordedEvent | undefined;
  /** Set when the event was read through a link stream ($ce-, $et-, $bc-, $streams, parked). */
  link: RecordedEvent | undefined;
  /** Last revision of the stream read (for a link stream: of the link stream). */
  lastRevision: number;
}

export function readEvent(log: EventLog, stream: string, revision: number): EventDetail | 'not_found' | 'deleted' {
  const result = log.readStream(stream, { from: revision, direction: 'forwards', maxCount: 1, resolveLinkTos: true });
  if (result.kind !== 'ok') return result.kind;
  const found = result.events[0];
  const own = found && (found.link ?? found.event);
  if (!found || !own || own.revision !== revision) return 'not_found';
  return { summary: summarise(found, true), event: found.event, link: found.link, lastRevision: result.lastRevision };
}

/** Streams created last, newest first (from `$streams`). */
export function recentlyCreatedStreams(log: EventLog, limit: number): { stream: string; createdMs: number }[] {
  const result = log.readStream('$streams', { from: 'end', direction: 'backwards', maxCount: limit, resolveLinkTos: true });
  if (result.kind !== 'ok') return [];
  return result.events.flatMap((resolved) => (resolved.event ? [{ stream: resolved.event.stream, createdMs: createdMs(resolved.event) }] : []));
}

/** Streams written to last, newest first, from the tail of $all (system streams left out). */
export function recentlyChangedStreams(log: EventLog, limit: number): { stream: string; revision: number; createdMs: number }[] {
  const result = log.readAll({ from: 'end', direction: 'backwards', maxCount: RECENT_SCAN, resolveLinkTos: false });
  const seen = new Map<string, { stream: string; revision: number; createdMs: number }>();
  for (const { event } of result.events) {
    if (!event || event.stream.startsWith('$') || seen.has(event.stream)) continue;
    seen.set(event.stream, { stream: event.stream, revision: event.revision, createdMs: createdMs(event) });
    if (seen.size >= limit) break;
  }
  return [...seen.values()];
}

/**
 * Streams whose name starts with `query` (an exact name first, system streams included), newest
 * first from `$streams`, looking through at most SEARCH_SCAN streams: the reads run on the store's
 * thread, so a search never holds gRPC up for long.
 */
export function searchStreams(log: EventLog, query: string, limit: number): { streams: string[]; complete: boolean } {
  const found: string[] = [];
  if (log.streamRevision(query) !== undefined) found.push(query);
  let from: number | 'end' = 'end';
  let looked = 0;
  while (found.length < limit && looked < SEARCH_SCAN) {
    const result = log.readStream('$streams', { from, direction: 'backwards', maxCount: 1_000, resolveLinkTos: false });
    if (result.kind !== 'ok' || result.events.length === 0) return { streams: found, complete: true };
    let lowest = Number.POSITIVE_INFINITY;
    for (const { event } of result.events) {
      if (!event) continue;
      looked++;
      lowest = Math.min(lowest, event.revision);
      const text = Buffer.from(event.data).toString('utf8');
      const name = text.slice(text.indexOf('@') + 1);
      if (name.startsWith(query) && name !== query) found.push(name);
      if (found.length >= limit) return { streams: found, complete: false };
    }
    if (!(lowest > 0)) return { streams: found, complete: true };
    from = lowest - 1;
  }
  return { streams: found, complete: looked < SEARCH_SCAN };
}

/** The events of `$bc-<correlationId>` in store order, at most `cap`. */
export function readCorrelation(log: EventLog, correlationId: string, cap: number): { events: RecordedEvent[]; truncated: boolean } {
  const events: RecordedEvent[] = [];
  let from = 0;
  for (;;) {
    const result = log.readStream(`$bc-${correlationId}`, { from, direction: 'forwards', maxCount: Math.min(1_000, cap + 1 - events.length), resolveLinkTos: true });
    if (result.kind !== 'ok' || result.events.length === 0) return { events, truncated: false };
    for (const resolved of result.events) {
      from = resolved.link!.revision + 1;
      if (!resolved.event) continue;
      if (events.length >= cap) return { events, truncated: true };
      events.push(resolved.event);
    }
    if (from > result.lastRevision) return { events, truncated: false };
  }
}

export function parseJsonObject(bytes: Uint8Array): Record<string, unknown> | undefined {
  if (bytes.length === 0 || bytes.length > 1_048_576) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function stringField(object: Record<string, unknown> | undefined, key: string): string | undefined {
  const value = object?.[key];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}
