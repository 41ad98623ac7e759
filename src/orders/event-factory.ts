// The one place that builds events: their data (common fields, schema versions, timestamps),
// their ids and their metadata. Pure: time and ids derive from the command's context.
import { createHash } from 'node:crypto';
import { CURRENT_SCHEMA_VERSIONS, type OrderEvent, type OrderEventDataMap, type OrderEventMetadata, type OrderEventType } from './events.js';
import type { CommandContext } from './commands.js';
import type { OrderStatus } from './order-status.js';

/** The identity every event of one order repeats. */
export interface OrderIdentity {
  orderId: string;
  tenantId: string;
  customerId?: string;
}

type Specific<K extends OrderEventType> = Omit<OrderEventDataMap[K], 'schemaVersion' | 'orderId' | 'tenantId' | 'customerId' | 'occurredAt'>;

/** Builders for one command's events on one order. */
export function orderEventFactory(order: OrderIdentity, context: CommandContext) {
  function build<K extends OrderEventType>(type: K, specific: Specific<K>): OrderEvent {
    const data = {
      schemaVersion: CURRENT_SCHEMA_VERSIONS[type],
      orderId: order.orderId,
      tenantId: order.tenantId,
      ...(order.customerId !== undefined ? { customerId: order.customerId } : {}),
      occurredAt: context.at,
      ...specific,
    };
    return { type, data } as OrderEvent;
  }
  return {
    created: (specific: Specific<'order.created'>) => build('order.created', specific),
    statusChanged: (oldStatus: OrderStatus, newStatus: OrderStatus, reason: string) =>
      build('order.status_changed', { oldStatus, newStatus, reason }),
    paymentProcessed: (specific: Specific<'payment.processed'>) => build('payment.processed', specific),
    paid: (specific: Specific<'order.paid'>) => build('order.paid', specific),
    cancelled: (specific: Specific<'order.cancelled'>) => build('order.cancelled', specific),
    shipped: (specific: Specific<'order.shipped'>) => build('order.shipped', specific),
    delivered: () => build('order.delivered', {}),
    returned: (specific: Specific<'order.returned'>) => build('order.returned', specific),
    refunded: (specific: Specific<'order.refunded'>) => build('order.refunded', specific),
  };
}

/** An event ready to append: domain event plus id and metadata. */
export interface NewOrderEvent {
  id: string;
  event: OrderEvent;
  metadata: OrderEventMetadata;
}

export function eventMetadata(context: CommandContext): OrderEventMetadata {
  return {
    $correlationId: context.correlationId,
    $causationId: context.causationId ?? context.commandId,
    tenantId: context.tenantId,
    actor: context.actor,
    commandId: context.commandId,
    ...(context.traceparent !== undefined ? { traceparent: context.traceparent } : {}),
  };
}

/**
 * Event ids derive from the command id and the event's position in the command's output, so
 * re-sending one command's events yields the same ids (EventStoreDB deduplicates by id).
 */
export function eventIdFor(commandId: string, index: number): string {
  const hex = createHash('sha1').update(`${commandId}:${index}`).digest('hex');
  // Shaped as a version-5 UUID (name-based, SHA-1) with the RFC 4122 variant.
  const variant = ((parseInt(hex.slice(16, 18), 16) & 0x3f) | 0x80).toString(16).padStart(2, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(18, 20)}-${hex.slice(20, 32)}`;
}

export function toNewEvents(events: readonly OrderEvent[], context: CommandContext): NewOrderEvent[] {
  const metadata = eventMetadata(context);
  return events.map((event, index) => ({ id: eventIdFor(context.commandId, index), event, metadata }));
}
