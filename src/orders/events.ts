// The event catalogue: a contract with every handler, projection and reader of the store. An
// order's events live in its stream (`order-<tenantId>-<orderId>`); the one stock event a tenant
// records, `inventory.stock_set`, in `inventory-<tenantId>-<sku>`. Each type has one zod schema
// for its current version; older versions are upcast on read. Keep exported names stable:
// handlers and projections are built on them (the names say "order" for the whole catalogue).
import { z } from 'zod';
import { ORDER_STATUSES, type OrderStatus } from './order-status.js';
import { upcastEventData } from './upcasters.js';

export { ORDER_STATUSES, type OrderStatus };

export const ORDER_EVENT_TYPES = [
  'order.created',
  'order.status_changed',
  'order.paid',
  'order.cancelled',
  'order.shipped',
  'order.delivered',
  'order.returned',
  'order.refunded',
  'payment.processed',
] as const;
/** Every type of the catalogue: an order's events and the stock event. */
export const STORE_EVENT_TYPES = [...ORDER_EVENT_TYPES, 'inventory.stock_set'] as const;
export type OrderEventType = (typeof STORE_EVENT_TYPES)[number];

export function isOrderEventType(type: string): type is OrderEventType {
  return (STORE_EVENT_TYPES as readonly string[]).includes(type);
}

const money = z.number().int().nonnegative();
const statusSchema = z.enum(ORDER_STATUSES);

/** Fields every order event carries. `occurredAt` is the command's time (ISO 8601). */
const common = {
  orderId: z.string().min(1),
  tenantId: z.string().min(1),
  customerId: z.string().optional(),
  occurredAt: z.string().min(1),
};

export const orderItemSchema = z.object({
  sku: z.string().min(1),
  name: z.string().optional(),
  quantity: z.number().int().positive(),
  /** Minor units (cents). */
  unitPrice: money,
});
export type OrderItem = z.infer<typeof orderItemSchema>;

export const customerSchema = z.object({
  id: z.string().optional(),
  name: z.string().optional(),
  /** E.164, e.g. +14155550100: the WhatsApp handler messages this number. */
  phone: z.string().optional(),
});
export type Customer = z.infer<typeof customerSchema>;

export const orderCreatedSchema = z.object({
  schemaVersion: z.literal(2),
  ...common,
  customer: customerSchema,
  /** ISO 4217, e.g. EUR. */
  currency: z.string().length(3),
  items: z.array(orderItemSchema).min(1),
  /** Sum of quantity * unitPrice, minor units. */
  total: money,
});

export const orderStatusChangedSchema = z.object({
  schemaVersion: z.literal(1),
  ...common,
  oldStatus: statusSchema,
  newStatus: statusSchema,
  reason: z.string(),
});

export const orderPaidSchema = z.object({
  schemaVersion: z.literal(1),
  ...common,
  total: money,
  paidAmount: money,
  currency: z.string().length(3),
  /** The payment that completed the total. */
  paymentId: z.string().min(1),
});

export const orderCancelledSchema = z.object({
  schemaVersion: z.literal(1),
  ...common,
  reason: z.string().optional(),
  /** Money received before the cancellation (refundable). */
  paidAmount: money,
});

export const orderShippedSchema = z.object({
  schemaVersion: z.literal(1),
  ...common,
  carrier: z.string().optional(),
  trackingNumber: z.string().optional(),
});

export const orderDeliveredSchema = z.object({
  schemaVersion: z.literal(1),
  ...common,
});

export const orderReturnedSchema = z.object({
  schemaVersion: z.literal(1),
  ...common,
  reason: z.string().optional(),
});

export const orderRefundedSchema = z.object({
  schemaVersion: z.literal(1),
  ...common,
  amount: money,
  currency: z.string().length(3),
});

export const paymentProcessedSchema = z.object({
  schemaVersion: z.literal(1),
  ...common,
  paymentId: z.string().min(1),
  amount: money,
  currency: z.string().length(3),
  method: z.string().min(1),
  reference: z.string().optional(),
  /** Sum of all payments on the order after this one. */
  paidAmount: money,
});

/**
 * A tenant's count of a SKU: `onHand` units are in stock at `occurredAt` (a stock take or a
 * delivery from the supplier). Shipments after it take units out, restocked returns put them back.
 */
export const inventoryStockSetSchema = z.object({
  schemaVersion: z.literal(1),
  tenantId: z.string().min(1),
  sku: z.string().min(1),
  onHand: z.number().int().nonnegative(),
  occurredAt: z.string().min(1),
});

