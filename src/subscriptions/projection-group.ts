// Turns a projection declaration into the processing of its subscription group. Events that
// arrive together are applied in one SQLite transaction (a commit per event would cap catch-up
// far below what the store delivers); if one is refused, the batch is redone with a savepoint
// per event so the others still commit. Applied in arrival order; acked only after the commit.
// The batch is a savepoint of the runner's shared commit (shared-commit.ts): the projections and
// handlers of one runner commit together; on PostgreSQL the projections' batches of a commit run
// side by side in one savepoint, each again alone (as above) when one of them fails.
import type { RecordedEvent } from '@eventstore/db-client';
import { isOrderEventType } from '../orders/events.js';
import { applyBatchInTransaction, applyToProjection, type ProjectionOutcome } from '../readmodels/apply-projection.js';
import type { EnvelopeParser } from '../readmodels/envelope-cache.js';
import { locationOf, toEventEnvelope, type EventEnvelope } from '../readmodels/event-envelope.js';
import type { ProjectionDefinition } from '../readmodels/projection.js';
import type { ReadModelStore, ReadModelTx } from '../readmodels/read-model-store.js';
import { isConnectionLoss } from '../readmodels/connection-loss.js';
import type { GroupSpec } from './group-consumer.js';
import { groupName, projectionFilter } from './group-settings.js';
import { sharedCommit, type SharedCommit } from './shared-commit.js';
import type { RetryPolicy } from './retry-policy.js';

export interface ProjectionGroupDefaults {
  maxInFlight: number;
  retry: RetryPolicy;
  groupPrefix?: string;
  /** Most events applied in one transaction. */
  maxBatch?: number;
  /** Shared by the groups of one runner, so each event is parsed once for all projections. */
  envelopes?: EnvelopeParser;
  /** Shared by the groups of one runner: one commit per turn of the event loop for all of them. */
  commits?: SharedCommit;
}

type Result = { ok: true; outcome: ProjectionOutcome } | { ok: false; error: unknown };

/** One shared write's batch: given, or taken when the write runs. */
interface Slot {
  batch?: Pending[];
}

interface Pending {
  recorded: RecordedEvent;
  resolve(outcome: ProjectionOutcome): void;
  reject(error: unknown): void;
}

/** A batch this large means events are arriving faster than one turn of the loop drains them. */
const BUSY_BATCH = 16;
/** While busy, how long a batch waits for more events (fewer, larger commits when catching up). */
const BUSY_WAIT_MS = 10;

/**
 * Collects arriving events and applies them in one transaction: at the end of the current turn
 * of the event loop when events trickle in (live), or up to BUSY_WAIT_MS later when the last
 * batch was large (catching up), so commits and acks cover more events each.
 */
