// Recently written orders kept in memory so a command on a hot order skips re-reading its
// stream. Safe with several instances: every append still states its expected revision, and a
// stale entry only costs one WrongExpectedVersion and a fresh read.
import type { LoadedOrder } from './order-stream.js';

export class OrderStateCache {
  private readonly entries = new Map<string, LoadedOrder>();

  constructor(private readonly capacity = 10_000) {}

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
    this.entries.delete(orderId);
    this.entries.set(orderId, loaded);
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
  }

  delete(orderId: string): void {
    this.entries.delete(orderId);
  }
}
