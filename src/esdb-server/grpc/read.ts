// Streams.Read without the subscription option: a finite read of a stream or of $all, in pages so
// a large read never sits in memory at once, each page written with backpressure.
import type { EventLog, ResolvedEvent } from '../log/types.js';
import { resolvedEventBytes } from '../log/event-bytes.js';
import { streamsPb } from './protocol.js';
import type { CallWriter } from './call-writer.js';
import { streamIdentifier, toReadEvent, type UuidFormat } from './conversions.js';
import type { ReadRequest } from './read-request.js';
import { streamDeleted } from './rpc-errors.js';
import { encodeEventResponse } from './read-event-encoding.js';

/** A Read reply: a message, or an event response already encoded (see read-event-encoding.ts). */
export type ReadResp = InstanceType<typeof streamsPb.ReadResp> | Buffer;

export const READ_PAGE_SIZE = 512;
/**
 * Bytes of event data a page holds at most (one event at least), on top of READ_PAGE_SIZE. A page
 * stays in memory while it is written out at the reader's pace: 512 large orders (~56 KB) were
 * 28 MB a read, and after a burst of large creates the workers' lag scans (a read of $all from
 * each group's checkpoint every 5 s) held 94 MB of pages in the store's thread at once (#11).
 */
export const READ_PAGE_BYTES = 2 * 1024 * 1024;
/** Events of a read's first page, before its events' size is known. */
const FIRST_PAGE_EVENTS = 64;

/** Sizes a read's pages by the events read so far: READ_PAGE_SIZE events, READ_PAGE_BYTES of data. */
export class PageSizer {
  private eventBytes = READ_PAGE_BYTES / FIRST_PAGE_EVENTS;

  /** Events to ask for next, at most `limit`. */
  next(limit: number = READ_PAGE_SIZE): number {
    return Math.max(1, Math.min(limit, READ_PAGE_SIZE, Math.floor(READ_PAGE_BYTES / this.eventBytes)));
  }

  /** Takes the size of a page read. */
  read(events: readonly ResolvedEvent[]): void {
    if (events.length === 0) return;
    let bytes = 0;
    for (const resolved of events) bytes += resolvedEventBytes(resolved);
    this.eventBytes = Math.max(1, bytes / events.length);
  }
}

export function eventResponse(resolved: ResolvedEvent, uuidFormat: UuidFormat): ReadResp {
  if (uuidFormat === 'string') return encodeEventResponse(resolved);
  return new streamsPb.ReadResp().setEvent(toReadEvent(resolved, uuidFormat));
}

/** Revision of a read event within the stream that was read (the link's, for a link stream). */
export function revisionInReadStream(resolved: ResolvedEvent): number {
  const own = resolved.link ?? resolved.event;
  if (!own) throw new Error('read returned an event with neither event nor link');
  return own.revision;
}

export async function readStreamToCall(log: EventLog, request: ReadRequest, writer: CallWriter<ReadResp>): Promise<void> {
  if (request.source.kind !== 'stream') throw new Error('readStreamToCall needs a stream source');
  const { stream } = request.source;
  let from = request.source.from;
  let remaining = request.count ?? 0;
  const pages = new PageSizer();
  for (let first = true; ; first = false) {
    const result = log.readStream(stream, {
      from,
      direction: request.direction,
      maxCount: Math.min(pages.next(), remaining),
      resolveLinkTos: request.resolveLinkTos,
    });
    if (result.kind === 'deleted') throw streamDeleted(stream);
    if (result.kind === 'not_found') {
      // A missing stream is a normal message, not an error; one deleted mid-read simply ends.
      if (first) await writer.write(new streamsPb.ReadResp().setStreamNotFound(new streamsPb.ReadResp.StreamNotFound().setStreamIdentifier(streamIdentifier(stream))));
      return;
    }
    pages.read(result.events);
    for (const resolved of result.events) {
      if (!(await writer.write(eventResponse(resolved, request.uuidFormat)))) return;
    }
    remaining -= result.events.length;
    const last = result.events.at(-1);
    if (!last || remaining <= 0) return;
    const revision = revisionInReadStream(last);
    if (request.direction === 'forwards') {
      if (revision >= result.lastRevision) return;
      from = revision + 1;
    } else {
      if (revision <= 0) return;
      from = revision - 1;
    }
  }
}

export async function readAllToCall(log: EventLog, request: ReadRequest, writer: CallWriter<ReadResp>): Promise<void> {
  if (request.source.kind !== 'all') throw new Error('readAllToCall needs the $all source');
  let from = request.source.from;
  let remaining = request.count ?? 0;
  const pages = new PageSizer();
  while (remaining > 0) {
    const result = log.readAll({
      from,
      direction: request.direction,
      maxCount: Math.min(pages.next(), remaining),
      resolveLinkTos: request.resolveLinkTos,
      filter: request.filter?.filter,
    });
    pages.read(result.events);
    for (const resolved of result.events) {
      if (!(await writer.write(eventResponse(resolved, request.uuidFormat)))) return;
    }
    remaining -= result.events.length;
    if (result.endOfLog || result.lastScannedPosition === undefined) return;
    // Forwards reads start inclusive, backwards reads exclusive.
    from = request.direction === 'forwards' ? result.lastScannedPosition + 1 : result.lastScannedPosition;
  }
}
