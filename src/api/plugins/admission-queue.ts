// A bound on the requests one process works on at once, with a short, bounded wait for a slot:
// beyond the bound a request waits its turn (first come, first served), and at most `maxQueued`
// wait at a time. A request comes with what is left of its latency budget; it is refused at
// once when the wait its place in the line predicts (Little's law: the k-th in line gets a slot
// after about k x service time / slots) plus its own service would not fit in it, and refused
// when its wait runs out (`maxQueueMs`, or its budget less the expected service, whichever is
// sooner). Whoever cannot get a slot in time is told so and answered 503: the process never
// takes on work it cannot finish within the budget.
//
// The bound follows how long the work takes (a gradient limiter, as Netflix's concurrency-limits
// and Envoy's adaptive concurrency do it): every period it moves halfway towards
// `limit x targetServiceMs / mean service time` of that period. Work that queues for the CPU or
// the store takes longer the more of it runs at once, so the bound settles where a slot is held
// about `targetServiceMs` (in-flight = throughput x target); it grows back while answers come
// quicker, with every slot taken, up to `maxInFlight`, and never goes below a floor.

export interface AdmissionLimits {
  /** Requests worked on at once, at most; 0: unbounded (no queue either). */
  maxInFlight: number;
  /** Requests waiting for a slot at once; beyond it, refused without waiting. */
  maxQueued: number;
  /** The longest a request waits for a slot before it is refused. */
  maxQueueMs: number;
  /** How long a request should hold its slot; the bound adapts to keep it there. 0: fixed bound. */
  targetServiceMs?: number;
  /** The adaptive bound never goes below this (default MIN_ADAPTIVE_IN_FLIGHT, or maxInFlight if lower). */
  minInFlight?: number;
  /**
   * Slow start (adaptive bound only): the bound a queue starts with, and comes back down to after
   * a second with nothing in flight; it grows from there while every slot is taken and answers
   * come back within the target. Default maxInFlight (no slow start).
   */
  initialInFlight?: number;
}

/** With nothing in flight this long, an adaptive bound starts slow again. */
const IDLE_RESTART_MS = 1_000;

/**
 * The adaptive bound never goes below this (or maxInFlight, if lower). Low: on a process that
 * gets a fraction of a core (ROLE=all on a busy machine: its workers take their share too), 16
 * slots held answers 10 s at the tail; a few keep a slot near the target, and what would wait
 * past the budget is refused at once instead. (Commands on one order that take turns hold their
 * slots longer for it; past the budget they are refused too, as they would answer too late.)
 */
export const MIN_ADAPTIVE_IN_FLIGHT = 4;

/**
 * queue-full: too many waiting; over-budget: the predicted wait and service do not fit in what is
 * left of the request's budget; queue-timeout: no slot came free in time; aborted: the client left.
 */
export type Refusal = 'queue-full' | 'over-budget' | 'queue-timeout' | 'aborted';

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
/** Weight of the newest held time in the service-time estimate. */
const SERVICE_EWMA_WEIGHT = 0.1;

export class AdmissionQueue {
  #inFlight = 0;
  #limit: number;
  /** Smoothed time a slot is held, ms; undefined until one was. */
  #serviceMs: number | undefined;
  // The current adaptation period: its start, held times, and whether every slot was taken.
  #periodStart = performance.now();
  #periodHeldMs = 0;
  #periodCount = 0;
  #periodSaturated = false;
  /** Insertion-ordered: the oldest waiter first. */
  readonly #waiting = new Set<Waiter>();

  /** Where the bound starts, and restarts after an idle second (slow start; maxInFlight without). */
  readonly #initial: number;
  #idleSince = performance.now();

