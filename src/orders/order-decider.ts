// The Order decider: decide(command, state) -> events, refusing with a coded OrderError.
import type { CancelOrder, CreateOrder, OrderCommand, RecordPayment, RefundOrder, ReturnOrder, ShipOrder } from './commands.js';
import type { OrderEvent } from './events.js';
import { orderEventFactory } from './event-factory.js';
import { OrderError, type OrderErrorCode } from './order-errors.js';
import { evolve, initialOrderState, orderTotal, type ExistingOrder, type OrderState } from './order-state.js';
import { canTransition, type OrderStatus } from './order-status.js';
import { MAX_AMOUNT } from './money.js';

export { evolve, initialOrderState };

export function decide(command: OrderCommand, state: OrderState): OrderEvent[] {
  if (command.type === 'CreateOrder') return createOrder(command, state);
  const order = requireOrder(command, state);
  switch (command.type) {
    case 'RecordPayment':
      return recordPayment(command, order);
    case 'ShipOrder':
      return shipOrder(command, order);
    case 'DeliverOrder':
      requireTransition(order, 'DELIVERED', 'ORDER_NOT_DELIVERABLE', 'delivered');
      return withStatusChange(order, command.context, 'DELIVERED', 'delivered', (events) => events.delivered());
    case 'CancelOrder':
      return cancelOrder(command, order);
    case 'ReturnOrder':
      return returnOrder(command, order);
    case 'RefundOrder':
      return refundOrder(command, order);
    default: {
      const _exhaustive: never = command;
      return _exhaustive;
    }
  }
}

/** The order as its tenant sees it: another tenant's order does not exist for them. */
function requireOrder(command: Exclude<OrderCommand, CreateOrder>, state: OrderState): ExistingOrder {
  if (!state.exists || state.tenantId !== command.context.tenantId) {
    throw new OrderError('ORDER_NOT_FOUND', `order ${command.orderId} not found`, { orderId: command.orderId });
  }
  return state;
}

function requireTransition(order: ExistingOrder, to: OrderStatus, code: OrderErrorCode, verb: string): void {
  if (!canTransition(order.status, to)) {
    throw new OrderError(code, `order ${order.orderId} is ${order.status} and cannot be ${verb}`, {
      orderId: order.orderId,
      status: order.status,
    });
  }
}

function identity(order: ExistingOrder) {
  return { orderId: order.orderId, tenantId: order.tenantId, ...(order.customer.id !== undefined ? { customerId: order.customer.id } : {}) };
}

type Factory = ReturnType<typeof orderEventFactory>;

/** A status change is the specific event followed by `order.status_changed`, in one append. */
function withStatusChange(
  order: ExistingOrder,
  context: OrderCommand['context'],
  newStatus: OrderStatus,
  reason: string,
  specific: (events: Factory) => OrderEvent,
): OrderEvent[] {
  const events = orderEventFactory(identity(order), context);
  return [specific(events), events.statusChanged(order.status, newStatus, reason)];
}

function createOrder(command: CreateOrder, state: OrderState): OrderEvent[] {
  if (state.exists) {
    // Creating the same order twice is idempotent; the same id with anything else is a conflict.
    if (state.tenantId === command.context.tenantId && sameOrderContent(state, command)) return [];
    throw new OrderError('ORDER_ALREADY_EXISTS', `order ${command.orderId} already exists with different content`, {
      orderId: command.orderId,
    });
  }
  command.items.forEach((item, index) => {
    requireAmount(`items.${index}.unitPrice`, item.unitPrice, command.orderId);
    requireAmount(`items.${index}`, item.quantity * item.unitPrice, command.orderId);
  });
  const total = orderTotal(command.items);
  requireAmount('items', total, command.orderId);
  const events = orderEventFactory(
    { orderId: command.orderId, tenantId: command.context.tenantId, ...(command.customer.id !== undefined ? { customerId: command.customer.id } : {}) },
    command.context,
  );
  const created = events.created({ customer: command.customer, currency: command.currency, items: command.items, total });
  // Nothing to pay (free samples, a full discount): the order is PAID at once, ready to ship,
  // rather than PENDING for a payment that can never come.
  if (total === 0) return [created, events.statusChanged('PENDING', 'PAID', 'nothing to pay')];
  return [created];
}

/** Every amount an event may carry is a whole number of minor units in [0, MAX_AMOUNT]. */
function requireAmount(field: string, amount: number, orderId: string): void {
  if (!Number.isSafeInteger(amount) || amount < 0 || amount > MAX_AMOUNT) {
    const message = `must be a whole number of minor units from 0 to ${MAX_AMOUNT}`;
    throw new OrderError('AMOUNT_OUT_OF_RANGE', `${field} is ${amount}: ${message}`, { orderId, field, max: MAX_AMOUNT, errors: [{ field, message }] });
  }
}

