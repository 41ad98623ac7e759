// Recently written orders kept in memory so a command on a hot order skips re-reading its
// stream, and the turns commands on one order take in this process. Safe with several
// instances: every append still states its expected revision, and a stale entry only costs one
// WrongExpectedVersion and a fresh read.
import type { LoadedOrder } from './order-stream.js';

export class OrderStateCache {
  private readonly entries = new Map<string, LoadedOrder>();
  /** Commands on one order in this process run one after the other, not against each other. */
  readonly turns = new OrderTurns();

  /** Items held by the cached states: a 200-item order weighs as much as 200 small ones. */
  private items = 0;

  /** At most `capacity` orders and `maxItems` order lines (about 25 MB), whichever comes first. */
  constructor(
    private readonly capacity = 10_000,
    private readonly maxItems = 50_000,
  ) {}

  get(orderId: string): LoadedOrder | undefined {
    const entry = this.entries.get(orderId);
    if (entry) {
      // Map order is insertion order: re-inserting marks the entry most recently used.
      this.entries.delete(orderId);
      this.entries.set(orderId, entry);
    }
    return entry;
  }

  set(orderId: string, loaded: LoadedOrder): void {
    this.delete(orderId);
    this.entries.set(orderId, loaded);
    this.items += weight(loaded);
    // Keep the newest entry whatever it weighs; evict the least recently used before it.
    while (this.entries.size > 1 && (this.entries.size > this.capacity || this.items > this.maxItems)) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.delete(oldest.value);
    }
  }

  delete(orderId: string): void {
    const entry = this.entries.get(orderId);
    if (!entry) return;
    this.entries.delete(orderId);
    this.items -= weight(entry);
  }
}

function weight(loaded: LoadedOrder): number {
  return 1 + (loaded.state.exists ? loaded.state.items.length + Object.keys(loaded.state.payments).length : 0);
}

/**
 * A queue per key: `run(key, fn)` starts fn once every earlier fn of the same key has settled.
 * Keys with nothing queued hold no memory; different keys never wait for each other.
 */
export class OrderTurns {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Orders with a command running or waiting (for tests and metrics). */
  get busy(): number {
    return this.tails.size;
  }

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key);
    // Nobody ahead: start now, without a turn of the microtask queue.
    const result = previous ? previous.then(fn, fn) : fn();
    const tail = result.then(noop, noop);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}

function noop(): void {}
