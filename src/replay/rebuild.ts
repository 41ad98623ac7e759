// Rebuilds one projection from the history in $all into a read-model store of its own (never the
// live one). Events go through the same envelope parsing and per-order revision guard as live
// processing (src/readmodels/apply-projection.ts), so the result is the model live processing
// gives; the guard's state is kept in memory and written with each commit, which makes it fast.
import { FORWARDS, START, type EventStoreDBClient, type Position, type RecordedEvent } from '@eventstore/db-client';
import { EventSchemaError, isOrderEventType } from '../orders/events.js';
import { isProjectedStream } from '../orders/stream-names.js';
import { toEventEnvelope, type EventEnvelope } from '../readmodels/event-envelope.js';
import type { ProjectionDefinition } from '../readmodels/projection.js';
import type { OpenTransaction, ReadModelStore } from '../readmodels/read-model-store.js';
import { isPastUntil, type ReplayUntil } from './until.js';

/** Events per commit of the copy (and per progress report). */
const COMMIT_EVERY = 1_000;

export interface RebuildCounts {
  /** Every event read from $all (the position advances over all of them). */
  read: number;
  /** Events of order streams: what the projection's subscription is given. */
  orderEvents: number;
  /** Given to apply(). */
  applied: number;
  /** Order-stream events of types the projection does not handle (they only advance the revision). */
  notHandled: number;
  /** Refused as live processing refuses them: invalid data, or an earlier revision missing. */
  refused: number;
}

export interface RebuildProgress extends RebuildCounts {
  /** Commit position of the newest event read. */
  position: bigint | undefined;
}

export interface RebuildHooks {
  signal?: AbortSignal;
  onProgress?: (progress: RebuildProgress) => void;
}

/** Where a rebuild reads $all from: events after `from`, forwards, in batches of any size. */
export type EventSource = (from: Position | undefined, signal?: AbortSignal) => AsyncIterable<readonly RecordedEvent[]>;

/** Reads on this thread: each event is handed over as soon as the client decoded it. */
export function clientEventSource(client: EventStoreDBClient): EventSource {
  return async function* (from) {
    for await (const resolved of client.readAll({ direction: FORWARDS, fromPosition: from ?? START, resolveLinkTos: false })) {
      if (resolved.event) yield [resolved.event];
    }
  };
}

/** A rebuild that can be continued (catch-up) from where it stopped. */
export class ProjectionRebuild {
  readonly counts: RebuildCounts = { read: 0, orderEvents: 0, applied: 0, notHandled: 0, refused: 0 };
  /** Position of the last event read; continuing starts after it. */
  lastPosition: Position | undefined;
  /** True once an event past `until` was seen. */
  reachedUntil = false;
  readonly #revisions = new Map<string, number>();
  /** Streams whose revision changed since the last commit. */
  readonly #touched = new Set<string>();
  readonly #refusedReasons = new Map<string, number>();

  constructor(
    readonly projection: ProjectionDefinition,
    readonly store: ReadModelStore,
    readonly options: { until?: ReplayUntil } = {},
  ) {}

  /** Creates the projection's tables in the store (before the first run). */
  async prepare(): Promise<void> {
    await this.store.migrate(this.projection.schema);
  }

  /** Commit position of the last event read. */
  get position(): bigint | undefined {
    return this.lastPosition?.commit;
  }

  /** Why events were refused, with counts (for the summary). */
  get refusedReasons(): ReadonlyMap<string, number> {
    return this.#refusedReasons;
  }

  /**
   * Reads $all from after `lastPosition` to its end (or `until`), applying as it goes. Each event
   * is applied as soon as it is decoded, inside a transaction committed every COMMIT_EVERY events:
   * the store keeps sending while the previous events are applied (HTTP/2 flow control only lets
   * it run a window ahead, so applying in large bursts would leave it idle).
   */
  async run(source: EventSource, hooks: RebuildHooks = {}): Promise<void> {
    if (this.reachedUntil) return;
    const after = this.position;
    const until = this.options.until;
    let pending = 0;
    let tx = await this.store.begin();
    try {
      read: for await (const events of source(this.lastPosition, hooks.signal)) {
        for (const event of events) {
          if (!event.position) continue;
          // Reading from a position includes the event at it: already applied.
          if (after !== undefined && event.position.commit <= after) continue;
          if (until && isPastUntil(until, event.position.commit, event.created)) {
            this.reachedUntil = true;
            break read;
          }
          await this.#apply(tx, event);
          if (++pending >= COMMIT_EVERY) {
            await this.#commit(tx);
            tx = await this.store.begin();
            pending = 0;
            hooks.onProgress?.({ ...this.counts, position: this.position });
            hooks.signal?.throwIfAborted();
          }
        }
      }
      await this.#commit(tx);
    } catch (err) {
      await tx.rollback();
      throw err;
    }
    hooks.onProgress?.({ ...this.counts, position: this.position });
    hooks.signal?.throwIfAborted();
  }

  async #apply(tx: OpenTransaction, event: RecordedEvent): Promise<void> {
    this.counts.read++;
    this.lastPosition = event.position;
    const streamId = event.streamId;
    if (!isProjectedStream(streamId)) return;
    this.counts.orderEvents++;
    const revision = Number(event.revision);
    const last = this.#revisions.get(streamId) ?? -1;
    if (revision <= last) return; // a duplicate: live processing skips it too
    if (revision > last + 1) return this.#refuse('an earlier revision of its order was not applied');
    let envelope: EventEnvelope | undefined;
    if (isOrderEventType(event.type)) {
      try {
        envelope = toEventEnvelope(event);
      } catch (err) {
        if (!(err instanceof EventSchemaError)) throw err;
        // Live processing retries and parks such an event: it never reaches the model.
        return this.#refuse(`invalid ${event.type} event`);
      }
    }
    if (envelope && this.projection.handles.includes(envelope.type)) {
      await this.projection.apply(envelope, tx);
      this.counts.applied++;
    } else {
      this.counts.notHandled++;
    }
    this.#revisions.set(streamId, revision);
    this.#touched.add(streamId);
  }

  /** Writes the revision records of what was applied since the last commit, and commits. */
  async #commit(tx: OpenTransaction): Promise<void> {
    for (const streamId of this.#touched) {
      await tx.run(
        `INSERT INTO projection_revisions (projection, stream_id, revision) VALUES (?, ?, ?)
         ON CONFLICT (projection, stream_id) DO UPDATE SET revision = excluded.revision`,
        this.projection.name,
        streamId,
        this.#revisions.get(streamId),
      );
    }
    this.#touched.clear();
    await tx.commit();
  }

  #refuse(reason: string): void {
    this.counts.refused++;
    this.#refusedReasons.set(reason, (this.#refusedReasons.get(reason) ?? 0) + 1);
  }
}