function sameOrderContent(order: ExistingOrder, command: CreateOrder): boolean {
  return canonical(order.customer) === canonical(command.customer) && order.currency === command.currency && canonical(order.items) === canonical(command.items);
}

/** JSON with sorted keys and no undefined fields, so equal content compares equal. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, field: unknown) =>
    field && typeof field === 'object' && !Array.isArray(field)
      ? Object.fromEntries(Object.entries(field as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : field,
  );
}

function recordPayment(command: RecordPayment, order: ExistingOrder): OrderEvent[] {
  const earlier = order.payments[command.paymentId];
  if (earlier) {
    // Payments are idempotent by paymentId: a replay changes nothing, a different payment under
    // the same id is refused.
    if (earlier.amount === command.amount && earlier.method === command.method && earlier.reference === command.reference) return [];
    throw new OrderError('PAYMENT_CONFLICT', `payment ${command.paymentId} was already recorded with other details`, {
      orderId: order.orderId,
      paymentId: command.paymentId,
    });
  }
  requireAmount('amount', command.amount, order.orderId);
  if (order.status !== 'PENDING') {
    throw new OrderError('ORDER_NOT_PAYABLE', `order ${order.orderId} is ${order.status} and takes no payments`, {
      orderId: order.orderId,
      status: order.status,
    });
  }
  const outstanding = order.total - order.paidAmount;
  if (command.amount > outstanding) {
    throw new OrderError('PAYMENT_EXCEEDS_BALANCE', `payment of ${command.amount} exceeds the outstanding ${outstanding}`, {
      orderId: order.orderId,
      status: order.status,
      outstanding,
    });
  }
  const events = orderEventFactory(identity(order), command.context);
  const paidAmount = order.paidAmount + command.amount;
  const recorded = [
    events.paymentProcessed({
      paymentId: command.paymentId,
      amount: command.amount,
      currency: order.currency,
      method: command.method,
      ...(command.reference !== undefined ? { reference: command.reference } : {}),
      paidAmount,
    }),
  ];
  if (paidAmount < order.total) return recorded;
  return [
    ...recorded,
    events.paid({ total: order.total, paidAmount, currency: order.currency, paymentId: command.paymentId }),
    events.statusChanged(order.status, 'PAID', 'payment received'),
  ];
}

function shipOrder(command: ShipOrder, order: ExistingOrder): OrderEvent[] {
  requireTransition(order, 'SHIPPED', 'ORDER_NOT_SHIPPABLE', 'shipped');
  const { carrier, trackingNumber } = command;
  return withStatusChange(order, command.context, 'SHIPPED', 'shipped', (events) =>
    events.shipped({ ...(carrier !== undefined ? { carrier } : {}), ...(trackingNumber !== undefined ? { trackingNumber } : {}) }),
  );
}

function cancelOrder(command: CancelOrder, order: ExistingOrder): OrderEvent[] {
  requireTransition(order, 'CANCELLED', 'ORDER_NOT_CANCELLABLE', 'cancelled');
  const { reason } = command;
  return withStatusChange(order, command.context, 'CANCELLED', reason ?? 'cancelled', (events) =>
    events.cancelled({ paidAmount: order.paidAmount, ...(reason !== undefined ? { reason } : {}) }),
  );
}

function returnOrder(command: ReturnOrder, order: ExistingOrder): OrderEvent[] {
  requireTransition(order, 'RETURNED', 'ORDER_NOT_RETURNABLE', 'returned');
  const { reason } = command;
  return withStatusChange(order, command.context, 'RETURNED', reason ?? 'returned', (events) =>
    events.returned(reason !== undefined ? { reason } : {}),
  );
}

function refundOrder(command: RefundOrder, order: ExistingOrder): OrderEvent[] {
  requireTransition(order, 'REFUNDED', 'ORDER_NOT_REFUNDABLE', 'refunded');
  const refundable = order.paidAmount - order.refundedAmount;
  // A cancelled order is refundable only if money was received.
  if (refundable <= 0) {
    throw new OrderError('ORDER_NOT_REFUNDABLE', `order ${order.orderId} has nothing to refund`, { orderId: order.orderId, status: order.status });
  }
  if (command.amount !== undefined) requireAmount('amount', command.amount, order.orderId);
  const amount = command.amount ?? refundable;
  if (amount > refundable) {
    throw new OrderError('REFUND_EXCEEDS_PAID', `refund of ${amount} exceeds the refundable ${refundable}`, {
      orderId: order.orderId,
      status: order.status,
      refundable,
    });
  }
  return withStatusChange(order, command.context, 'REFUNDED', 'refunded', (events) => events.refunded({ amount, currency: order.currency }));
}