  constructor(readonly limits: AdmissionLimits) {
    const adaptive = (limits.targetServiceMs ?? 0) > 0;
    this.#initial = adaptive ? Math.max(1, Math.min(limits.maxInFlight, limits.initialInFlight ?? limits.maxInFlight)) : limits.maxInFlight;
    this.#limit = this.#initial;
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

  /** How long a request holds its slot, smoothed, ms (0 before any has). */
  get serviceMs(): number {
    return this.#serviceMs ?? 0;
  }

  /** What a request arriving now would wait for a slot, by Little's law, ms. */
  expectedWaitMs(position = this.#waiting.size + 1): number {
    if (this.#inFlight < this.#limit && this.#waiting.size === 0) return 0;
    return (position * this.serviceMs) / Math.max(1, this.#limit);
  }

  /**
   * Asks for a slot. `budgetMs`: what is left of the request's own latency budget (a wait and the
   * service must fit in it); without one, only `maxQueueMs` bounds the wait. A free slot is
   * always taken (the service time is then measured afresh; a command checks its deadline again
   * before it reaches the store).
   */
  enter(budgetMs = Number.POSITIVE_INFINITY): Ticket {
    const { maxInFlight, maxQueued, maxQueueMs } = this.limits;
    if (maxInFlight <= 0) return { outcome: ADMITTED, leave: () => undefined };
    // A load after a pause starts slow, as the first one did: the bound it had then was measured
    // on work that may no longer be there (and a cold start's first commands all at once wait
    // behind each other at the store).
    if (this.#inFlight === 0 && this.#limit > this.#initial && performance.now() - this.#idleSince > IDLE_RESTART_MS) this.#limit = this.#initial;
    if (this.#inFlight < this.#limit && this.#waiting.size === 0) {
      this.#inFlight++;
      if (this.#inFlight >= this.#limit) this.#periodSaturated = true;
      return { outcome: ADMITTED, leave: this.#releaseOnce() };
    }
    this.#periodSaturated = true;
    if (this.#waiting.size >= maxQueued || maxQueueMs <= 0) return refused('queue-full');
    const waitMs = Math.min(maxQueueMs, budgetMs - this.serviceMs);
    if (waitMs <= 0 || this.expectedWaitMs() > waitMs) return refused('over-budget');

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
      timer: setTimeout(() => waiter.settle('queue-timeout'), waitMs),
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
      const now = performance.now();
      this.#observe(admittedAt, now);
      this.#inFlight--;
      if (this.#inFlight === 0) this.#idleSince = now;
      while (this.#inFlight < this.#limit) {
        const next = this.#waiting.values().next();
        if (next.done) break;
        next.value.settle('admitted');
      }
    };
  }

  #observe(admittedAt: number, now: number): void {
    const heldMs = now - admittedAt;
    this.#serviceMs = this.#serviceMs === undefined ? heldMs : this.#serviceMs + SERVICE_EWMA_WEIGHT * (heldMs - this.#serviceMs);
    const target = this.limits.targetServiceMs ?? 0;
    // A period goes by the requests admitted in it, under the bound it set: those in flight
    // together before it all report the same slowness, which the last change already answered.
    if (target <= 0 || admittedAt < this.#periodStart) return;
    this.#periodHeldMs += heldMs;
    this.#periodCount++;
    // A period of a quarter of the target, long enough to hold a few answers.
    if (now - this.#periodStart < target / 4 || this.#periodCount < 4) return;
    const meanMs = Math.max(1, this.#periodHeldMs / this.#periodCount);
    const floor = Math.min(this.limits.minInFlight ?? MIN_ADAPTIVE_IN_FLIGHT, this.limits.maxInFlight);
    // Grow only when every slot was taken (otherwise the bound was not what held answers back),
    // at most doubling; shrink at most by half per period.
    const gradient = Math.min(this.#periodSaturated ? 2 : 1, Math.max(0.5, target / meanMs));
    const wanted = this.#limit * gradient;
    this.#limit = Math.round(Math.min(this.limits.maxInFlight, Math.max(floor, (this.#limit + wanted) / 2)));
    this.#periodStart = now;
    this.#periodHeldMs = 0;
    this.#periodCount = 0;
    this.#periodSaturated = this.#inFlight >= this.#limit || this.#waiting.size > 0;
  }
}

function refused(reason: Refusal): Ticket {
  return { outcome: Promise.resolve(reason), leave: () => undefined };
}
