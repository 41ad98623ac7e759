import { describe, expect, it } from 'vitest';
import { decide, evolve, initialOrderState, MAX_AMOUNT, type CreateOrder, type OrderCommand, type OrderEvent } from '../../../src/orders/index.js';
import { foldOrder } from '../../../src/orders/order-state.js';
import { deciderSpec } from '../../helpers/decider-spec.js';
import { context, ev, histories, orderId, tenantId, total } from './order-fixtures.js';

const spec = deciderSpec<OrderCommand, OrderEvent, typeof initialOrderState>({ decide, evolve, initialState: initialOrderState });
const at = '2026-11-26T10:00:00.000Z';

const create = (items: CreateOrder['items']): CreateOrder => ({
  type: 'CreateOrder',
  orderId,
  customer: { id: 'cust-7' },
  currency: 'EUR',
  items,
  context: context({ at }),
});
const pay = (amount: number): OrderCommand => ({ type: 'RecordPayment', orderId, paymentId: 'pay-9', amount, method: 'card', context: context() });

describe('an order whose total is 0', () => {
  it('is PAID on creation: created, then PENDING -> PAID "nothing to pay", in one append', () => {
    const free = create([{ sku: 'SAMPLE', quantity: 2, unitPrice: 0 }]);
    const common = { orderId, tenantId, customerId: 'cust-7', occurredAt: at };
    spec.given([]).when(free).then([
      { type: 'order.created', data: { schemaVersion: 2, ...common, customer: { id: 'cust-7' }, currency: 'EUR', items: free.items, total: 0 } },
      { type: 'order.status_changed', data: { schemaVersion: 1, ...common, oldStatus: 'PENDING', newStatus: 'PAID', reason: 'nothing to pay' } },
    ]);
    const state = foldOrder(decide(free, initialOrderState));
    expect(state).toMatchObject({ exists: true, status: 'PAID', total: 0, paidAmount: 0 });
  });

  it('can then be shipped like any paid order, and creating it again changes nothing', () => {
    const free = create([{ sku: 'SAMPLE', quantity: 1, unitPrice: 0 }]);
    const history = decide(free, initialOrderState);
    spec.given(history).when(free).thenNothing();
    const shipped = decide({ type: 'ShipOrder', orderId, context: context() }, foldOrder(history));
    expect(shipped.map((event) => event.type)).toEqual(['order.shipped', 'order.status_changed']);
  });

  it('takes no payment (there is nothing to pay)', () => {
    const history = decide(create([{ sku: 'SAMPLE', quantity: 1, unitPrice: 0 }]), initialOrderState);
    spec.given(history).when(pay(1)).thenFails('ORDER_NOT_PAYABLE');
  });
});

describe('amounts are bounded by MAX_AMOUNT (10^12 minor units)', () => {
  it('MAX_AMOUNT is 10^12, far inside 2^53', () => {
    expect(MAX_AMOUNT).toBe(1_000_000_000_000);
    expect(MAX_AMOUNT * 9_000).toBeLessThan(Number.MAX_SAFE_INTEGER);
  });

  it('an order of exactly MAX_AMOUNT is accepted', () => {
    const events = decide(create([{ sku: 'A', quantity: 4, unitPrice: MAX_AMOUNT / 4 }]), initialOrderState);
    expect(events[0]).toMatchObject({ type: 'order.created', data: { total: MAX_AMOUNT } });
  });

  it('a unit price above it is refused, naming the field', () => {
    spec.given([]).when(create([{ sku: 'A', quantity: 1, unitPrice: MAX_AMOUNT + 1 }])).thenFails('AMOUNT_OUT_OF_RANGE', { field: 'items.0.unitPrice', max: MAX_AMOUNT });
  });

  it('a line (unitPrice x quantity) above it is refused, naming the line', () => {
    spec.given([]).when(create([{ sku: 'A', quantity: 1, unitPrice: 5 }, { sku: 'B', quantity: 3, unitPrice: MAX_AMOUNT / 2 }])).thenFails('AMOUNT_OUT_OF_RANGE', { field: 'items.1' });
  });

  it('an order total above it is refused though every line is within it', () => {
    spec.given([]).when(create([{ sku: 'A', quantity: 1, unitPrice: MAX_AMOUNT }, { sku: 'B', quantity: 1, unitPrice: 1 }])).thenFails('AMOUNT_OUT_OF_RANGE', { field: 'items' });
  });

  it('a total past 2^53 (which a number cannot hold exactly) is refused, never written', () => {
    spec.given([]).when(create([{ sku: 'A', quantity: 3, unitPrice: Number.MAX_SAFE_INTEGER }])).thenFails('AMOUNT_OUT_OF_RANGE');
  });

  it('a payment above it is refused, even on an old order whose total is larger', () => {
    const bigTotal = 2 * MAX_AMOUNT;
    const old: OrderEvent = { ...ev.created(), data: { ...(ev.created().data as object), items: [{ sku: 'A', quantity: 2, unitPrice: MAX_AMOUNT }], total: bigTotal } } as OrderEvent;
    spec.given([old]).when(pay(MAX_AMOUNT + 1)).thenFails('AMOUNT_OUT_OF_RANGE', { field: 'amount' });
    // Two payments within the bound settle it.
    const first = decide(pay(MAX_AMOUNT), foldOrder([old]));
    const second = decide({ ...pay(MAX_AMOUNT), paymentId: 'pay-10' } as OrderCommand, foldOrder([old, ...first]));
    expect(foldOrder([old, ...first, ...second])).toMatchObject({ status: 'PAID', paidAmount: bigTotal });
  });

  it('a refund above it is refused', () => {
    spec.given(histories.PAID()).when({ type: 'RefundOrder', orderId, amount: MAX_AMOUNT + 1, context: context() }).thenFails('AMOUNT_OUT_OF_RANGE', { field: 'amount' });
    spec.given(histories.PAID()).when({ type: 'RefundOrder', orderId, amount: total, context: context() }).then([ev.refunded(total, context().at), ev.statusChanged('PAID', 'REFUNDED', 'refunded', context().at)]);
  });
});
