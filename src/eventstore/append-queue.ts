// The appends a client has sent and not yet seen answered (issue #11, README "Overload"). The
// client sends every append on one shared BatchAppend stream, which under load moves about two
// small appends (or a few large ones) per event-loop iteration: an append sent now waits behind
// the ones already there. Counted here so the API can refuse a command (503, nothing appended)
// whose append would wait past its budget, instead of admitting it to wait 10-30 s.
import type { EventStoreDBClient } from '@eventstore/db-client';
import { loopDelay } from '../observability/loop-delay.js';

/** How much a new sample moves the time per append (an exponentially weighted mean). */
const SMOOTHING = 0.2;
/**
 * What the shared stream moves in one turn of the event loop at most, for small appends: grpc-js
 * writes a call's next message once its last one's write has completed, a turn later
 * (bench/batch-append-loop-probe.ts: 16 appends of 200 B answered two a turn, at 300 ms turns).
 */
export const STREAM_APPENDS_PER_TURN = 2;

export class AppendQueue {
  #msPerAppend = 0;
  /** When each append still waiting was sent, oldest first (a Map keeps insertion order). */
  readonly #sentAt = new Map<number, number>();
  #nextId = 0;
  readonly #now: () => number;
  readonly #loopDelayMs: () => number;

  /** loopDelayMs: how long the loop's turns are now (observability/loop-delay.ts, 0 when not watched). */
  constructor(now: () => number = () => performance.now(), loopDelayMs: () => number = () => loopDelay.ms) {
    this.#now = now;
    this.#loopDelayMs = loopDelayMs;
  }

  /** Appends sent and not yet answered. */
  get waiting(): number {
    return this.#sentAt.size;
  }

  /** Recent time the stream took per append: an append's latency shared by those it waited behind. */
  get msPerAppend(): number {
    return this.#msPerAppend;
  }

  /**
   * How long an append sent now would wait behind the ones already sent, by the recent rate, or
   * by how long the oldest has waited unanswered where that is longer (the rate is known only once
   * appends are answered: under a sudden load the first dozens are sent before any is). Not its
   * own time: with none ahead the prediction is 0, so an append always goes when the queue is
   * empty and a rate measured in a slow moment is measured again instead of refusing for good.
   * And at least the stream's pace in the loop's turns as they are now: each append ahead takes
   * its share of a turn (STREAM_APPENDS_PER_TURN a turn), so when the turns grow long at once (a
   * cold start, a moment of overload) the appends sent together in one turn are not all let go
   * on a rate measured while the turns were short.
   */
  predictedWaitMs(): number {
    const oldest = this.#sentAt.values().next();
    const oldestWaitMs = oldest.done ? 0 : this.#now() - oldest.value;
    return this.waiting * Math.max(this.#msPerAppend, oldestWaitMs, this.#loopDelayMs() / STREAM_APPENDS_PER_TURN);
  }

  /** Counts one append from when it is sent to its answer (or failure). */
  async track<T>(append: () => Promise<T>): Promise<T> {
    const ahead = this.waiting;
    const id = this.#nextId++;
    const sentAt = this.#now();
    this.#sentAt.set(id, sentAt);
    try {
      return await append();
    } finally {
      this.#sentAt.delete(id);
      this.note((this.#now() - sentAt) / (ahead + 1));
    }
  }

  /** One append's share of its latency (exported for the unit test, which feeds it numbers). */
  note(msPerAppend: number): void {
    this.#msPerAppend = this.#msPerAppend === 0 ? msPerAppend : this.#msPerAppend + SMOOTHING * (msPerAppend - this.#msPerAppend);
  }
}

const queues = new WeakMap<EventStoreDBClient, AppendQueue>();

/** Counts the client's appends in its queue from now on (once per client); returns the client. */
export function countAppends(client: EventStoreDBClient): EventStoreDBClient {
  if (queues.has(client)) return client;
  const queue = new AppendQueue();
  queues.set(client, queue);
  const append = client.appendToStream.bind(client);
  const counted = (...args: Parameters<typeof append>) => queue.track(() => append(...args));
  Object.defineProperty(client, 'appendToStream', { value: counted, configurable: true, writable: true });
  return client;
}

/** The client's append queue, if its appends are counted (connectEventStore counts them). */
export function appendQueueOf(client: EventStoreDBClient): AppendQueue | undefined {
  return queues.get(client);
}
