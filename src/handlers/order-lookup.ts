// Facts a reaction needs that its event does not carry (the customer's phone is only on
// `order.created`): read from the order's own stream, the source of truth.
import { FORWARDS, START, StreamNotFoundError, type EventStoreDBClient } from '@eventstore/db-client';
import type { Customer } from '../orders/index.js';
import { toEventEnvelope } from '../readmodels/event-envelope.js';

/** `streamName`: the order's own stream (the one its event came from), whatever its naming. */
export async function findOrderCustomer(client: EventStoreDBClient, streamName: string): Promise<Customer | undefined> {
  let customer: Customer | undefined;
  try {
    // Read to the end of the one-event read (no early return): a read abandoned half-way keeps
    // its call open on the embedded server until the connection closes.
    for await (const resolved of client.readStream(streamName, { direction: FORWARDS, fromRevision: START, maxCount: 1 })) {
      if (!resolved.event) continue;
      const first = toEventEnvelope(resolved.event);
      if (first.type === 'order.created') customer = first.data.customer;
    }
  } catch (error) {
    if (error instanceof StreamNotFoundError) return undefined;
    throw error;
  }
  return customer;
}
