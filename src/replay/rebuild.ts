// Rebuilds one projection from the history in $all into a read-model store of its own (never the
// live one). Events go through the same envelope parsing and per-order revision guard as live
// processing (src/readmodels/apply-projection.ts), so the result is the model live processing
// gives; the guard's state is kept in memory and written per batch, which makes it fast.
import { FORWARDS, START, type EventStoreDBClient, type AllStreamResolvedEvent, type Position } from '@eventstore/db-client';
import { EventSchemaError, isOrderEventType } from '../orders/events.js';
import { ORDER_STREAM_CATEGORY } from '../orders/stream-names.js';
import { toEventEnvelope, type EventEnvelope } from '../readmodels/event-envelope.js';
import type { ProjectionDefinition } from '../readmodels/projection.js';
import type { ReadModelStore } from '../readmodels/read-model-store.js';
import { isPastUntil, type ReplayUntil } from './until.js';

const BATCH_SIZE = 2_000;
const ORDER_STREAM_PREFIX = `${ORDER_STREAM_CATEGORY}-`;

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

/** A rebuild that can be continued (catch-up) from where it stopped. */
export class ProjectionRebuild {
  readonly counts: RebuildCounts = { read: 0, orderEvents: 0, applied: 0, notHandled: 0, refused: 0 };
  /** Position of the last event read; continuing starts after it. */
  lastPosition: Position | undefined;
  /** True once an event past `until` was seen. */
  reachedUntil = false;
  readonly #revisions = new Map<string, number>();
  readonly #refusedReasons = new Map<string, number>();

  constructor(
    readonly projection: ProjectionDefinition,
    readonly store: ReadModelStore,
    readonly options: { until?: ReplayUntil } = {},
  ) {
    store.migrate(projection.schema);
  }

  /** Commit position of the last event read. */
  get position(): bigint | undefined {
    return this.lastPosition?.commit;
  }

  /** Why events were refused, with counts (for the summary). */
  get refusedReasons(): ReadonlyMap<string, number> {
    return this.#refusedReasons;
  }

  /** Reads $all from after `position` to its end (or `until`), applying as it goes. */
  async run(client: EventStoreDBClient, hooks: { signal?: AbortSignal; onProgress?: (progress: RebuildProgress) => void } = {}): Promise<void> {
    if (this.reachedUntil) return;
    const from = this.lastPosition ?? START;
    const read = client.readAll({ direction: FORWARDS, fromPosition: from, resolveLinkTos: false });
    let batch: AllStreamResolvedEvent[] = [];
    for await (const resolved of read) {
      hooks.signal?.throwIfAborted();
      const event = resolved.event;
      if (!event?.position) continue;
      // Reading from a position includes the event at it: already applied.
      if (this.position !== undefined && event.position.commit <= this.position) continue;
      if (this.options.until && isPastUntil(this.options.until, event.position.commit, event.created)) {
        this.reachedUntil = true;
        break;
      }
      batch.push(resolved);
      if (batch.length >= BATCH_SIZE) {
        this.#applyBatch(batch);
        batch = [];
        hooks.onProgress?.({ ...this.counts, position: this.position });
      }
    }
    hooks.signal?.throwIfAborted();
    if (batch.length > 0) this.#applyBatch(batch);
    hooks.onProgress?.({ ...this.counts, position: this.position });
  }

  #applyBatch(batch: AllStreamResolvedEvent[]): void {
    const touched = new Set<string>();
    this.store.transaction((tx) => {
      for (const { event } of batch) {
        if (!event) continue;
        this.counts.read++;
        this.lastPosition = event.position;
        if (!event.streamId.startsWith(ORDER_STREAM_PREFIX)) continue;
        this.counts.orderEvents++;
        const streamId = event.streamId;
        const revision = Number(event.revision);
        const last = this.#revisions.get(streamId) ?? -1;
        if (revision <= last) continue; // a duplicate: live processing skips it too
        if (revision > last + 1) {
          this.#refuse(`an earlier revision of its order was not applied`);
          continue;
        }
        let envelope: EventEnvelope | undefined;
        if (isOrderEventType(event.type)) {
          try {
            envelope = toEventEnvelope(event);
          } catch (err) {
            if (!(err instanceof EventSchemaError)) throw err;
            // Live processing retries and parks such an event: it never reaches the model.
            this.#refuse(`invalid ${event.type} event`);
            continue;
          }
        }
        if (envelope && this.projection.handles.includes(envelope.type)) {
          this.projection.apply(envelope, tx);
          this.counts.applied++;
        } else {
          this.counts.notHandled++;
        }
        this.#revisions.set(streamId, revision);
        touched.add(streamId);
      }
      for (const streamId of touched) {
        tx.run(
          `INSERT INTO projection_revisions (projection, stream_id, revision) VALUES (?, ?, ?)
           ON CONFLICT (projection, stream_id) DO UPDATE SET revision = excluded.revision`,
          this.projection.name,
          streamId,
          this.#revisions.get(streamId),
        );
      }
    });
  }

  #refuse(reason: string): void {
    this.counts.refused++;
    this.#refusedReasons.set(reason, (this.#refusedReasons.get(reason) ?? 0) + 1);
  }
}
