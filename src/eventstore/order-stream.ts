// Load an order by folding its stream; append its new events with an expected revision.
import { NO_STREAM, StreamNotFoundError, type EventStoreDBClient } from '@eventstore/db-client';
import { foldOrder, initialOrderState, type OrderState } from '../orders/order-state.js';
import { orderStreamName } from '../orders/stream-names.js';
import type { NewOrderEvent } from '../orders/event-factory.js';
import { eventsPublishedTotal } from '../observability/metrics.js';
import { fromRecordedEvent, toEventData, type StoredOrderEvent } from './event-serialization.js';

export interface LoadedOrder {
  state: OrderState;
  /** The stream's last revision; undefined when the stream does not exist. */
  revision: bigint | undefined;
}

export async function readOrderEvents(client: EventStoreDBClient, orderId: string): Promise<StoredOrderEvent[]> {
  const events: StoredOrderEvent[] = [];
  try {
    for await (const resolved of client.readStream(orderStreamName(orderId))) {
      if (resolved.event) events.push(fromRecordedEvent(resolved.event));
    }
  } catch (error) {
    if (error instanceof StreamNotFoundError) return [];
    throw error;
  }
  return events;
}

export async function loadOrder(client: EventStoreDBClient, orderId: string): Promise<LoadedOrder> {
  const stored = await readOrderEvents(client, orderId);
  const last = stored.at(-1);
  return { state: foldOrder(stored.map((entry) => entry.event), initialOrderState), revision: last?.revision };
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
