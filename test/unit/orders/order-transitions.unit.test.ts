import { describe, it } from 'vitest';
import { decide, evolve, initialOrderState, type OrderCommand, type OrderEvent } from '../../../src/orders/index.js';
import { deciderSpec } from '../../helpers/decider-spec.js';
import { commands, ev, histories, later, total, type HistoryName } from './order-fixtures.js';

const spec = deciderSpec<OrderCommand, OrderEvent, typeof initialOrderState>({ decide, evolve, initialState: initialOrderState });

type CommandName = keyof typeof commands;

/** Every allowed move, with the exact events it appends (the specific event, then status_changed). */
const allowed: Array<[HistoryName, CommandName, OrderEvent[]]> = [
  ['PAID', 'ship', [ev.shipped(later), ev.statusChanged('PAID', 'SHIPPED', 'shipped', later)]],
  ['SHIPPED', 'deliver', [ev.delivered(later), ev.statusChanged('SHIPPED', 'DELIVERED', 'delivered', later)]],
  ['PENDING', 'cancel', [ev.cancelled(0, undefined, later), ev.statusChanged('PENDING', 'CANCELLED', 'cancelled', later)]],
  ['PAID', 'cancel', [ev.cancelled(total, undefined, later), ev.statusChanged('PAID', 'CANCELLED', 'cancelled', later)]],
  ['SHIPPED', 'return', [ev.returned(undefined, later), ev.statusChanged('SHIPPED', 'RETURNED', 'returned', later)]],
  ['DELIVERED', 'return', [ev.returned(undefined, later), ev.statusChanged('DELIVERED', 'RETURNED', 'returned', later)]],
  ['PAID', 'refund', [ev.refunded(total, later), ev.statusChanged('PAID', 'REFUNDED', 'refunded', later)]],
  ['RETURNED', 'refund', [ev.refunded(total, later), ev.statusChanged('RETURNED', 'REFUNDED', 'refunded', later)]],
  ['CANCELLED_PAID', 'refund', [ev.refunded(total, later), ev.statusChanged('CANCELLED', 'REFUNDED', 'refunded', later)]],
];

const refusalCode: Record<CommandName, string> = {
  ship: 'ORDER_NOT_SHIPPABLE',
  deliver: 'ORDER_NOT_DELIVERABLE',
  cancel: 'ORDER_NOT_CANCELLABLE',
  return: 'ORDER_NOT_RETURNABLE',
  refund: 'ORDER_NOT_REFUNDABLE',
};

const currentStatus: Record<HistoryName, string> = {
  PENDING: 'PENDING',
  PAID: 'PAID',
  SHIPPED: 'SHIPPED',
  DELIVERED: 'DELIVERED',
  RETURNED: 'RETURNED',
  CANCELLED: 'CANCELLED',
  CANCELLED_PAID: 'CANCELLED',
  REFUNDED: 'REFUNDED',
};

describe('order status transitions', () => {
  for (const [from, command, events] of allowed) {
    it(`${command} is allowed from ${from} and appends the specific event then order.status_changed`, () => {
      spec.given(histories[from]()).when(commands[command]()).then(events);
    });
  }

  const refused = (Object.keys(histories) as HistoryName[]).flatMap((from) =>
    (Object.keys(commands) as CommandName[])
      .filter((command) => !allowed.some(([f, c]) => f === from && c === command))
      .map((command) => [from, command] as const),
  );
  for (const [from, command] of refused) {
    it(`${command} is refused from ${from} with ${refusalCode[command]} and the current status`, () => {
      spec.given(histories[from]()).when(commands[command]()).thenFails(refusalCode[command], { status: currentStatus[from] });
    });
  }

  it('a cancellation keeps the reason the caller gave in both events', () => {
    spec
      .given(histories.PENDING())
      .when({ ...(commands.cancel() as Extract<OrderCommand, { type: 'CancelOrder' }>), reason: 'customer changed mind' })
      .then([ev.cancelled(0, 'customer changed mind', later), ev.statusChanged('PENDING', 'CANCELLED', 'customer changed mind', later)]);
  });

  it('a partial refund records the amount asked for', () => {
    spec
      .given(histories.PAID())
      .when({ type: 'RefundOrder', orderId: commands.refund().orderId, amount: 1000, context: commands.refund().context })
      .then([ev.refunded(1000, later), ev.statusChanged('PAID', 'REFUNDED', 'refunded', later)]);
  });

  it('a refund larger than what was paid is refused', () => {
    spec
      .given(histories.PAID())
      .when({ type: 'RefundOrder', orderId: commands.refund().orderId, amount: total + 1, context: commands.refund().context })
      .thenFails('REFUND_EXCEEDS_PAID', { refundable: total });
  });

  it('an order that was never created cannot be shipped, cancelled or refunded', () => {
    for (const command of Object.values(commands)) spec.given([]).when(command()).thenFails('ORDER_NOT_FOUND');
  });

  it("another tenant's order does not exist for the caller", () => {
    const foreign = commands.ship();
    spec
      .given(histories.PAID())
      .when({ ...foreign, context: { ...foreign.context, tenantId: 'tenant-b' } })
      .thenFails('ORDER_NOT_FOUND');
  });
});
