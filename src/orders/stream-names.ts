// EventStoreDB stream naming: category `order`, so `$ce-order` holds every order's events.
export const ORDER_STREAM_CATEGORY = 'order';

export function orderStreamName(orderId: string): string {
  return `${ORDER_STREAM_CATEGORY}-${orderId}`;
}

/** The order id of an `order-<id>` stream, or undefined for any other stream. */
export function orderIdFromStreamName(streamName: string): string | undefined {
  const prefix = `${ORDER_STREAM_CATEGORY}-`;
  return streamName.startsWith(prefix) && streamName.length > prefix.length ? streamName.slice(prefix.length) : undefined;
}
