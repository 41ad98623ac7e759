// A projection whose subscription group does not exist yet (its first deployment, or a new
// projection over an existing history) starts with a one-time catch-up by reading: the runner
// reads $all once for all such projections (the client's readAll takes no server-side filter:
// events of other streams are skipped here), applies every order event to each of them in large
// transactions (behind the same per-order revision guard as live processing), then creates their
// groups at the position the read ended. From there the groups deliver, as for any projection.
//
// Catching up through the groups themselves has the client decode every stored event once per
// group, and the server track, ack and checkpoint each delivery: about a third of the speed
// (bench/projections.bench.ts). Groups that already exist (a worker restarting after downtime)
// are never bypassed: their checkpoints, retries and parked events stay the server's.
//
// Anything unusual ends the read early rather than being decided here: an event that does not
// parse or that a projection refuses rolls back its batch, and the groups start at the last
// committed event, so the failure goes through the groups' retry-then-park like any other.
import { FORWARDS, START, type EventStoreDBClient, type Position, type RecordedEvent } from '@eventstore/db-client';
import type { Logger } from 'pino';
import { isOrderEventType } from '../orders/events.js';
import { isProjectedStream } from '../orders/stream-names.js';
import type { WorkerMetrics } from '../observability/worker-metrics.js';
import { OutOfOrderEventError, applyBatchInTransaction, applyInTransaction, type ProjectionOutcome } from '../readmodels/apply-projection.js';
import { locationOf, toEventEnvelope, type EventEnvelope } from '../readmodels/event-envelope.js';
import type { ProjectionDefinition } from '../readmodels/projection.js';
import type { ReadModelStore, ReadModelTx } from '../readmodels/read-model-store.js';
import { errorMessage } from './errors.js';
import { hasParkedInStream, parkForProjection } from './projection-parking.js';

export interface BootstrapDeps {
  client: EventStoreDBClient;
  store: ReadModelStore;
  logger: Logger;
  metrics: WorkerMetrics;
  /** Events per commit. */
  batchSize?: number;
  /** Events per read call. */
  pageSize?: number;
  /** Interval of the progress log line. */
  progressEveryMs?: number;
  /**
   * Park what a projection refuses (projection-parking.ts) and read on, rather than end the read
   * there: for projections joining a shared group that already exists, whose position is past
   * what they would need the read to stop at.
   */
  parkRefused?: boolean;
}

export interface BootstrapResult {
  /** Order events applied to every projection and committed. */
  events: number;
  /** Position of the last committed event: where the groups start (undefined: nothing read). */
  position: Position | undefined;
  /** Set when the read ended before the end of $all; the groups take over from `position`. */
  stoppedAt?: { eventId: string; streamId: string; revision: number; reason: string };
}

const DEFAULT_BATCH = 1_000;
const DEFAULT_PAGE = 20_000;