/** Current schema of each event type. */
export const orderEventSchemas = {
  'order.created': orderCreatedSchema,
  'order.status_changed': orderStatusChangedSchema,
  'order.paid': orderPaidSchema,
  'order.cancelled': orderCancelledSchema,
  'order.shipped': orderShippedSchema,
  'order.delivered': orderDeliveredSchema,
  'order.returned': orderReturnedSchema,
  'order.refunded': orderRefundedSchema,
  'payment.processed': paymentProcessedSchema,
  'inventory.stock_set': inventoryStockSetSchema,
} as const satisfies Record<OrderEventType, z.ZodType>;

export type OrderEventDataMap = { [K in OrderEventType]: z.infer<(typeof orderEventSchemas)[K]> };

/** Current schema version per type (what the event factory writes). */
export const CURRENT_SCHEMA_VERSIONS = {
  'order.created': 2,
  'order.status_changed': 1,
  'order.paid': 1,
  'order.cancelled': 1,
  'order.shipped': 1,
  'order.delivered': 1,
  'order.returned': 1,
  'order.refunded': 1,
  'payment.processed': 1,
  'inventory.stock_set': 1,
} as const satisfies Record<OrderEventType, number>;

/** A domain event: discriminated union on `type`. */
export type OrderEvent = { [K in OrderEventType]: { type: K; data: OrderEventDataMap[K] } }[OrderEventType];
export type OrderEventOf<K extends OrderEventType> = Extract<OrderEvent, { type: K }>;

export type OrderCreated = OrderEventOf<'order.created'>;
export type OrderStatusChanged = OrderEventOf<'order.status_changed'>;
export type OrderPaid = OrderEventOf<'order.paid'>;
export type OrderCancelled = OrderEventOf<'order.cancelled'>;
export type OrderShipped = OrderEventOf<'order.shipped'>;
export type OrderDelivered = OrderEventOf<'order.delivered'>;
export type OrderReturned = OrderEventOf<'order.returned'>;
export type OrderRefunded = OrderEventOf<'order.refunded'>;
export type PaymentProcessed = OrderEventOf<'payment.processed'>;
export type InventoryStockSet = OrderEventOf<'inventory.stock_set'>;
/** The events of an order's own stream (everything but the stock events). */
export type OrderStreamEvent = Exclude<OrderEvent, InventoryStockSet>;

/** Metadata on every event. `$correlationId`/`$causationId` feed EventStoreDB's `$bc-` streams. */
export const orderEventMetadataSchema = z.looseObject({
  $correlationId: z.string().min(1),
  $causationId: z.string().min(1),
  tenantId: z.string().min(1),
  /** Who asked: e.g. `api-key:1a2b3c4d` (a key fingerprint, never the key). */
  actor: z.string().min(1),
  /** W3C trace context of the request that caused the event, when it had one. */
  traceparent: z.string().optional(),
  /** The command that produced the event. */
  commandId: z.string().optional(),
});
export type OrderEventMetadata = z.infer<typeof orderEventMetadataSchema>;

/** Thrown when stored data matches no known event type or fails its schema after upcasting. */
export class EventSchemaError extends Error {
  constructor(
    readonly eventType: string,
    readonly issues: string[],
  ) {
    super(`invalid ${eventType} event: ${issues.join('; ')}`);
    this.name = 'EventSchemaError';
  }
}

/**
 * Turns stored event data (any version) into a current, validated domain event.
 * `metadata` is consulted by upcasters of versions that kept fields only there.
 */
export function parseOrderEvent(type: string, data: unknown, metadata?: unknown): OrderEvent {
  if (!isOrderEventType(type)) throw new EventSchemaError(type, ['unknown event type']);
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new EventSchemaError(type, ['data is not an object']);
  const meta = typeof metadata === 'object' && metadata !== null ? (metadata as Record<string, unknown>) : {};
  const current = upcastEventData(type, data as Record<string, unknown>, meta);
  const result = orderEventSchemas[type].safeParse(current);
  if (!result.success) {
    throw new EventSchemaError(
      type,
      result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`),
    );
  }
  return { type, data: result.data } as OrderEvent;
}

/** Validates metadata read from the store; undefined when it is not an order event's metadata. */
export function parseOrderEventMetadata(metadata: unknown): OrderEventMetadata | undefined {
  const result = orderEventMetadataSchema.safeParse(metadata);
  return result.success ? result.data : undefined;
}
