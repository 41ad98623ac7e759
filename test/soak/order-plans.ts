// The order lifecycles the soak drives: which commands, in which order, and what each appends
// when it succeeds (the decider's shapes), so the verification knows what an ack promises.
import { randomUUID } from 'node:crypto';

export type StepKind = 'create' | 'pay' | 'ship' | 'deliver' | 'cancel' | 'return' | 'refund';

export interface PlanStep {
  kind: StepKind;
  path: string;
  body: Record<string, unknown>;
  /** Event types one successful (appending) run of the command writes. */
  appends: string[];
  /** Status the order has once the step took effect. */
  statusAfter: string;
  paymentId?: string;
}

export interface OrderPlan {
  orderId: string;
  tenant: string;
  /** Name of the lifecycle, for the counts. */
  shape: string;
  steps: PlanStep[];
  /** Units per SKU the order reserves. */
  items: { sku: string; quantity: number; unitPrice: number }[];
  hasPhone: boolean;
}

export const SKUS = ['sku-tea', 'sku-mug', 'sku-pot', 'sku-cup', 'sku-tray'];

const statusStep = (kind: StepKind, event: string, status: string, body: Record<string, unknown> = {}) => (orderId: string): PlanStep => ({
  kind,
  path: `/orders/${orderId}/${kind}`,
  body,
  appends: [event, 'order.status_changed'],
  statusAfter: status,
});
const ship = statusStep('ship', 'order.shipped', 'SHIPPED', { carrier: 'DHL', trackingNumber: 'TRACK-1' });
const deliver = statusStep('deliver', 'order.delivered', 'DELIVERED');
const cancel = statusStep('cancel', 'order.cancelled', 'CANCELLED', { reason: 'customer changed their mind' });
const returned = statusStep('return', 'order.returned', 'RETURNED', { reason: 'damaged' });
const refund = statusStep('refund', 'order.refunded', 'REFUNDED');

function payment(orderId: string, paymentId: string, amount: number, completes: boolean): PlanStep {
  return {
    kind: 'pay',
    path: `/orders/${orderId}/payments`,
    body: { paymentId, amount, method: 'card' },
    appends: completes ? ['payment.processed', 'order.paid', 'order.status_changed'] : ['payment.processed'],
    statusAfter: completes ? 'PAID' : 'PENDING',
    paymentId,
  };
}

/** A random lifecycle: mostly the happy path, some split payments, cancellations and refunds. */
export function randomOrderPlan(tenants: readonly string[], random: () => number = Math.random): OrderPlan {
  const orderId = randomUUID();
  const tenant = tenants[Math.floor(random() * tenants.length)]!;
  const lines = 1 + Math.floor(random() * 3);
  const skus = [...SKUS].sort(() => random() - 0.5).slice(0, lines);
  const items = skus.map((sku) => ({ sku, quantity: 1 + Math.floor(random() * 3), unitPrice: 100 + Math.floor(random() * 4900) }));
  const total = items.reduce((sum, item) => sum + item.quantity * item.unitPrice, 0);
  const hasPhone = random() < 0.8;
  const create: PlanStep = {
    kind: 'create',
    path: '/orders',
    body: {
      orderId,
      customer: { id: `customer-${Math.floor(random() * 50)}`, name: 'Soak Customer', ...(hasPhone ? { phone: `+1415555${String(Math.floor(random() * 10_000)).padStart(4, '0')}` } : {}) },
      currency: 'EUR',
      items,
    },
    appends: ['order.created'],
    statusAfter: 'PENDING',
  };
  const payInFull = payment(orderId, `${orderId}:pay-1`, total, true);
  const roll = random();
  let shape: string;
  let rest: PlanStep[];
  if (roll < 0.55) {
    shape = 'delivered';
    rest = [payInFull, ship(orderId), deliver(orderId)];
  } else if (roll < 0.7 && total > 1) {
    shape = 'split payment, delivered';
    const first = Math.floor(total / 2);
    rest = [payment(orderId, `${orderId}:pay-1`, first, false), payment(orderId, `${orderId}:pay-2`, total - first, true), ship(orderId), deliver(orderId)];
  } else if (roll < 0.8) {
    shape = 'cancelled unpaid';
    rest = [cancel(orderId)];
  } else if (roll < 0.9) {
    shape = 'cancelled paid, refunded';
    rest = [payInFull, cancel(orderId), refund(orderId)];
  } else {
    shape = 'returned, refunded';
    rest = [payInFull, ship(orderId), deliver(orderId), returned(orderId), refund(orderId)];
  }
  return { orderId, tenant, shape, steps: [create, ...rest], items, hasPhone };
}
