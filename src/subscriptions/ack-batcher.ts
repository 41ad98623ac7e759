// Acks are cheap to batch: one gRPC message can carry many event ids. Acks queued in the same
// turn of the event loop go out together, which matters when catching up on many events.
import type { PersistentSubscriptionToAll, PersistentSubscriptionToAllResolvedEvent } from '@eventstore/db-client';

const MAX_BATCH = 256;

export class AckBatcher {
  #pending: PersistentSubscriptionToAllResolvedEvent[] = [];
  #scheduled = false;
  #flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly subscription: PersistentSubscriptionToAll,
    private readonly onError: (error: unknown) => void,
  ) {}

  ack(event: PersistentSubscriptionToAllResolvedEvent): void {
    this.#pending.push(event);
    if (this.#pending.length >= MAX_BATCH) {
      this.flush();
    } else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): Promise<void> {
    this.#scheduled = false;
    if (this.#pending.length === 0) return this.#flushing;
    const batch = this.#pending;
    this.#pending = [];
    this.#flushing = this.#flushing.then(() => this.subscription.ack(...batch)).catch(this.onError);
    return this.#flushing;
  }
}