class StopRead extends Error {
  constructor(
    readonly event: RecordedEvent,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/**
 * Reads $all from the start and applies each event of an order stream to every projection given,
 * a batch per transaction. A transaction never spans an await, so other writers of the store
 * (another worker process catching up at the same time, handlers) only wait for one batch.
 */
export async function bootstrapProjections(projections: readonly ProjectionDefinition[], deps: BootstrapDeps): Promise<BootstrapResult> {
  const { client, store, metrics } = deps;
  const logger = deps.logger.child({ projections: projections.map((projection) => projection.name) });
  const batchSize = deps.batchSize ?? DEFAULT_BATCH;
  const pageSize = deps.pageSize ?? DEFAULT_PAGE;
  const progressEveryMs = deps.progressEveryMs ?? 5_000;
  const started = performance.now();
  let lastProgress = started;
  let committed = 0;
  let position: Position | undefined;
  let batch: RecordedEvent[] = [];

  /** Applies the batch in one transaction; on a failure nothing of it stays, and the read ends. */
  const commit = async () => {
    const counts = new Map<string, { labels: { handler: string; event_type: string; outcome: string }; n: number }>();
    const count = (projection: string, eventType: string, outcome: string) => {
      const key = `${projection}\u0000${eventType}\u0000${outcome}`;
      const entry = counts.get(key);
      if (entry) entry.n++;
      else counts.set(key, { labels: { handler: projection, event_type: eventType, outcome }, n: 1 });
    };
    await store.transaction(async (tx) => {
      if (tx.dialect === 'postgres' && !deps.parkRefused) return await applyBatchToAll(projections, tx, batch, count);
      for (const event of batch) {
        if (deps.parkRefused) await applyToAllParking(projections, tx, event, count);
        else await applyToAll(projections, tx, event, count);
      }
    });
    committed += batch.length;
    position = batch.at(-1)?.position ?? position;
    batch = [];
    for (const { labels, n } of counts.values()) metrics.eventsProcessed.inc(labels, n);
  };

  for (const projection of projections) await store.migrate(projection.schema);
  logger.info('no subscription group yet: catching up by reading $all once for all of them');
  let stoppedAt: BootstrapResult['stoppedAt'];
  const tryCommit = async () => {
    try {
      await commit();
    } catch (error) {
      if (!(error instanceof StopRead)) throw error;
      batch = [];
      stoppedAt = { eventId: error.event.id, streamId: error.event.streamId, revision: Number(error.event.revision), reason: error.reason };
      logger.warn({ ...stoppedAt, events: committed }, 'catch-up by reading stopped early: the subscription groups take over from the last committed event');
    }
  };
  // In pages, each read to its end: a read left early has been seen to keep the client's
  // dispose() pending (not pinned down; see the note in src/cli/store-connection.ts), so after a
  // stop the rest of the page is drained, and pages bound what that costs.
  let from: Position | typeof START = START;
  for (;;) {
    let read = 0;
    let last: Position | undefined;
    for await (const resolved of client.readAll({ direction: FORWARDS, fromPosition: from, resolveLinkTos: false, maxCount: pageSize })) {
      read++;
      const event = resolved.event;
      if (stoppedAt || !event?.position) continue;
      // A page starts at the previous page's last event: already seen.
      if (last === undefined && from !== START && event.position.commit <= from.commit) continue;
      last = event.position;
      if (!isProjectedStream(event.streamId)) continue;
      batch.push(event);
      if (batch.length < batchSize) continue;
      await tryCommit();
      const now = performance.now();
      if (!stoppedAt && now - lastProgress >= progressEveryMs) {
        lastProgress = now;
        logger.info({ events: committed, position: position?.commit.toString(), eventsPerSecond: Math.round(committed / ((now - started) / 1000)) }, 'catching up');
      }
    }
    if (stoppedAt || read < pageSize || last === undefined) break;
    from = last;
  }
  if (!stoppedAt) await tryCommit();
  const seconds = (performance.now() - started) / 1000;
  logger.info({ events: committed, seconds: Math.round(seconds * 10) / 10, position: position?.commit.toString() }, 'caught up by reading; starting the groups there');
  return { events: committed, position, ...(stoppedAt ? { stoppedAt } : {}) };
}

/** As applyToAll, each projection in a savepoint: what one refuses is parked for it alone. */
async function applyToAllParking(
  projections: readonly ProjectionDefinition[],
  tx: ReadModelTx,
  event: RecordedEvent,
  count: (projection: string, eventType: string, outcome: string) => void,
): Promise<void> {
  let envelope: EventEnvelope | undefined;
  let invalid: string | undefined;
  if (isOrderEventType(event.type) && projections.some((projection) => projection.handles.includes(event.type as EventEnvelope['type']))) {
    try {
      envelope = toEventEnvelope(event);
    } catch (error) {
      invalid = `invalid ${event.type} event: ${errorMessage(error)}`;
    }
  }
  const location = locationOf(event);
  for (const projection of projections) {
    let reason: string | undefined;
    if (invalid !== undefined && projection.handles.includes(event.type as EventEnvelope['type'])) reason = invalid;
    else if (await hasParkedInStream(tx, projection.name, event.streamId)) reason = 'an earlier event of its stream is parked for it';
    let outcome: ProjectionOutcome | undefined;
    let refusal = reason;
    if (refusal === undefined) {
      try {
        outcome = await tx.transaction((savepoint) => applyInTransaction(savepoint, projection, location, envelope));
      } catch (error) {
        refusal = `${projection.name} refused it while catching up by reading: ${errorMessage(error)}`;
      }
    }
    if (outcome === undefined) {
      await parkForProjection(tx, {
        projection: projection.name,
        eventId: event.id,
        streamId: event.streamId,
        revision: Number(event.revision),
        eventType: event.type,
        commitPosition: event.position?.commit,
        reason: refusal ?? 'refused',
      });
      count(projection.name, event.type, 'parked');
      continue;
    }
    count(projection.name, event.type, outcome === 'applied' ? 'handled' : outcome);
  }
}

/**
 * As applyToAll for a whole batch on PostgreSQL: each projection takes the batch at once
 * (applyBatchInTransaction: its guards read and written once), and the projections run side by
 * side on the one connection, whose statements pipeline (their tables are their own).
 */
/** The event as the projections take it, when one of them handles its type; an order event that does not decode stops the read. */
function envelopeFor(projections: readonly ProjectionDefinition[], event: RecordedEvent): EventEnvelope | undefined {
  if (!isOrderEventType(event.type) || !projections.some((projection) => projection.handles.includes(event.type as EventEnvelope['type']))) return undefined;
  try {
    return toEventEnvelope(event);
  } catch (error) {
    throw new StopRead(event, `invalid ${event.type} event: ${errorMessage(error)}`);
  }
}

async function applyBatchToAll(
  projections: readonly ProjectionDefinition[],
  tx: ReadModelTx,
  events: readonly RecordedEvent[],
  count: (projection: string, eventType: string, outcome: string) => void,
): Promise<void> {
  const items = events.map((event) => ({ event, location: locationOf(event), envelope: envelopeFor(projections, event) }));
  // Every projection settles before anything is thrown: none still writes once the batch is rolled back.
  const settled = await Promise.allSettled(projections.map((projection) => applyBatchInTransaction(tx, projection, items)));
  // The cause, not another projection's "current transaction is aborted" (25P02) behind it.
  const failed = settled.findIndex((result) => result.status === 'rejected' && (result.reason as { code?: unknown }).code !== '25P02');
  const failedAt = failed >= 0 ? failed : settled.findIndex((result) => result.status === 'rejected');
  if (failedAt >= 0) {
    const error: unknown = (settled[failedAt] as PromiseRejectedResult).reason;
    const refused = error instanceof OutOfOrderEventError ? items.find(({ location }) => location.streamId === error.streamId && location.revision === error.revision) : undefined;
    throw new StopRead((refused ?? items[0]!).event, `${projections[failedAt]!.name} refused it: ${errorMessage(error)}`);
  }
  for (const [index, result] of settled.entries()) {
    const outcomes = (result as PromiseFulfilledResult<ProjectionOutcome[]>).value;
    outcomes.forEach((outcome, at) => count(projections[index]!.name, items[at]!.event.type, outcome === 'applied' ? 'handled' : outcome));
  }
}

async function applyToAll(
  projections: readonly ProjectionDefinition[],
  tx: ReadModelTx,
  event: RecordedEvent,
  count: (projection: string, eventType: string, outcome: string) => void,
): Promise<void> {
  const envelope = envelopeFor(projections, event);
  const location = locationOf(event);
  for (const projection of projections) {
    let outcome: ProjectionOutcome;
    try {
      outcome = await applyInTransaction(tx, projection, location, envelope);
    } catch (error) {
      throw new StopRead(event, `${projection.name} refused it: ${errorMessage(error)}`);
    }
    count(projection.name, event.type, outcome === 'applied' ? 'handled' : outcome);
  }
}
