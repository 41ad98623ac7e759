// A bound on the requests one process works on at once, with a short, bounded wait for a slot:
// beyond the bound a request waits its turn (first come, first served) for at most
// `maxQueueMs`, and at most `maxQueued` wait at a time. Whoever cannot get a slot is told so at
// once or when its wait runs out, and can then be answered 503: the process never holds more
// work than it can finish within the budget.
//
// The bound follows how long the work takes: while requests hold their slot longer than
// `targetServiceMs` (a store slowed by a busy machine, a disk, a long GC), it shrinks by a
// quarter (at most once per target period, never below 16 slots); while they finish in half
// of it with every slot taken, it grows by one again, up to `maxInFlight`. A fixed count alone
// would let 64 commands each wait seconds on a store that has slowed down.

export interface AdmissionLimits {
  /** Requests worked on at once; 0: unbounded (no queue either). */
  maxInFlight: number;
  /** Requests waiting for a slot at once; beyond it, refused without waiting. */
  maxQueued: number;
  /** The longest a request waits for a slot before it is refused. */
  maxQueueMs: number;
  /** How long a request should hold its slot; the bound adapts to keep it there. 0: fixed bound. */
  targetServiceMs?: number;
}

/**
 * The adaptive bound never goes below this (or maxInFlight, if lower): a dozen commands on one
 * order take turns and hold their slots longer for it, yet are no overload.
 */
export const MIN_ADAPTIVE_IN_FLIGHT = 16;

export type Refusal = 'queue-full' | 'queue-timeout' | 'aborted';

export interface Ticket {
  /** 'admitted' once the request holds a slot; else why it never will. */
  readonly outcome: Promise<'admitted' | Refusal>;
  /** Gives the slot back, or leaves the queue; safe to call more than once. */
  leave(): void;
}

interface Waiter {
  settle(outcome: 'admitted' | Refusal): void;
  timer: NodeJS.Timeout;
}

const ADMITTED = Promise.resolve('admitted' as const);

export class AdmissionQueue {
  #inFlight = 0;
  #limit: number;
  #lastDecrease = Number.NEGATIVE_INFINITY;
  /** Insertion-ordered: the oldest waiter first. */
  readonly #waiting = new Set<Waiter>();

  constructor(readonly limits: AdmissionLimits) {
    this.#limit = limits.maxInFlight;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** The bound right now (maxInFlight, or lower while requests take longer than the target). */
  get limit(): number {
    return this.#limit;
  }

  get queued(): number {
    return this.#waiting.size;
  }

  enter(): Ticket {
    const { maxInFlight, maxQueued, maxQueueMs } = this.limits;
    if (maxInFlight <= 0) return { outcome: ADMITTED, leave: () => undefined };
    if (this.#inFlight < this.#limit && this.#waiting.size === 0) {
      this.#inFlight++;
      return { outcome: ADMITTED, leave: this.#releaseOnce() };
    }
    if (this.#waiting.size >= maxQueued || maxQueueMs <= 0) return { outcome: Promise.resolve('queue-full'), leave: () => undefined };

    let state: 'waiting' | 'admitted' | 'refused' = 'waiting';
    let release = (): void => undefined;
    let settle!: (outcome: 'admitted' | Refusal) => void;
    const outcome = new Promise<'admitted' | Refusal>((resolve) => (settle = resolve));
    const waiter: Waiter = {
      settle: (result) => {
        this.#waiting.delete(waiter);
        clearTimeout(waiter.timer);
        if (result === 'admitted') {
          this.#inFlight++;
          release = this.#releaseOnce();
          state = 'admitted';
        } else {
          state = 'refused';
        }
        settle(result);
      },
      timer: setTimeout(() => waiter.settle('queue-timeout'), maxQueueMs),
    };
    this.#waiting.add(waiter);
    return {
      outcome,
      leave: () => {
        if (state === 'waiting') waiter.settle('aborted');
        else release();
      },
    };
  }

  #releaseOnce(): () => void {
    let released = false;
    const admittedAt = performance.now();
    return () => {
      if (released) return;
      released = true;
      this.#adapt(performance.now() - admittedAt);
      this.#inFlight--;
      while (this.#inFlight < this.#limit) {
        const next = this.#waiting.values().next();
        if (next.done) break;
        next.value.settle('admitted');
      }
    };
  }

  #adapt(heldMs: number): void {
    const target = this.limits.targetServiceMs ?? 0;
    if (target <= 0) return;
    const now = performance.now();
    const floor = Math.min(MIN_ADAPTIVE_IN_FLIGHT, this.limits.maxInFlight);
    if (heldMs > target) {
      // Once per period: the requests that were in flight together all report the same slowness.
      if (now - this.#lastDecrease < target) return;
      this.#lastDecrease = now;
      this.#limit = Math.max(floor, Math.floor(this.#limit * 0.75));
    } else if (heldMs <= target / 2 && this.#inFlight >= this.#limit) {
      this.#limit = Math.min(this.limits.maxInFlight, this.#limit + 1);
    }
  }
}
