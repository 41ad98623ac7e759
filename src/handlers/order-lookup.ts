// Facts a reaction needs that its event does not carry (the customer's phone is only on
// `order.created`): read from the order's own stream, the source of truth.
import { FORWARDS, START, StreamNotFoundError, type EventStoreDBClient } from '@eventstore/db-client';
import type { Customer } from '../orders/index.js';
import { toEventEnvelope, type EventEnvelope } from '../readmodels/event-envelope.js';

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

export interface OrderCustomerLookup {
  (client: EventStoreDBClient, streamName: string, customerId: string | undefined): Promise<Customer | undefined>;
  /**
   * An order's creation seen in passing (another group of this process parsed it): its customer
   * is kept as a read of its stream would keep it, so the order's first status change needs no
   * read. Events of other types are ignored.
   */
  noteCreation(event: EventEnvelope): void;
}

const CACHED_ORDERS = 10_000;

/**
 * findOrderCustomer remembering, per order stream, the customer its creation named: an order's
 * next status change asks again (a lifecycle's PAID then SHIPPED), and each read is a gRPC call
 * the store answers with a stream of its own (in the lifecycle load of `npm start`, the one read
 * of each order cost ~1.4 ms of CPU, more than the WhatsApp handler's two deliveries together).
 * Creations noted in passing fill it too. The creation event never changes; what a kept answer
 * is checked against is a stream deleted and created again for another customer: it is used only
 * when the event names the same customer id, else the stream is read again. Customers without an
 * id are not kept. Bounded: the least recently used order is forgotten first.
 */
export function cachedOrderCustomerLookup(read: typeof findOrderCustomer = findOrderCustomer, capacity = CACHED_ORDERS): OrderCustomerLookup {
  const customers = new Map<string, Customer & { id: string }>();
  const keep = (streamName: string, customer: Customer & { id: string }) => {
    customers.delete(streamName);
    customers.set(streamName, customer);
    if (customers.size > capacity) customers.delete(customers.keys().next().value!);
  };
  const lookup = async (client: EventStoreDBClient, streamName: string, customerId: string | undefined) => {
    const cached = customerId === undefined ? undefined : customers.get(streamName);
    if (cached && cached.id === customerId) {
      keep(streamName, cached);
      return cached;
    }
    const customer = await read(client, streamName);
    if (customer?.id !== undefined && customer.id === customerId) keep(streamName, { ...customer, id: customer.id });
    return customer;
  };
  return Object.assign(lookup, {
    noteCreation(event: EventEnvelope) {
      if (event.type !== 'order.created') return;
      const customer = event.data.customer;
      if (customer.id !== undefined) keep(event.streamId, { ...customer, id: customer.id });
    },
  });
}
