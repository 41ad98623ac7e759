import { describe, expect, it } from 'vitest';
import { decide, evolve, foldOrder, initialOrderState, type OrderCommand, type OrderEvent, type RecordPayment } from '../../../src/orders/index.js';
import { deciderSpec } from '../../helpers/decider-spec.js';
import { context, ev, histories, later, orderId, total } from './order-fixtures.js';

const spec = deciderSpec<OrderCommand, OrderEvent, typeof initialOrderState>({ decide, evolve, initialState: initialOrderState });

const pay = (paymentId: string, amount: number, overrides: Partial<RecordPayment> = {}): RecordPayment => ({
  type: 'RecordPayment',
  orderId,
  paymentId,
  amount,
  method: 'card',
  context: context(),
  ...overrides,
});

describe('recording payments', () => {
  it('a partial payment is recorded and the order stays PENDING', () => {
    spec.given(histories.PENDING()).when(pay('pay-1', 1000)).then([ev.paymentProcessed('pay-1', 1000, 1000, later)]);
  });

  it('payments add up and the one that covers the total makes the order PAID in the same append', () => {
    spec
      .given([...histories.PENDING(), ev.paymentProcessed('pay-1', 1000, 1000)])
      .when(pay('pay-2', total - 1000))
      .then([
        ev.paymentProcessed('pay-2', total - 1000, total, later),
        ev.paid('pay-2', later),
        ev.statusChanged('PENDING', 'PAID', 'payment received', later),
      ]);
  });

  it('keeps the payment reference when one is given', () => {
    const [event] = decide(pay('pay-1', 500, { reference: 'psp-42' }), foldOrder(histories.PENDING()));
    expect(event).toMatchObject({ type: 'payment.processed', data: { reference: 'psp-42', method: 'card', currency: 'EUR' } });
  });

  it('the same payment sent twice is recorded once', () => {
    spec.given([...histories.PENDING(), ev.paymentProcessed('pay-1', 1000, 1000)]).when(pay('pay-1', 1000)).thenNothing();
  });

  it('a replayed payment is still accepted after it made the order PAID', () => {
    spec.given(histories.PAID()).when(pay('pay-1', total)).thenNothing();
  });

  it('another payment under a known paymentId is refused', () => {
    spec
      .given([...histories.PENDING(), ev.paymentProcessed('pay-1', 1000, 1000)])
      .when(pay('pay-1', 2000))
      .thenFails('PAYMENT_CONFLICT', { paymentId: 'pay-1' });
  });

  it('a payment larger than what is outstanding is refused', () => {
    spec
      .given([...histories.PENDING(), ev.paymentProcessed('pay-1', 1000, 1000)])
      .when(pay('pay-2', total))
      .thenFails('PAYMENT_EXCEEDS_BALANCE', { outstanding: total - 1000 });
  });

  for (const name of ['PAID', 'SHIPPED', 'DELIVERED', 'RETURNED', 'CANCELLED', 'REFUNDED'] as const) {
    it(`a new payment on a ${name} order is refused with ORDER_NOT_PAYABLE`, () => {
      spec.given(histories[name]()).when(pay('pay-new', 1)).thenFails('ORDER_NOT_PAYABLE', { status: name });
    });
  }

  it('a payment on an unknown order is refused with ORDER_NOT_FOUND', () => {
    spec.given([]).when(pay('pay-1', 1)).thenFails('ORDER_NOT_FOUND');
  });
});

describe('the order state folded from its events', () => {
  it('tracks status, paid and refunded amounts, and the time of the last change', () => {
    const state = foldOrder([...histories.PAID(), ev.refunded(1500, later), ev.statusChanged('PAID', 'REFUNDED', 'refunded', later)]);
    expect(state).toMatchObject({ exists: true, status: 'REFUNDED', total, paidAmount: total, refundedAmount: 1500, updatedAt: later });
  });

  it('remembers the carrier and tracking number of a shipment', () => {
    expect(foldOrder(histories.SHIPPED())).toMatchObject({ status: 'SHIPPED', carrier: 'DHL', trackingNumber: 'TRK1' });
  });

  it('ignores events of an order that was never created', () => {
    expect(foldOrder([ev.delivered()])).toEqual({ exists: false });
  });
});
