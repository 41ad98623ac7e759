// The Order as the decider sees it, rebuilt by folding its events with `evolve`.
import type { Customer, OrderEvent, OrderItem } from './events.js';
import type { OrderStatus } from './order-status.js';

export interface RecordedPayment {
  amount: number;
  method: string;
  reference?: string;
}

export interface ExistingOrder {
  exists: true;
  orderId: string;
  tenantId: string;
  status: OrderStatus;
  customer: Customer;
  currency: string;
  items: OrderItem[];
  total: number;
  paidAmount: number;
  refundedAmount: number;
  /** By paymentId: payments are idempotent by it. */
  payments: Record<string, RecordedPayment>;
  carrier?: string;
  trackingNumber?: string;
  createdAt: string;
  updatedAt: string;
}

export type OrderState = { exists: false } | ExistingOrder;

export const initialOrderState: OrderState = { exists: false };

export function evolve(state: OrderState, event: OrderEvent): OrderState {
  if (event.type === 'order.created') {
    const { data } = event;
    return {
      exists: true,
      orderId: data.orderId,
      tenantId: data.tenantId,
      status: 'PENDING',
      customer: data.customer,
      currency: data.currency,
      items: data.items,
      total: data.total,
      paidAmount: 0,
      refundedAmount: 0,
      payments: {},
      createdAt: data.occurredAt,
      updatedAt: data.occurredAt,
    };
  }
  // Events of an order that was never created cannot change anything.
  if (!state.exists) return state;
  const updatedAt = event.data.occurredAt;
  switch (event.type) {
    case 'order.status_changed':
      return { ...state, status: event.data.newStatus, updatedAt };
    case 'payment.processed': {
      const { paymentId, amount, method, reference } = event.data;
      const payment: RecordedPayment = reference === undefined ? { amount, method } : { amount, method, reference };
      return { ...state, paidAmount: state.paidAmount + amount, payments: { ...state.payments, [paymentId]: payment }, updatedAt };
    }
    case 'order.paid':
      return { ...state, status: 'PAID', updatedAt };
    case 'order.cancelled':
      return { ...state, status: 'CANCELLED', updatedAt };
    case 'order.shipped': {
      const { carrier, trackingNumber } = event.data;
      return {
        ...state,
        status: 'SHIPPED',
        ...(carrier !== undefined ? { carrier } : {}),
        ...(trackingNumber !== undefined ? { trackingNumber } : {}),
        updatedAt,
      };
    }
    case 'order.delivered':
      return { ...state, status: 'DELIVERED', updatedAt };
    case 'order.returned':
      return { ...state, status: 'RETURNED', updatedAt };
    case 'order.refunded':
      return { ...state, status: 'REFUNDED', refundedAmount: state.refundedAmount + event.data.amount, updatedAt };
    case 'inventory.stock_set':
      // A stock event, never in an order's stream.
      return state;
    default: {
      const _exhaustive: never = event;
      return _exhaustive;
    }
  }
}

export function foldOrder(events: Iterable<OrderEvent>, from: OrderState = initialOrderState): OrderState {
  let state = from;
  for (const event of events) state = evolve(state, event);
  return state;
}

export function orderTotal(items: readonly OrderItem[]): number {
  return items.reduce((sum, item) => sum + item.quantity * item.unitPrice, 0);
}
