// The writes a group has started (checkpoints, parked messages, replay marks), so stopping it
// can wait for them. A write that fails because the log closed is left to the next start:
// what was not written is delivered again.
export class PendingWrites {
  private readonly pending = new Set<Promise<unknown>>();

  track(write: Promise<unknown>): void {
    const tracked = write.catch(() => undefined);
    this.pending.add(tracked);
    void tracked.finally(() => this.pending.delete(tracked));
  }

  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}
