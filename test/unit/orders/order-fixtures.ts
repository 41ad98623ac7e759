// Literal events and commands for the order specs, written out by hand (not via the factory)
// so the specs pin the catalogue's shape.
import type { CommandContext, OrderCommand, OrderEvent, OrderStatus } from '../../../src/orders/index.js';

export const orderId = '3f1c2a4e-8b7d-4c1e-9a2b-5d6e7f809102';
export const tenantId = 'tenant-a';
export const at = '2026-11-26T10:00:00.000Z';
export const later = '2026-11-26T11:00:00.000Z';

export function context(overrides: Partial<CommandContext> = {}): CommandContext {
  return { commandId: 'cmd-1', tenantId, actor: 'api-key:abcd1234', at: later, correlationId: 'corr-1', ...overrides };
}

export const items = [
  { sku: 'TSHIRT-M', name: 'T-shirt', quantity: 2, unitPrice: 1500 },
  { sku: 'MUG', quantity: 1, unitPrice: 1000 },
];
/** 2 * 1500 + 1 * 1000 */
export const total = 4000;
export const customer = { id: 'cust-7', name: 'Ada', phone: '+14155550100' };

const common = (occurredAt = at) => ({ orderId, tenantId, customerId: 'cust-7', occurredAt });

export const ev = {
  created: (): OrderEvent => ({
    type: 'order.created',
    data: { schemaVersion: 2, ...common(), customer, currency: 'EUR', items, total },
  }),
  statusChanged: (oldStatus: OrderStatus, newStatus: OrderStatus, reason: string, occurredAt = at): OrderEvent => ({
    type: 'order.status_changed',
    data: { schemaVersion: 1, ...common(occurredAt), oldStatus, newStatus, reason },
  }),
  paymentProcessed: (paymentId: string, amount: number, paidAmount: number, occurredAt = at): OrderEvent => ({
    type: 'payment.processed',
    data: { schemaVersion: 1, ...common(occurredAt), paymentId, amount, currency: 'EUR', method: 'card', paidAmount },
  }),
  paid: (paymentId: string, occurredAt = at): OrderEvent => ({
    type: 'order.paid',
    data: { schemaVersion: 1, ...common(occurredAt), total, paidAmount: total, currency: 'EUR', paymentId },
  }),
  shipped: (occurredAt = at): OrderEvent => ({
    type: 'order.shipped',
    data: { schemaVersion: 1, ...common(occurredAt), carrier: 'DHL', trackingNumber: 'TRK1' },
  }),
  delivered: (occurredAt = at): OrderEvent => ({ type: 'order.delivered', data: { schemaVersion: 1, ...common(occurredAt) } }),
  cancelled: (paidAmount: number, reason?: string, occurredAt = at): OrderEvent => ({
    type: 'order.cancelled',
    data: { schemaVersion: 1, ...common(occurredAt), paidAmount, ...(reason ? { reason } : {}) },
  }),
  returned: (reason?: string, occurredAt = at): OrderEvent => ({
    type: 'order.returned',
    data: { schemaVersion: 1, ...common(occurredAt), ...(reason ? { reason } : {}) },
  }),
  refunded: (amount: number, occurredAt = at): OrderEvent => ({
    type: 'order.refunded',
    data: { schemaVersion: 1, ...common(occurredAt), amount, currency: 'EUR' },
  }),
};

const paidHistory = (): OrderEvent[] => [
  ev.created(),
  ev.paymentProcessed('pay-1', total, total),
  ev.paid('pay-1'),
  ev.statusChanged('PENDING', 'PAID', 'payment received'),
];
const shippedHistory = (): OrderEvent[] => [...paidHistory(), ev.shipped(), ev.statusChanged('PAID', 'SHIPPED', 'shipped')];

/** A history that leaves the order in each state (CANCELLED_PAID: cancelled after payment). */
export const histories = {
  PENDING: () => [ev.created()],
  PAID: paidHistory,
  SHIPPED: shippedHistory,
  DELIVERED: () => [...shippedHistory(), ev.delivered(), ev.statusChanged('SHIPPED', 'DELIVERED', 'delivered')],
  RETURNED: () => [...shippedHistory(), ev.returned(), ev.statusChanged('SHIPPED', 'RETURNED', 'returned')],
  CANCELLED: () => [ev.created(), ev.cancelled(0), ev.statusChanged('PENDING', 'CANCELLED', 'cancelled')],
  CANCELLED_PAID: () => [...paidHistory(), ev.cancelled(total), ev.statusChanged('PAID', 'CANCELLED', 'cancelled')],
  REFUNDED: () => [...paidHistory(), ev.refunded(total), ev.statusChanged('PAID', 'REFUNDED', 'refunded')],
} satisfies Record<string, () => OrderEvent[]>;
export type HistoryName = keyof typeof histories;

export const commands = {
  ship: (): OrderCommand => ({ type: 'ShipOrder', orderId, carrier: 'DHL', trackingNumber: 'TRK1', context: context() }),
  deliver: (): OrderCommand => ({ type: 'DeliverOrder', orderId, context: context() }),
  cancel: (): OrderCommand => ({ type: 'CancelOrder', orderId, context: context() }),
  return: (): OrderCommand => ({ type: 'ReturnOrder', orderId, context: context() }),
  refund: (): OrderCommand => ({ type: 'RefundOrder', orderId, context: context() }),
};
