// The appends a client has sent and not yet seen answered (issue #11, README "Overload"). The
// client sends every append on one shared BatchAppend stream, which under load moves about two
// small appends (or a few large ones) per event-loop iteration: an append sent now waits behind
// the ones already there. Counted here so the API can refuse a command (503, nothing appended)
// whose append would wait past its budget, instead of admitting it to wait 10-30 s.
import type { EventStoreDBClient } from '@eventstore/db-client';

/** How much a new sample moves the time per append (an exponentially weighted mean). */
const SMOOTHING = 0.2;

export class AppendQueue {
  #msPerAppend = 0;
  /** When each append still waiting was sent, oldest first (a Map keeps insertion order). */
  readonly #sentAt = new Map<number, number>();
  #nextId = 0;
  readonly #now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
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
   */
  predictedWaitMs(): number {
    const oldest = this.#sentAt.values().next();
    const oldestWaitMs = oldest.done ? 0 : this.#now() - oldest.value;
    return this.waiting * Math.max(this.#msPerAppend, oldestWaitMs);
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
