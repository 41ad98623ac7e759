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

export type OrderCustomerLookup = (client: EventStoreDBClient, streamName: string, customerId: string | undefined) => Promise<Customer | undefined>;

const CACHED_ORDERS = 10_000;

/**
 * findOrderCustomer remembering, per order stream, the customer its creation named: an order's
 * next status change asks again (a lifecycle's PAID then SHIPPED), and each read is a gRPC call
 * the store answers with a stream of its own (the WhatsApp handler made 2 of them per lifecycle,
 * every one of the workers' reads). The creation event never changes; what a cached answer is
 * checked against is a stream deleted and created again for another customer: it is used only
 * when the event names the same customer id, else the stream is read again. Customers without
 * an id are not kept. Bounded: the least recently used order is forgotten first.
 */
export function cachedOrderCustomerLookup(read: typeof findOrderCustomer = findOrderCustomer, capacity = CACHED_ORDERS): OrderCustomerLookup {
  const customers = new Map<string, Customer & { id: string }>();
  return async (client, streamName, customerId) => {
    const cached = customerId === undefined ? undefined : customers.get(streamName);
    if (cached && cached.id === customerId) {
      customers.delete(streamName);
      customers.set(streamName, cached);
      return cached;
    }
    const customer = await read(client, streamName);
    if (customer?.id !== undefined && customer.id === customerId) {
      customers.delete(streamName);
      customers.set(streamName, { ...customer, id: customer.id });
      if (customers.size > capacity) customers.delete(customers.keys().next().value!);
    }
    return customer;
  };
}
