// What the store knows about the handling of recent events: when it sent each one to a
// persistent group's consumer and when the ack, nack or timeout came back. Bounded (the newest
// `capacity` events per group; older ones are forgotten first), in memory only, so it costs a
// map entry per delivery and says nothing after a restart. The UI's trace page shows it beside
// each event of a correlation: how long after the append each handler got it and took.

export type DeliveryOutcome = 'in flight' | 'acked' | 'retry' | 'park' | 'skip' | 'stop' | 'unknown' | 'timed out' | 'consumer gone';

export interface DeliveryRecord {
  /** When the store first sent the event to the group (ms since the epoch). */
  firstDeliveredAt: number;
  lastDeliveredAt: number;
  deliveries: number;
  /** When the last delivery's answer came back; undefined while it is in flight. */
  settledAt: number | undefined;
  outcome: DeliveryOutcome;
}

export const DELIVERY_LOG_CAPACITY = 5_000;

export class DeliveryLog {
  readonly #records = new Map<string, DeliveryRecord>();

  constructor(readonly capacity = DELIVERY_LOG_CAPACITY) {}

  delivered(eventId: string, at: number): void {
    const record = this.#records.get(eventId);
    if (record) {
      record.deliveries++;
      record.lastDeliveredAt = at;
      record.settledAt = undefined;
      record.outcome = 'in flight';
      return;
    }
    this.#records.set(eventId, { firstDeliveredAt: at, lastDeliveredAt: at, deliveries: 1, settledAt: undefined, outcome: 'in flight' });
    if (this.#records.size > this.capacity) this.#records.delete(this.#records.keys().next().value!);
  }

  settled(eventId: string, outcome: Exclude<DeliveryOutcome, 'in flight'>, at: number): void {
    const record = this.#records.get(eventId);
    if (!record) return;
    record.settledAt = at;
    record.outcome = outcome;
  }

  get(eventId: string): Readonly<DeliveryRecord> | undefined {
    return this.#records.get(eventId);
  }

  get size(): number {
    return this.#records.size;
  }
}
