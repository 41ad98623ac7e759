// The newest events of $all, read once for every group on $all. Live groups all read the same
// few events after each commit, each with its own filter: read alone, every group ran the same
// SQLite query and built the same event objects (bench/lifecycle.bench.ts: the biggest part of
// the store's group dispatch). Here one unfiltered read extends a window of recent events and
// each group's filter picks from it. Rows of the log never change once written, so a cached
// event is the event. A group further behind than the window, or one that resolves links,
// reads the log itself.
import { compileAllFilter } from '../log/all-filter.js';
import type { AllFilter, EventLog, ReadAllResult, ResolvedEvent } from '../log/types.js';
import { resolvedEventBytes } from '../log/event-bytes.js';

/** Events kept (up to twice as many between trims): more than a live group reads at once. */
const CAPACITY = 2048;
/** Bytes of event data and metadata kept at most: large events make the window shorter. */
const MAX_BYTES = 16 * 1024 * 1024;
/** Rows read per query when the window is extended. */
const PAGE = 1000;

export class SharedTail {
  private events: ResolvedEvent[] = [];
  /** The window holds every row of the log from `start` up to `end` (nothing yet: end < start). */
  private start = 0;
  private end = -1;
  private bytes = 0;

  constructor(private readonly log: EventLog) {}

  /**
   * As `log.readAll({ from, direction: 'forwards', maxCount, filter, maxSearchWindow,
   * resolveLinkTos: false })`, or undefined when `from` is outside the window (the caller reads
   * the log).
   */
  readForwards(from: number, maxCount: number, filter: AllFilter, maxSearchWindow: number): ReadAllResult | undefined {
    const head = this.log.headPosition();
    if (head - from >= CAPACITY) return undefined;
    // Nothing read that far yet: the window starts over at `from` (never reads from further back).
    if (from > this.end + 1) {
      this.events = [];
      this.bytes = 0;
      this.start = from;
      this.end = from - 1;
    }
    this.extendTo(head);
    // The window starts after `from` (trimmed, or started later for another group): not served here.
    if (from < this.start) return undefined;
    const events = this.events;
    if (from > this.end) return { events: [], lastScannedPosition: undefined, endOfLog: true };
    const matches = compileAllFilter(filter);
    const found: ResolvedEvent[] = [];
    let index = firstAtOrAfter(events, from);
    let scanned = 0;
    let lastScannedPosition: number | undefined;
    while (index < events.length && found.length < maxCount && scanned < maxSearchWindow) {
      const resolved = events[index++]!;
      scanned++;
      lastScannedPosition = resolved.position;
      const recorded = resolved.event!;
      if (matches(recorded.stream, recorded.type)) found.push(resolved);
    }
    // At the end of the window, and the window at the head (large events may keep it short).
    return { events: found, lastScannedPosition, endOfLog: index >= events.length && this.end >= head };
  }

  private extendTo(head: number): void {
    while (this.end < head) {
      const result = this.log.readAll({ from: this.end + 1, direction: 'forwards', maxCount: Math.min(PAGE, head - this.end), resolveLinkTos: false });
      if (result.lastScannedPosition === undefined) break;
      for (const resolved of result.events) {
        this.events.push(resolved);
        this.bytes += resolvedEventBytes(resolved);
      }
      this.end = result.lastScannedPosition;
      if (result.endOfLog || this.bytes > MAX_BYTES) break;
    }
    // Trimmed now and then rather than on every read.
    if (this.events.length > 2 * CAPACITY || this.bytes > MAX_BYTES) this.trim();
  }

  private trim(): void {
    let drop = Math.max(0, this.events.length - CAPACITY);
    let bytes = this.bytes;
    for (let index = 0; index < drop; index++) bytes -= resolvedEventBytes(this.events[index]!);
    while (bytes > MAX_BYTES / 2 && drop < this.events.length) bytes -= resolvedEventBytes(this.events[drop++]!);
    this.events = this.events.slice(drop);
    this.bytes = bytes;
    this.start = this.events[0]?.position ?? this.end + 1;
  }
}

function firstAtOrAfter(events: ResolvedEvent[], position: number): number {
  let low = 0;
  let high = events.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (events[middle]!.position < position) low = middle + 1;
    else high = middle;
  }
  return low;
}

