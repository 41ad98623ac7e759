// A store's history made by the decider (each command decided on the order's state, refused ones
// appending nothing), and the orders a subscription may apply its events in: what the
// projections' property tests feed them.
import { randomUUID } from 'node:crypto';
import { decide, evolve, initialOrderState, isOrderError, type OrderCommand, type OrderEvent, type OrderState, type OrderStatus } from '../../../src/orders/index.js';
import type { StoreEventEnvelope } from '../../../src/readmodels/event-envelope.js';

export const TENANT = 'tenant-a';

/** A store's history built by the decider: every event with its stream, revision and $all position. */
export class History {
  readonly events: StoreEventEnvelope[] = [];
  readonly orders = new Map<string, { state: OrderState; revision: number; statuses: OrderStatus[] }>();
  readonly created: string[] = [];
  #streamRevisions = new Map<string, number>();
  #commands = 0;

  count(sku: string, onHand: number, tenantId = TENANT): void {
    this.#append(`inventory-${tenantId}-${sku}`, { type: 'inventory.stock_set', data: { schemaVersion: 1, tenantId, sku, onHand, occurredAt: this.#at() } });
  }

  /** Runs the command through the decider; a refused command appends nothing (false). */
  run(orderId: string, command: Omit<OrderCommand, 'orderId' | 'context'> & { type: OrderCommand['type'] }, tenantId = TENANT): boolean {
    const order = this.orders.get(`${tenantId}/${orderId}`) ?? { state: initialOrderState, revision: -1, statuses: [] };
    const context = { commandId: `cmd-${++this.#commands}`, tenantId, actor: 'test', at: this.#at(), correlationId: 'corr' };
    let events: OrderEvent[];
    try {
      events = decide({ ...command, orderId, context } as OrderCommand, order.state);
    } catch (error) {
      if (isOrderError(error)) return false;
      throw error;
    }
    if (!order.state.exists && events.length > 0) this.created.push(orderId);
    for (const event of events) {
      order.state = evolve(order.state, event);
      if (order.state.exists && order.statuses.at(-1) !== order.state.status) order.statuses.push(order.state.status);
      this.#append(`order-${tenantId}-${orderId}`, event);
    }
    this.orders.set(`${tenantId}/${orderId}`, order);
    return events.length > 0;
  }

  #at(): string {
    return new Date(Date.UTC(2026, 10, 20) + this.events.length * 1000).toISOString();
  }

  #append(streamId: string, event: OrderEvent): void {
    const revision = (this.#streamRevisions.get(streamId) ?? -1) + 1;
    this.#streamRevisions.set(streamId, revision);
    const position = (this.events.length + 1) * 100;
    this.events.push({ ...event, id: randomUUID(), streamId, revision, position, recordedAt: new Date(), metadata: undefined, correlationId: 'corr' } as StoreEventEnvelope);
  }
}

/**
 * The events in another order a subscription may apply them in: each stream's own events stay in
 * order (the revision guard sees to that), streams interleave as `picks` say.
 */
export function interleave(events: readonly StoreEventEnvelope[], picks: readonly number[]): StoreEventEnvelope[] {
  const queues = new Map<string, StoreEventEnvelope[]>();
  for (const event of events) queues.set(event.streamId, [...(queues.get(event.streamId) ?? []), event]);
  const out: StoreEventEnvelope[] = [];
  let turn = 0;
  while (out.length < events.length) {
    const open = [...queues.values()].filter((queue) => queue.length > 0);
    const queue = open[(picks[turn++ % Math.max(1, picks.length)] ?? 0) % open.length]!;
    out.push(queue.shift()!);
  }
  return out;
}
