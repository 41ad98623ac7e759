// Where the API and the workers share one process (ROLE=all, what `npm start` runs), they share
// one event loop: while the API sheds load, each event a projection or handler takes in (decoding
// it, writing the read model) is time the API's answers wait for, and a burst of requests then
// waits seconds before it is even read. So while the API sheds, the workers take no new events:
// their subscriptions are paused (what is in flight finishes; the store keeps the rest and the
// groups catch up afterwards). Bounded so the workers never starve: closed at most `maxClosedMs`
// at a time, then open at least `minOpenMs`, well inside the groups' message timeout (30 s).
// Opened that way while the API still sheds, it is open narrowly: each group takes at most
// `NARROW_IN_FLIGHT` events at a time. Fully open, the groups' catch-up of five seconds' events
// (decoding, read-model transactions, their deliveries on the client's connection) stretched the
// loop's turns, the shared BatchAppend stream moved its two appends a turn more slowly, and the
// commands admitted just before spent 1.2-1.8 s in the store (the overload bench's moments over
// 2 s every ~6 s: 5 closed, 1 open). A process without an API never closes it.
import { Counter } from 'prom-client';
import { registry } from '../observability/metrics.js';

export interface IntakeGateTimes {
  /** The gate opens again this long after the last shed request. */
  holdMs: number;
  /** The longest it stays closed at a time, however long the shedding goes on. */
  maxClosedMs: number;
  /** Once reopened after maxClosedMs, it stays open at least this long. */
  minOpenMs: number;
}

export const DEFAULT_INTAKE_GATE_TIMES: IntakeGateTimes = { holdMs: 1_000, maxClosedMs: 5_000, minOpenMs: 1_000 };

/** Events a group takes at a time while the gate is open only because it was closed maxClosedMs. */
export const NARROW_IN_FLIGHT = 2;

export class IntakeGate {
  #open = true;
  #narrow = false;
  #widenPending = false;
  #closedAt = 0;
  #openedAt = Number.NEGATIVE_INFINITY;
  #lastPressureAt = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly #listeners = new Set<(open: boolean) => void>();

  constructor(
    readonly times: IntakeGateTimes = DEFAULT_INTAKE_GATE_TIMES,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get open(): boolean {
    return this.#open;
  }

  /** Open only because it was closed maxClosedMs, while the API still sheds. */
  get narrow(): boolean {
    return this.#narrow;
  }

  /** How many events a group whose own bound is `maxInFlight` may have in flight now: 0 while closed. */
  limit(maxInFlight: number): number {
    if (!this.#open) return 0;
    return this.#narrow ? Math.min(maxInFlight, NARROW_IN_FLIGHT) : maxInFlight;
  }

  /** The API shed a request: close the gate (unless it just reopened after maxClosedMs). */
  pressure(): void {
    const now = this.now();
    this.#lastPressureAt = now;
    if (!this.#open || now - this.#openedAt < this.times.minOpenMs) {
      if (this.#open) this.#scheduleWiden(now);
      return;
    }
    this.#open = false;
    this.#narrow = false;
    this.#closedAt = now;
    this.#notify();
    this.#schedule(now);
  }

  /** Called with the gate's new state on every change; returns the unsubscribe. */
  onChange(listener: (open: boolean) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Re-evaluates a closed gate (its timer does; a test with its own clock calls it). */
  check(): void {
    const now = this.now();
    const pressed = now - this.#lastPressureAt < this.times.holdMs;
    if (this.#open) {
      // Narrowly open: fully once nothing was shed for holdMs.
      if (this.#narrow && !pressed) {
        this.#narrow = false;
        this.#notify();
      } else if (this.#narrow) this.#scheduleWiden(now);
      return;
    }
    if (pressed && now - this.#closedAt < this.times.maxClosedMs) {
      this.#schedule(now);
      return;
    }
    this.#open = true;
    this.#narrow = pressed;
    this.#openedAt = now;
    this.#notify();
    if (pressed) this.#scheduleWiden(now);
  }

  /**
   * A narrowly open gate widens holdMs after the last shed request, if it is not closed first: one
   * timer at a time (not one per shed request, thousands a second), which re-arms itself from the
   * last shed request when it fires early.
   */
  #scheduleWiden(now: number): void {
    if (!this.#narrow || this.#widenPending) return;
    this.#widenPending = true;
    this.#timer = setTimeout(() => {
      this.#widenPending = false;
      this.check();
    }, Math.max(1, this.#lastPressureAt + this.times.holdMs - now));
    this.#timer.unref();
  }

  #schedule(now: number): void {
    clearTimeout(this.#timer);
    this.#widenPending = false;
    const at = Math.min(this.#lastPressureAt + this.times.holdMs, this.#closedAt + this.times.maxClosedMs);
    this.#timer = setTimeout(() => this.check(), Math.max(1, at - now));
    this.#timer.unref();
  }

  /** Listeners get `open` on every change, narrowing and widening included (read limit() for the bound). */
  #notify(): void {
    for (const listener of this.#listeners) listener(this.#open);
  }
}

/** This process's gate: the API's load shedding closes it, the subscription groups obey it. */
export const workerIntake = new IntakeGate();

const intakePauses = new Counter({
  name: 'worker_intake_pauses_total',
  help: 'Times the workers of this process stopped taking new events while its API shed load (ROLE=all)',
  registers: [registry],
});
workerIntake.onChange((open) => {
  if (!open) intakePauses.inc();
});
