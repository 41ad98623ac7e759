// Tells the customer about their order: a confirmation when it is created and a notification
// on every status change. Each notification is an event (`notification.requested` in
// `notification-<tenantId>-<orderId>`, like the order's own stream) caused by the order event, for the delivery channels to send.
import { defineHandler } from '../subscriptions/handler.js';
import type { EventEnvelope } from '../readmodels/event-envelope.js';

export const NOTIFICATION_STREAM_PREFIX = 'notification-';
export const NOTIFICATION_REQUESTED = 'notification.requested';

const STATUS_MESSAGES = {
  PENDING: 'is waiting for payment',
  PAID: 'is paid, thank you',
  CANCELLED: 'was cancelled',
  SHIPPED: 'is on its way',
  DELIVERED: 'was delivered',
  RETURNED: 'was returned to us',
  REFUNDED: 'was refunded',
} as const;

/** Per tenant, as orders are: the same order id in two tenants is two orders. */
export function notificationStream(tenantId: string, orderId: string): string {
  return `${NOTIFICATION_STREAM_PREFIX}${tenantId}-${orderId}`;
}

export function notificationFor(event: EventEnvelope): Record<string, unknown> | undefined {
  const { orderId, tenantId, customerId } = event.data;
  const base = { orderId, tenantId, ...(customerId ? { customerId } : {}) };
  switch (event.type) {
    case 'order.created':
      return {
        ...base,
        kind: 'order_confirmation',
        message: `Your order ${orderId} is confirmed: ${event.data.items.length} item(s), ${formatMoney(event.data.total, event.data.currency)}.`,
      };
    case 'order.status_changed':
      return {
        ...base,
        kind: 'status_update',
        status: event.data.newStatus,
        message: `Your order ${orderId} ${STATUS_MESSAGES[event.data.newStatus]}.`,
      };
    default:
      return undefined;
  }
}

function formatMoney(minor: number, currency: string): string {
  return `${(minor / 100).toFixed(2)} ${currency}`;
}

export default defineHandler({
  name: 'notification',
  handles: ['order.created', 'order.status_changed'],
  async handle(event, context) {
    const notification = notificationFor(event);
    if (!notification) return;
    await context.emit(notificationStream(event.data.tenantId, event.data.orderId), [{ type: NOTIFICATION_REQUESTED, data: notification }]);
    context.logger.debug({ kind: notification.kind, orderId: event.data.orderId }, 'customer notification requested');
  },
});
