// Catch-up subscriptions (Streams.Read with the subscription option). One loop serves both the
// catch-up and the live phase: it always reads the store from its own cursor, and when a read
// comes back empty it waits for the store's next commit. Reading from the cursor (never pushing
// commits) is what guarantees no gap and no duplicate at the hand-over.
import { randomUUID } from 'node:crypto';
import type { EventLog } from '../log/types.js';
import { streamsPb } from './protocol.js';
import type { CallWriter } from './call-writer.js';
import type { ReadRequest } from './read-request.js';
import { eventResponse, PageSizer, revisionInReadStream, type ReadResp } from './read.js';
import { streamDeleted } from './rpc-errors.js';


export async function runSubscription(log: EventLog, request: ReadRequest, writer: CallWriter<ReadResp>): Promise<void> {
  // Listen before reading where to start, so a commit in between is never missed.
  const signal = { committed: false };
  const unsubscribe = log.onCommit(() => {
    signal.committed = true;
    writer.wakeAll();
  });
  try {
    const confirmation = new streamsPb.ReadResp.SubscriptionConfirmation().setSubscriptionId(randomUUID());
    if (!(await writer.write(new streamsPb.ReadResp().setConfirmation(confirmation)))) return;
    const source = request.source.kind === 'stream' ? streamSource(log, request) : allSource(log, request);
    let caughtUp = false;
    while (writer.open) {
      signal.committed = false;
      const delivered = await source.next(writer);
      if (delivered === 'closed') return;
      if (delivered > 0) continue;
      if (!caughtUp) {
        caughtUp = true;
        if (!(await writer.write(new streamsPb.ReadResp().setCaughtUp(new streamsPb.ReadResp.CaughtUp())))) return;
      }
      if (!signal.committed) await writer.wait();
    }
  } finally {
    unsubscribe();
  }
}

interface SubscriptionSource {
  /** Delivers the next page from the cursor; the number of events read, or 'closed'. */
  next(writer: CallWriter<ReadResp>): Promise<number | 'closed'>;
}

function streamSource(log: EventLog, request: ReadRequest): SubscriptionSource {
  if (request.source.kind !== 'stream') throw new Error('stream subscription without a stream');
  const { stream, from } = request.source;
  // Subscribing from a revision means "after it": the client passes the last one it processed.
  let cursor = from === 'start' ? 0 : from === 'end' ? (log.streamRevision(stream) ?? -1) + 1 : from + 1;
  const pages = new PageSizer();
  return {
    async next(writer) {
      const result = log.readStream(stream, { from: cursor, direction: 'forwards', maxCount: pages.next(), resolveLinkTos: request.resolveLinkTos });
      if (result.kind === 'deleted') throw streamDeleted(stream);
      // A stream that does not exist (yet, or any more) is simply waited on.
      if (result.kind === 'not_found') return 0;
      pages.read(result.events);
      for (const resolved of result.events) {
        if (!(await writer.write(eventResponse(resolved, request.uuidFormat)))) return 'closed';
        cursor = revisionInReadStream(resolved) + 1;
      }
      return result.events.length;
    },
  };
}

function allSource(log: EventLog, request: ReadRequest): SubscriptionSource {
  if (request.source.kind !== 'all') throw new Error('$all subscription without $all');
  const { from } = request.source;
  let cursor: number | 'start' = from === 'start' ? 'start' : from === 'end' ? log.headPosition() + 1 : from + 1;
  const filter = request.filter;
  let scannedSinceCheckpoint = 0;
  const pages = new PageSizer();

  return {
    async next(writer) {
      // With a filter, never look further than the next checkpoint is due, so checkpoints land
      // every checkpointInterval scanned events even when nothing matches.
      // A page of large events is smaller (PageSizer); the window shrinks with it, so a read that
      // stops at its window still looked at exactly `window` events.
      const window = filter ? pages.next(filter.checkpointInterval - scannedSinceCheckpoint) : pages.next();
      const start = cursor;
      const result = log.readAll({
        from: start,
        direction: 'forwards',
        maxCount: window,
        resolveLinkTos: request.resolveLinkTos,
        filter: filter?.filter,
        maxSearchWindow: filter ? window : undefined,
      });
      pages.read(result.events);
      for (const resolved of result.events) {
        if (!(await writer.write(eventResponse(resolved, request.uuidFormat)))) return 'closed';
      }
      if (result.lastScannedPosition === undefined) return 0;
      cursor = result.lastScannedPosition + 1;
      if (!filter) return result.events.length;

      // Not at the end of the log, the read stopped at its window: exactly `window` events were
      // looked at. At the end it may have looked at fewer, so count them.
      const scanned = result.endOfLog ? countScanned(log, start, result.lastScannedPosition, window) : window;
      scannedSinceCheckpoint += scanned;
      if (scannedSinceCheckpoint >= filter.checkpointInterval) {
        scannedSinceCheckpoint = 0;
        const position = String(result.lastScannedPosition);
        const checkpoint = new streamsPb.ReadResp.Checkpoint().setCommitPosition(position).setPreparePosition(position);
        if (!(await writer.write(new streamsPb.ReadResp().setCheckpoint(checkpoint)))) return 'closed';
      }
      // Scanning without a match is progress too: keep reading until the end of the log.
      return result.endOfLog ? result.events.length : Math.max(result.events.length, 1);
    },
  };
}

function countScanned(log: EventLog, from: number | 'start', lastScanned: number, window: number): number {
  const unfiltered = log.readAll({ from, direction: 'forwards', maxCount: window, resolveLinkTos: false });
  return unfiltered.events.filter((resolved) => resolved.position <= lastScanned).length;
}
