// EventStoreDB stream naming. Every order lives in the `order` category (the part before the first
// '-'), so `$ce-order` holds every order's events; each tenant has its own id space:
//
//   order-<tenantId>-<orderId>    e.g. order-acme-b6e2d527-3f0c-4b43-9d59-1c2a3b4c5d6e
//
// The order id is a UUID and always the last 36 characters, so the name parses back even though
// tenant ids may contain '-'. Stores written before tenant-scoped names hold `order-<orderId>`
// ("legacy" streams): those orders keep loading and answering (src/eventstore/order-stream.ts).
export const ORDER_STREAM_CATEGORY = 'order';
export const INVENTORY_STREAM_CATEGORY = 'inventory';

/** Streams the read-model projections are built from (server-side filter and catch-up reads). */
export const PROJECTED_STREAM_PREFIXES: readonly string[] = [`${ORDER_STREAM_CATEGORY}-`, `${INVENTORY_STREAM_CATEGORY}-`];

export function isProjectedStream(streamName: string): boolean {
  return PROJECTED_STREAM_PREFIXES.some((prefix) => streamName.startsWith(prefix));
}

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const UUID_LENGTH = 36;

export function isUuid(text: string): boolean {
  return UUID.test(text);
}

/**
 * One id however it is written: trimmed, Unicode NFC, and a UUID in lower case
 * (`B6E2D527-...` and `b6e2d527-...` are one order, one payment). Other ids keep their case.
 */
export function normalizeId(id: string): string {
  const text = id.trim().normalize('NFC');
  return isUuid(text) ? text.toLowerCase() : text;
}

/**
 * What names one order's stream: `<tenantId>-<orderId>`. Commands, caches and reads key orders by
 * it, so the same order id in two tenants is two orders.
 */
export type OrderKey = string;

export function orderKey(tenantId: string, orderId: string): OrderKey {
  return `${tenantId}-${orderId}`;
}

/** The tenant and order id of a key, when its order id is a UUID (every id the API accepts). */
export function parseOrderKey(key: OrderKey): { tenantId: string; orderId: string } | undefined {
  if (key.length <= UUID_LENGTH + 1 || key[key.length - UUID_LENGTH - 1] !== '-') return undefined;
  const orderId = key.slice(-UUID_LENGTH);
  return isUuid(orderId) ? { tenantId: key.slice(0, -UUID_LENGTH - 1), orderId } : undefined;
}

export function orderStreamName(key: OrderKey): string {
  return `${ORDER_STREAM_CATEGORY}-${key}`;
}

export function tenantOrderStreamName(tenantId: string, orderId: string): string {
  return orderStreamName(orderKey(tenantId, orderId));
}

/** Where a store written before tenant-scoped names kept the order. */
export function legacyOrderStreamName(orderId: string): string {
  return `${ORDER_STREAM_CATEGORY}-${orderId}`;
}

export interface ParsedOrderStream {
  orderId: string;
  /** Undefined for a legacy `order-<orderId>` stream (its tenant is in its events). */
  tenantId: string | undefined;
}

/** The order a stream holds: `order-<tenantId>-<uuid>`, or legacy `order-<uuid>`; else undefined. */
export function parseOrderStreamName(streamName: string): ParsedOrderStream | undefined {
  const prefix = `${ORDER_STREAM_CATEGORY}-`;
  if (!streamName.startsWith(prefix)) return undefined;
  const rest = streamName.slice(prefix.length);
  if (isUuid(rest)) return { orderId: rest, tenantId: undefined };
  const parsed = parseOrderKey(rest);
  return parsed ? { orderId: parsed.orderId, tenantId: parsed.tenantId } : undefined;
}

/** The order id of an order stream (either naming), or undefined for any other stream. */
export function orderIdFromStreamName(streamName: string): string | undefined {
  return parseOrderStreamName(streamName)?.orderId;
}

/** Stock of one SKU of one tenant: `inventory-<tenantId>-<sku>` (category `inventory`). */
export function inventoryStreamName(tenantId: string, sku: string): string {
  return `${INVENTORY_STREAM_CATEGORY}-${tenantId}-${sku}`;
}
