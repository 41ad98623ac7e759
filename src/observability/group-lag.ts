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
//
// The CLI counts once (measureGroupLag). The metric, refreshed every few seconds for each group,
// counts through one LagScanner per client (sharedLagScanner): it keeps the position, stream and
// type of the newest events of $all (no payload) and reads only what was written since its last
// read, so each event is read and decoded once for all the groups, not once per group and refresh
// (each group re-read up to 20,000 whole events every 5 s behind a burst).
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

function heldFor(info: LagQuery['info']): number {
  const { stats } = info;
  return (stats.readBufferCount ?? 0) + (stats.retryBufferCount ?? 0) + (stats.totalInFlightMessages ?? 0);
}

/** Whether an event at `commit` is one the group has not read yet. */
function unread(start: Exclude<From, 'end'>, commit: bigint): boolean {
  if ('after' in start) return commit > start.after.commit;
  return start.from === START || commit >= start.from.commit;
}

/** The lag of each group; one pass over $all serves them all. */
export async function measureGroupLag(client: EventStoreDBClient, queries: readonly LagQuery[], cap = LAG_SCAN_CAP): Promise<Map<string, Lag>> {
  const lags = new Map<string, Lag>();
  const starts = new Map<string, From>();
  for (const query of queries) {
    lags.set(query.group, { events: heldFor(query.info), atLeast: false });
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
      if (!unread(starts.get(query.group) as Exclude<From, 'end'>, event.position.commit)) continue;
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

/** What the lag needs of an event of $all. */
interface Seen {
  commit: bigint;
  streamId: string;
  type: string;
}

/**
 * The lag of groups on one client, from a window of $all (position, stream and type of each event,
 * at most `cap` of them) extended by what was written since the last read. A window read less
 * than `maxAgeMs` ago serves the next group as it is (the groups' refreshes come together).
 */
export class LagScanner {
  readonly #client: EventStoreDBClient;
  readonly #cap: number;
  readonly #maxAgeMs: number;
  readonly #readBudgetMs: number;
  /** Oldest first: every event of $all after #coveredAfter, up to #lastCommit. */
  #seen: Seen[] = [];
  /** The commit position the window starts after (-1n: the start of $all); none before a first group. */
  #coveredAfter: bigint | undefined;
  /** The window lost events a group may need to the cap: a group starting before it has at least its count. */
  #trimmed = false;
  /** Where the next read starts, and the last commit position read (events up to it are skipped). */
  #readFrom: Position | typeof START = START;
  #lastCommit = -1n;
  /** The last read stopped at its size, short of the head. */
  #short = false;
  #readAt = Number.NEGATIVE_INFINITY;
  #reading: Promise<void> | undefined;
  /** The lowest start of the groups asked since the last read: older events are no one's lag. */
  #lowestAsked: bigint | undefined;

  /**
   * readBudgetMs: how long one read extends the window before the refresh answers with what it
   * has (at least that many; the next read goes on from there). Behind a burst of large orders, a
   * read of the ~1,100 events the groups had not processed took 62 s, on a main thread busy
   * projecting them, and every group's gauge kept its last value (0) for that minute.
   */
  constructor(client: EventStoreDBClient, { cap = METRIC_LAG_SCAN_CAP, maxAgeMs = 1000, readBudgetMs = 1000 }: { cap?: number; maxAgeMs?: number; readBudgetMs?: number } = {}) {
    this.#client = client;
    this.#cap = cap;
    this.#maxAgeMs = maxAgeMs;
    this.#readBudgetMs = readBudgetMs;
  }

  async lag(query: LagQuery): Promise<Lag> {
    const held = heldFor(query.info);
    const start = unreadFrom(query.info);
    if (start === 'end') return { events: held, atLeast: false };
    const after = 'after' in start ? start.after.commit : start.from === START ? -1n : start.from.commit - 1n;
    while (this.#reading) await this.#reading;
    if (this.#coveredAfter === undefined || (after < this.#coveredAfter && !this.#trimmed)) this.#restart(start, after);
    this.#lowestAsked = this.#lowestAsked === undefined || after < this.#lowestAsked ? after : this.#lowestAsked;
    if (performance.now() - this.#readAt >= this.#maxAgeMs) await this.#readOnce();
    let events = held;
    for (const seen of this.#seen) if (seen.commit > after && matches(query.filter, seen.streamId, seen.type)) events++;
    return { events, atLeast: this.#short || (after < this.#coveredAfter! && this.#trimmed) };
  }

  /** The first group, or one starting before the window: the window starts again at its start. */
  #restart(start: Exclude<From, 'end'>, after: bigint): void {
    this.#seen = [];
    this.#coveredAfter = after;
    this.#trimmed = false;
    this.#readFrom = 'after' in start ? start.after : start.from;
    this.#lastCommit = after;
    this.#readAt = Number.NEGATIVE_INFINITY;
  }

  #readOnce(): Promise<void> {
    this.#reading ??= this.#read().finally(() => {
      this.#reading = undefined;
    });
    return this.#reading;
  }

  async #read(): Promise<void> {
    // What no group asked since the last read is behind every group: dropped, not trimmed.
    const needed = this.#lowestAsked;
    this.#lowestAsked = undefined;
    if (needed !== undefined && needed > this.#coveredAfter!) this.#dropThrough(needed, false);
    let read = 0;
    let outOfTime = false;
    const until = performance.now() + this.#readBudgetMs;
    // One more than the cap: a read from the last event read gives that one again first.
    const reading = this.#client.readAll({ direction: FORWARDS, fromPosition: this.#readFrom, maxCount: this.#cap + 1 });
    for await (const resolved of reading) {
      read++;
      const event = resolved.event;
      if (!event?.position || event.position.commit <= this.#lastCommit) continue;
      this.#seen.push({ commit: event.position.commit, streamId: event.streamId, type: event.type });
      this.#lastCommit = event.position.commit;
      this.#readFrom = event.position;
      if (performance.now() >= until) {
        // The call is cancelled (leaving the loop alone would leave it open on the store); the next read starts from this event.
        outOfTime = true;
        await reading.cancel();
        break;
      }
    }
    this.#short = read > this.#cap || outOfTime;
    this.#readAt = performance.now();
    const over = this.#seen.length - this.#cap;
    if (over > 0) this.#dropThrough(this.#seen[over - 1]!.commit, true);
  }

  #dropThrough(commit: bigint, trimmed: boolean): void {
    let kept = 0;
    while (kept < this.#seen.length && this.#seen[kept]!.commit <= commit) kept++;
    this.#seen = this.#seen.slice(kept);
    this.#coveredAfter = commit;
    this.#trimmed = trimmed;
  }
}

const scanners = new WeakMap<EventStoreDBClient, LagScanner>();

/** One scanner per client: the groups of a process share its window and its reads. */
export function sharedLagScanner(client: EventStoreDBClient): LagScanner {
  let scanner = scanners.get(client);
  if (!scanner) {
    scanner = new LagScanner(client);
    scanners.set(client, scanner);
  }
  return scanner;
}
