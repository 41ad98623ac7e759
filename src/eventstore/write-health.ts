// Whether the event store can write, as this process last saw it. Reads keep working while the
// store's disk is full, so a read probe alone would call the service ready while every command
// fails: each append through the service's client reports here (connectEventStore wires it), a
// refusal for lack of space marks the store unwritable, and the next append that succeeds, or a
// probe write made by the readiness check while marked (at most one a second, to a system stream
// nothing reads), clears it. Nothing else is ever written for this.
import { AccessDeniedError, jsonEvent, type EventStoreDBClient } from '@eventstore/db-client';
import { isStorageFullError } from './errors.js';

export const WRITE_PROBE_STREAM = '$order-store-write-probe';
const PROBE_EVERY_MS = 1_000;

export interface StoreWriteFault {
  reason: string;
  /** Epoch ms of the first refusal. */
  since: number;
}

export class StoreWriteHealth {
  #fault: StoreWriteFault | undefined;
  #lastProbe = 0;
  #probe: Promise<void> | undefined;

  get fault(): StoreWriteFault | undefined {
    return this.#fault;
  }

  /** Every append's failure: only a refusal for lack of space counts. */
  noteFailure(error: unknown): void {
    if (!isStorageFullError(error)) return;
    this.#fault ??= { reason: error instanceof Error ? error.message : String(error), since: Date.now() };
  }

  noteSuccess(): void {
    this.#fault = undefined;
  }

  /** While marked unwritable, tries one small write (throttled); resolves with what is known then. */
  async check(client: EventStoreDBClient): Promise<StoreWriteFault | undefined> {
    if (!this.#fault) return undefined;
    if (Date.now() - this.#lastProbe >= PROBE_EVERY_MS) {
      this.#lastProbe = Date.now();
      this.#probe ??= this.#probeWrite(client).finally(() => (this.#probe = undefined));
    }
    await this.#probe;
    return this.#fault;
  }

  async #probeWrite(client: EventStoreDBClient): Promise<void> {
    try {
      await client.appendToStream(WRITE_PROBE_STREAM, jsonEvent({ type: 'order-store.write-probe', data: { at: new Date().toISOString() } }), { deadline: 2_000 });
      this.noteSuccess();
    } catch (error) {
      // Refused by an ACL: the store decided without failing to write, so it is not full.
      if (error instanceof AccessDeniedError) this.noteSuccess();
      else this.noteFailure(error);
    }
  }
}

const byClient = new WeakMap<EventStoreDBClient, StoreWriteHealth>();

/** The write health of the store behind this client (one per client, shared by API and workers). */
export function writeHealthOf(client: EventStoreDBClient): StoreWriteHealth {
  let health = byClient.get(client);
  if (!health) {
    health = new StoreWriteHealth();
    byClient.set(client, health);
  }
  return health;
}

/** Makes every append of `client` report to its write health. */
export function trackWrites(client: EventStoreDBClient): EventStoreDBClient {
  const health = writeHealthOf(client);
  const append = client.appendToStream.bind(client) as (...args: unknown[]) => Promise<unknown>;
  const tracked = async (...args: unknown[]): Promise<unknown> => {
    try {
      const result = await append(...args);
      health.noteSuccess();
      return result;
    } catch (error) {
      health.noteFailure(error);
      throw error;
    }
  };
  Object.defineProperty(client, 'appendToStream', { value: tracked, configurable: true, writable: true });
  return client;
}
