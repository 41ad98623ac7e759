// Lag of subscription groups in events: how many events matching each group's filter were
// written after its last checkpoint. One pass over $all serves every group; the pass is capped so
// a badly lagging store answers quickly (the lag then shows as "more than").
import { FORWARDS, START, type EventStoreDBClient, type Position } from '@eventstore/db-client';
import type { GroupFilter } from '../subscriptions/group-settings.js';

export interface LagQuery {
  group: string;
  /** Last checkpoint; undefined when the group has none (everything is lag). */
  checkpoint: Position | undefined;
  filter: GroupFilter;
}

export interface Lag {
  events: number;
  /** True when the count stopped at the cap: the lag is at least `events`. */
  atLeast: boolean;
}

export const LAG_SCAN_CAP = 250_000;

export async function measureLag(client: EventStoreDBClient, queries: readonly LagQuery[], cap = LAG_SCAN_CAP): Promise<Map<string, Lag>> {
  const lags = new Map<string, Lag>(queries.map((query) => [query.group, { events: 0, atLeast: false }]));
  if (queries.length === 0) return lags;
  const from = queries.some((query) => !query.checkpoint)
    ? undefined
    : queries.map((query) => query.checkpoint!).reduce((low, position) => (position.commit < low.commit ? position : low));
  let scanned = 0;
  for await (const resolved of client.readAll({ direction: FORWARDS, fromPosition: from ?? START, maxCount: cap })) {
    scanned++;
    const event = resolved.event;
    if (!event?.position) continue;
    for (const query of queries) {
      if (query.checkpoint && event.position.commit <= query.checkpoint.commit) continue;
      if (matches(query.filter, event.streamId, event.type)) lags.get(query.group)!.events++;
    }
  }
  if (scanned >= cap) for (const lag of lags.values()) lag.atLeast = true;
  return lags;
}

function matches(filter: GroupFilter, streamId: string, type: string): boolean {
  const subject = filter.on === 'stream' ? streamId : type;
  return filter.prefixes.some((prefix) => subject.startsWith(prefix));
}
