// One line of "key data" per order event type, and a one-line summary of an order's state: what
// an operator reads in `orders history` and `orders trace`.
import type { OrderEvent, OrderState } from '../orders/index.js';

/** Minor units as a decimal amount in the currency's own precision (JPY has none, EUR two). */
export function formatMoney(minor: number, currency: string | undefined): string {
  if (!currency) return `${minor}`;
  let digits = 2;
  try {
    digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    // an unknown currency code: keep two decimals
  }
  return `${(minor / 10 ** digits).toFixed(digits)} ${currency}`;
}

/** The fields of an event that say what happened, without the identity every event repeats. */
export function describeOrderEvent(event: OrderEvent, currency?: string): string {
  switch (event.type) {
    case 'order.created': {
      const { customer, items, total } = event.data;
      const who = customer.name ?? customer.id ?? 'anonymous customer';
      const count = items.reduce((sum, item) => sum + item.quantity, 0);
      return `${who}, ${count} item${count === 1 ? '' : 's'} (${items.map((item) => `${item.quantity}x ${item.sku}`).join(', ')}), total ${formatMoney(total, event.data.currency)}`;
    }
    case 'order.status_changed':
      return `${event.data.oldStatus} -> ${event.data.newStatus} (${event.data.reason})`;
    case 'payment.processed': {
      const { paymentId, amount, method, paidAmount } = event.data;
      return `payment ${paymentId}: ${formatMoney(amount, event.data.currency)} by ${method}, paid so far ${formatMoney(paidAmount, event.data.currency)}`;
    }
    case 'order.paid':
      return `paid ${formatMoney(event.data.paidAmount, event.data.currency)} of ${formatMoney(event.data.total, event.data.currency)} (payment ${event.data.paymentId})`;
    case 'order.cancelled':
      return `${event.data.reason ?? 'no reason given'}; ${formatMoney(event.data.paidAmount, currency)} was paid`;
    case 'order.shipped':
      return [event.data.carrier, event.data.trackingNumber].filter(Boolean).join(' ') || 'no carrier given';
    case 'order.delivered':
      return 'delivered';
    case 'order.returned':
      return event.data.reason ?? 'no reason given';
    case 'order.refunded':
      return `refunded ${formatMoney(event.data.amount, event.data.currency)}`;
    case 'inventory.stock_set':
      return `${event.data.sku}: ${event.data.onHand} on hand`;
    default: {
      const _exhaustive: never = event;
      return _exhaustive;
    }
  }
}

export function describeOrderState(state: OrderState): string {
  if (!state.exists) return 'no order';
  const money = (amount: number) => formatMoney(amount, state.currency);
  const parts = [state.status, `total ${money(state.total)}`, `paid ${money(state.paidAmount)}`];
  if (state.refundedAmount > 0) parts.push(`refunded ${money(state.refundedAmount)}`);
  if (state.carrier || state.trackingNumber) parts.push(`shipped with ${[state.carrier, state.trackingNumber].filter(Boolean).join(' ')}`);
  return parts.join(', ');
}
