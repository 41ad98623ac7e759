// Load an order by folding its stream; append its new events with an expected revision.
import { NO_STREAM, StreamNotFoundError, type EventStoreDBClient } from '@eventstore/db-client';
import { foldOrder, initialOrderState, type OrderState } from '../orders/order-state.js';
import { orderStreamName } from '../orders/stream-names.js';
import { isOrderEventType } from '../orders/events.js';
import type { NewOrderEvent } from '../orders/event-factory.js';
import { eventsPublishedTotal } from '../observability/metrics.js';
import { fromRecordedEvent, toEventData, type StoredOrderEvent } from './event-serialization.js';

export interface LoadedOrder {
  state: OrderState;
  /** The stream's last revision; undefined when the stream does not exist. */
  revision: bigint | undefined;
}

export interface OrderStream {
  /** The order's events this version knows, oldest first. */
  events: StoredOrderEvent[];
  /** The stream's last revision, counting every event; undefined when the stream does not exist. */
  revision: bigint | undefined;
}

export async function readOrderStream(client: EventStoreDBClient, orderId: string): Promise<OrderStream> {
  const events: StoredOrderEvent[] = [];
  let revision: bigint | undefined;
  try {
    for await (const resolved of client.readStream(orderStreamName(orderId))) {
      if (!resolved.event) continue;
      revision = resolved.event.revision;
      // A type this version does not know was written by a newer one: it cannot change what this
      // version decides, so it is skipped rather than failing every command on the order.
      if (isOrderEventType(resolved.event.type)) events.push(fromRecordedEvent(resolved.event));
    }
  } catch (error) {
    if (error instanceof StreamNotFoundError) return { events: [], revision: undefined };
    throw error;
  }
  return { events, revision };
}

export async function loadOrder(client: EventStoreDBClient, orderId: string): Promise<LoadedOrder> {
  const { events, revision } = await readOrderStream(client, orderId);
  return { state: foldOrder(events.map((entry) => entry.event), initialOrderState), revision };
}

/**
 * Appends all events atomically if the stream is still at `expectedRevision` (undefined: the
 * stream must not exist). Throws the client's WrongExpectedVersionError otherwise. Returns the
 * stream's new revision.
 */
export async function appendOrderEvents(
  client: EventStoreDBClient,
  orderId: string,
  events: readonly NewOrderEvent[],
  expectedRevision: bigint | undefined,
): Promise<bigint> {
  const result = await client.appendToStream(orderStreamName(orderId), events.map(toEventData), {
    expectedRevision: expectedRevision ?? NO_STREAM,
  });
  for (const { event } of events) eventsPublishedTotal.inc({ event_type: event.type });
  return result.nextExpectedRevision;
}
