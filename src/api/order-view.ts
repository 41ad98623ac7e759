// What a client sees of an order.
import type { ExistingOrder } from '../orders/order-state.js';
import type { OrderView } from './schemas.js';

export function toOrderView(order: ExistingOrder, revision: bigint | undefined): OrderView {
  return {
    orderId: order.orderId,
    tenantId: order.tenantId,
    status: order.status,
    currency: order.currency,
    items: order.items,
    total: order.total,
    paidAmount: order.paidAmount,
    refundedAmount: order.refundedAmount,
    customer: order.customer,
    revision: Number(revision ?? -1n),
    createdAt: order.createdAt,
    updatedAt: order.updatedAt,
  };
}

/** Strong ETag of an order: its stream revision. */
export function etagFor(revision: bigint | undefined): string {
  return `"${revision ?? -1n}"`;
}