export function projectionBatcher(
  store: ReadModelStore,
  projection: ProjectionDefinition,
  maxBatch = 500,
  parse: EnvelopeParser = toEventEnvelope,
  commits: SharedCommit = sharedCommit(store),
) {
  let queue: Pending[] = [];
  let scheduled = false;
  let timer: NodeJS.Timeout | undefined;
  let lastBatchSize = 0;
  /** The write queued for the next commit that takes the batch when it runs (live), until it has. */
  let lazy: Slot | undefined;
  const envelopeOf = (recorded: RecordedEvent): EventEnvelope | undefined =>
    // Parsed only when the projection reads it: the others just take their revision.
    isOrderEventType(recorded.type) && projection.handles.includes(recorded.type) ? parse(recorded) : undefined;
  const take = (): Pending[] => {
    scheduled = false;
    clearTimeout(timer);
    timer = undefined;
    const batch = queue;
    queue = [];
    lastBatchSize = batch.length;
    return batch;
  };
  /** Queues a write of `given`, or of the batch as it is when the shared commit runs it. */
  const write = (given?: Pending[]) => {
    const slot: Slot = given ? { batch: given } : {};
    if (!given) lazy = slot;
    const batchOf = (): Pending[] => {
      if (!slot.batch) {
        slot.batch = take();
        if (lazy === slot) lazy = undefined;
      }
      return slot.batch;
    };
    commits
      .writeSideBySide(projection.name, (tx, alone) => applyBatch(tx, batchOf(), alone))
      .then(
        (results) =>
          batchOf().forEach((pending, index) => {
            const result = results[index]!;
            if (result.ok) pending.resolve(result.outcome);
            else pending.reject(result.error);
          }),
        // The commit failed (or never began): nothing of the batch is applied.
        (error: unknown) => {
          for (const pending of batchOf()) pending.reject(error);
        },
      );
  };
  const applyBatch = async (tx: ReadModelTx, batch: Pending[], alone: boolean): Promise<Result[]> => {
    // Taken already by a full batch (maxBatch) before this commit ran.
    if (batch.length === 0) return [];
    const items = () => batch.map(({ recorded }) => ({ location: locationOf(recorded), envelope: envelopeOf(recorded) }));
    const applied = (outcomes: ProjectionOutcome[]) => outcomes.map((outcome): Result => ({ ok: true, outcome }));
    // Beside the other projections, in the savepoint they share: any failure fails them all, and
    // each batch is then run again alone.
    if (!alone) return applied(await applyBatchInTransaction(tx, projection, items()));
    try {
      // Fast path: the whole batch in one savepoint and no more.
      return await tx.transaction(async (inner) => applied(await applyBatchInTransaction(inner, projection, items())));
    } catch (error) {
      // The connection is gone (PostgreSQL): nothing more can be written in this transaction.
      if (isConnectionLoss(error)) throw error;
      // Some event was refused (early, or apply failed): redo the batch with a savepoint per
      // event, so the others still commit and each gets its own outcome.
      const results: Result[] = [];
      for (const { recorded } of batch) {
        try {
          results.push({ ok: true, outcome: await applyToProjection(tx, projection, locationOf(recorded), envelopeOf(recorded)) });
        } catch (error) {
          results.push({ ok: false, error });
        }
      }
      return results;
    }
  };
  return (recorded: RecordedEvent): Promise<ProjectionOutcome> =>
    new Promise((resolve, reject) => {
      queue.push({ recorded, resolve, reject });
      if (queue.length >= maxBatch) {
        // The write already queued takes these (a write of its own would commit after it, and
        // the events it takes later, before these); the next event queues another.
        if (lazy) {
          lazy.batch = take();
          lazy = undefined;
        } else write(take());
      } else if (!scheduled) {
        scheduled = true;
        // Busy: wait a little for more, unless a commit is under way (the next one takes what
        // arrives until then). Live: taken when the turn's shared commit runs.
        if (lastBatchSize >= BUSY_BATCH && !commits.busy) timer = setTimeout(() => write(take()), BUSY_WAIT_MS);
        else write();
      }
    });
}

export function projectionGroupSpec(projection: ProjectionDefinition, store: ReadModelStore, defaults: ProjectionGroupDefaults): GroupSpec {
  const apply = projectionBatcher(store, projection, defaults.maxBatch, defaults.envelopes, defaults.commits);
  return {
    group: groupName('projection', projection.name, defaults.groupPrefix),
    label: projection.name,
    filter: projectionFilter(projection.handles),
    maxInFlight: defaults.maxInFlight,
    // Applying is synchronous SQLite work: nothing a timer could interrupt.
    timeoutMs: 0,
    retry: defaults.retry,
    // Every order event passes every projection: a line each at info would drown the handlers'.
    processedLogLevel: 'debug',
    async process({ event }) {
      const recorded = event.event;
      if (!recorded) return 'skipped';
      const outcome = await apply(recorded as RecordedEvent);
      return outcome === 'applied' ? 'handled' : outcome;
    },
  };
}
