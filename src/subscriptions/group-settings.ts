// How a handler or projection maps onto an EventStoreDB persistent subscription group.
//
// Groups subscribe to `$all` with a server-side filter rather than to `$ce-order` with
// resolveLinkTos: no link resolution per event, commit positions for lag, a handler receives
// only the event types it handles, and a real EventStoreDB needs no $by_category projection
// running. Projections filter on the stream prefix `order-` so they see every revision of an
// order (gap-free), which their per-order revision guard relies on.
import {
  PersistentSubscriptionExistsError,
  PINNED,
  START,
  eventTypeFilter,
  persistentSubscriptionToAllSettingsFromDefaults,
  streamNameFilter,
  type EventStoreDBClient,
  type Filter,
  type Position,
} from '@eventstore/db-client';
import { INVENTORY_STREAM_CATEGORY, ORDER_STREAM_CATEGORY, PROJECTED_STREAM_PREFIXES } from '../orders/stream-names.js';

export type GroupKind = 'handler' | 'projection';

export interface GroupFilter {
  on: 'event_type' | 'stream';
  prefixes: string[];
}

export function groupName(kind: GroupKind, name: string, prefix = 'order-store'): string {
  return `${prefix}.${kind}.${name}`;
}

/** The one group every projection of the service shares (projections-group.ts). */
export function projectionsGroupName(prefix = 'order-store'): string {
  return `${prefix}.projections`;
}

export function handlerFilter(eventTypes: readonly string[]): GroupFilter {
  return { on: 'event_type', prefixes: [...eventTypes] };
}

/** The streams a projection reads: order streams, and the stock streams when it handles stock events. */
export function projectionFilter(handles?: readonly string[]): GroupFilter {
  if (handles && !handles.some((type) => type.startsWith(`${INVENTORY_STREAM_CATEGORY}.`))) return { on: 'stream', prefixes: [`${ORDER_STREAM_CATEGORY}-`] };
  return { on: 'stream', prefixes: [...PROJECTED_STREAM_PREFIXES] };
}

export function toClientFilter(filter: GroupFilter): Filter {
  return filter.on === 'event_type' ? eventTypeFilter({ prefixes: filter.prefixes }) : streamNameFilter({ prefixes: filter.prefixes });
}

export interface GroupServerSettings {
  /** Server-side: unacked events are redelivered after this long. Above handler timeout + max backoff. */
  messageTimeoutMs: number;
  /** Server-side safety net only: the runner parks first, by its own retry policy. */
  maxRetryCount: number;
}

/**
 * Creates the group unless it exists (competing workers race to create it), from the start of
 * $all or from `startFrom` (the event there is delivered again: the revision guards skip it).
 */
export async function ensureGroup(
  client: EventStoreDBClient,
  group: string,
  filter: GroupFilter,
  settings: GroupServerSettings,
  startFrom: Position | undefined = undefined,
): Promise<void> {
  try {
    await client.createPersistentSubscriptionToAll(
      group,
      persistentSubscriptionToAllSettingsFromDefaults({
        startFrom: startFrom ?? START,
        messageTimeout: settings.messageTimeoutMs,
        maxRetryCount: settings.maxRetryCount,
        checkPointAfter: 1_000,
        // One order's events go to one worker while it is connected: it handles them in order
        // (no early-event retries between competing workers, WhatsApp messages in status order).
        // The revision guards stay the safety net when a worker leaves and its streams move.
        consumerStrategyName: PINNED,
        // Catching up, the defaults (batches of 20, buffer of 500) leave the server idle between
        // refills; measured in bench/projections.bench.ts, 500/5000 delivered about 3x as fast.
        readBatchSize: 500,
        historyBufferSize: 5_000,
        liveBufferSize: 1_000,
      }),
      { filter: toClientFilter(filter) },
    );
  } catch (error) {
    if (!(error instanceof PersistentSubscriptionExistsError)) throw error;
  }
}
