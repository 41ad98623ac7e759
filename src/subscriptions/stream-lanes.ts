// One order's events take effect in the events' order: within a consumer of a group, an event
// starts only once the previous event of its stream has settled (acked after its commit, parked,
// or abandoned with the connection). Events of different streams still run side by side.
// An event nacked for a retry keeps its place: the stream's next events wait for its redelivery
// (which the server sends before new events, to this consumer while it stays connected: the
// groups are PINNED) and for that delivery to settle, however many retries it takes. If the
// redelivery does not come within `holdMs` (the worker's connection moved, the event went to
// another worker), the stream goes on without it, and `onGiveUp` says so.
export type Turn = 'go' | 'abandoned';

/** How an event's delivery settled: done (acked or parked), nacked for a retry, or left unacked. */
export type Settled = 'done' | 'retry' | 'abandoned';

interface Lane {
  tail: Promise<Turn>;
  /** Events entered and not yet settled for good. */
  open: number;
}

export interface LaneEntry {
  readonly id: string;
  readonly stream: string;
  /** Resolves when the stream's previous event has settled: 'abandoned' when it was left unacked. */
  readonly ready: Promise<Turn>;
  /** Entered behind an event of its stream not yet settled (a retry's redelivery never is). */
  readonly waiting: boolean;
  readonly release: (turn: Turn) => void;
}

export class StreamLanes {
  readonly #lanes = new Map<string, Lane>();
  /** Events nacked for a retry, by id: their stream waits for the redelivery. */
  readonly #awaitingRedelivery = new Map<string, { entry: LaneEntry; timer: NodeJS.Timeout }>();
  readonly #holdMs: number;
  readonly #onGiveUp: (entry: LaneEntry) => void;

  constructor(holdMs: number, onGiveUp: (entry: LaneEntry) => void) {
    this.#holdMs = holdMs;
    this.#onGiveUp = onGiveUp;
  }

  /** The event's place in its stream: wait for `ready`, then `settle` it once its delivery is done. */
  enter(stream: string, id: string): LaneEntry {
    const retried = this.#awaitingRedelivery.get(id);
    if (retried && retried.entry.stream === stream) {
      // Its redelivery takes the place it kept: everything before it had settled already.
      clearTimeout(retried.timer);
      this.#awaitingRedelivery.delete(id);
      return { ...retried.entry, ready: Promise.resolve('go'), waiting: false };
    }
    let lane = this.#lanes.get(stream);
    if (!lane) this.#lanes.set(stream, (lane = { tail: Promise.resolve('go'), open: 0 }));
    const previous = lane.tail;
    const waiting = lane.open > 0;
    let resolve!: (turn: Turn) => void;
    lane.tail = new Promise<Turn>((done) => (resolve = done));
    lane.open++;
    const owner = lane;
    const release = (turn: Turn): void => {
      resolve(turn);
      if (--owner.open === 0 && this.#lanes.get(stream) === owner) this.#lanes.delete(stream);
    };
    return { id, stream, ready: previous, waiting, release };
  }

  settle(entry: LaneEntry, settled: Settled): void {
    if (settled !== 'retry') {
      entry.release(settled === 'done' ? 'go' : 'abandoned');
      return;
    }
    const timer = setTimeout(() => {
      this.#awaitingRedelivery.delete(entry.id);
      this.#onGiveUp(entry);
      entry.release('go');
    }, this.#holdMs);
    timer.unref();
    this.#awaitingRedelivery.set(entry.id, { entry, timer });
  }

  /** The connection is gone: no redelivery comes on it, and the events waiting are left to the server. */
  abandonAll(): void {
    for (const { entry, timer } of this.#awaitingRedelivery.values()) {
      clearTimeout(timer);
      entry.release('abandoned');
    }
    this.#awaitingRedelivery.clear();
  }
}
