// Where the API and the workers share one process (ROLE=all, what `npm start` runs), they share
// one event loop: while the API sheds load, each event a projection or handler takes in (decoding
// it, writing the read model) is time the API's answers wait for, and a burst of requests then
// waits seconds before it is even read. So while the API sheds, the workers take no new events:
// their subscriptions are paused (what is in flight finishes; the store keeps the rest and the
// groups catch up afterwards). Bounded so the workers never starve: closed at most `maxClosedMs`
// at a time, then open at least `minOpenMs`, well inside the groups' message timeout (30 s).
// A process without an API never closes it.
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

export class IntakeGate {
  #open = true;
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

  /** The API shed a request: close the gate (unless it just reopened after maxClosedMs). */
  pressure(): void {
    const now = this.now();
    this.#lastPressureAt = now;
    if (!this.#open || now - this.#openedAt < this.times.minOpenMs) return;
    this.#open = false;
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
    if (this.#open) return;
    const now = this.now();
    if (now - this.#lastPressureAt < this.times.holdMs && now - this.#closedAt < this.times.maxClosedMs) {
      this.#schedule(now);
      return;
    }
    this.#open = true;
    this.#openedAt = now;
    this.#notify();
  }

  #schedule(now: number): void {
    clearTimeout(this.#timer);
    const at = Math.min(this.#lastPressureAt + this.times.holdMs, this.#closedAt + this.times.maxClosedMs);
    this.#timer = setTimeout(() => this.check(), Math.max(1, at - now));
    this.#timer.unref();
  }

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
