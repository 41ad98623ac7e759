// The writes a group makes (checkpoints, parked messages, replay marks). None is dropped: a write
// that fails (the disk is full, say) is retried with a growing delay for as long as the group
// runs, so once the store can write again the group carries on where it was (a parked message
// counts as done only once its parked copy is durable, so until then the group's checkpoint
// stays behind it). Stopping the group ends the retries: what was not written then is left to
// the next start, which delivers it again. Until a failing write succeeds, `failing` says which
// and why (the group's figures show it).
const FIRST_RETRY_MS = 50;
const MAX_RETRY_MS = 2_000;

export interface FailingWrite {
  /** What the group was writing: `checkpoint`, `park`, `replay mark`. */
  what: string;
  reason: string;
  since: number;
  attempts: number;
}

export class PendingWrites {
  private readonly pending = new Set<Promise<unknown>>();
  private readonly sleeping = new Set<() => void>();
  private readonly failures = new Map<object, FailingWrite>();
  private closed = false;

  /** Tracks a write already started (no retry): for callers that handle its failure themselves. */
  track(write: Promise<unknown>): void {
    const tracked = write.catch(() => undefined);
    this.pending.add(tracked);
    void tracked.finally(() => this.pending.delete(tracked));
  }

  /**
   * Runs `write` until it succeeds, retrying after each failure while the group runs and
   * `stillWanted()` holds (a checkpoint superseded by a newer one is not retried). Rejects with
   * the last failure once retrying stopped.
   */
  retrying<T>(what: string, write: () => Promise<T>, stillWanted: () => boolean = () => true): Promise<T> {
    const token = {};
    const run = async (): Promise<T> => {
      for (let attempt = 1; ; attempt++) {
        try {
          const result = await write();
          this.failures.delete(token);
          return result;
        } catch (error) {
          const reason = error instanceof Error ? error.message : String(error);
          const failure = this.failures.get(token);
          this.failures.set(token, { what, reason, since: failure?.since ?? Date.now(), attempts: attempt });
          if (this.closed || !stillWanted()) {
            this.failures.delete(token);
            throw error;
          }
          // Woken early by close(): one last attempt, then the failure above gives up.
          await this.sleep(Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (attempt - 1)));
        }
      }
    };
    const result = run();
    this.track(result);
    return result;
  }

  /** The oldest write that keeps failing, if any. */
  get failing(): FailingWrite | undefined {
    let oldest: FailingWrite | undefined;
    for (const failure of this.failures.values()) if (!oldest || failure.since < oldest.since) oldest = failure;
    return oldest;
  }

  /** Ends the retries: each failing write makes one last attempt, then gives up. */
  close(): void {
    this.closed = true;
    for (const wake of this.sleeping) wake();
    this.sleeping.clear();
  }

  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private sleep(ms: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleeping.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      timer.unref?.();
      this.sleeping.add(wake);
    });
  }
}
