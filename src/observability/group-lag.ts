// Lag of a persistent subscription group: the one figure `orders projections`, the
// `subscription_lag` metric and the dashboard show. It is in events (not log positions, which on
// EventStoreDB are byte offsets): events for the group that it has not processed yet, 0 when it is
// idle and caught up, however long ago it last checkpointed. Counted from what the server reports:
//
//   events matching the group's filter written after the last event the server read for the
//   group (lastKnownEventPosition; before the first one, its start position)
//   + events the server holds for it in its read and retry buffers
//   + events delivered and not yet acked (in flight)
//
// The checkpoint is not used: small groups write one only every checkPointAfter / after enough
// acks, so counting from it showed lag on a fully processed, idle store.
import { END, FORWARDS, START, type EventStoreDBClient, type PersistentSubscriptionToAllInfo, type Position } from '@eventstore/db-client';
import type { GroupFilter } from '../subscriptions/group-settings.js';

export interface LagQuery {
  group: string;
  filter: GroupFilter;
  info: Pick<PersistentSubscriptionToAllInfo, 'stats' | 'settings'>;
}

export interface Lag {
  events: number;
  /** True when the count of unread events stopped at the cap: the lag is at least `events`. */
  atLeast: boolean;
}

/** The CLI's cap; the metric, refreshed every few seconds per group, counts over fewer. */
export const LAG_SCAN_CAP = 250_000;
export const METRIC_LAG_SCAN_CAP = 20_000;

type From = { after: Position } | { from: Position | typeof START } | 'end';

/** Where the group's unread events begin. */
function unreadFrom(info: LagQuery['info']): From {
  const known = info.stats.lastKnownEventPosition;
  if (known && known.commit >= 0n) return { after: known };
  const checkpoint = info.stats.lastCheckpointedEventPosition;
  if (checkpoint && checkpoint.commit >= 0n) return { after: checkpoint };
  const start = info.settings.startFrom;
  if (start === END) return 'end';
  return { from: start === START || start === undefined ? START : (start as Position) };
}

/** The lag of each group; one pass over $all serves them all. */
export async function measureGroupLag(client: EventStoreDBClient, queries: readonly LagQuery[], cap = LAG_SCAN_CAP): Promise<Map<string, Lag>> {
  const lags = new Map<string, Lag>();
  const starts = new Map<string, From>();
  for (const query of queries) {
    const { stats } = query.info;
    const held = (stats.readBufferCount ?? 0) + (stats.retryBufferCount ?? 0) + (stats.totalInFlightMessages ?? 0);
    lags.set(query.group, { events: held, atLeast: false });
    starts.set(query.group, unreadFrom(query.info));
  }
  const counted = queries.filter((query) => starts.get(query.group) !== 'end');
  if (counted.length === 0) return lags;
  const lowest = counted
    .map((query) => starts.get(query.group) as Exclude<From, 'end'>)
    .reduce<Position | typeof START>((low, start) => {
      const position = 'after' in start ? start.after : start.from;
      if (low === START || position === START) return START;
      return position.commit < low.commit ? position : low;
    }, { commit: BigInt(Number.MAX_SAFE_INTEGER), prepare: BigInt(Number.MAX_SAFE_INTEGER) });
  let scanned = 0;
  for await (const resolved of client.readAll({ direction: FORWARDS, fromPosition: lowest, maxCount: cap })) {
    scanned++;
    const event = resolved.event;
    if (!event?.position) continue;
    for (const query of counted) {
      const start = starts.get(query.group) as Exclude<From, 'end'>;
      if ('after' in start && event.position.commit <= start.after.commit) continue;
      if ('from' in start && start.from !== START && event.position.commit < start.from.commit) continue;
      if (matches(query.filter, event.streamId, event.type)) lags.get(query.group)!.events++;
    }
  }
  if (scanned >= cap) for (const query of counted) lags.get(query.group)!.atLeast = true;
  return lags;
}

function matches(filter: GroupFilter, streamId: string, type: string): boolean {
  const subject = filter.on === 'stream' ? streamId : type;
  return filter.prefixes.some((prefix) => subject.startsWith(prefix));
}
