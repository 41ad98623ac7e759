import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, startTestApp, TENANT_B, type TestApp } from '../../helpers/app.js';
import { command, createOrder, ORDER_TOTAL, paidOrder, storedEvents, storedTypes } from './support.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

describe("an order's life through the API", () => {
  it('pay, ship, deliver, return and refund each answer the order and append the specific event with order.status_changed', async () => {
    const { orderId } = await createOrder(t.app);

    const partial = await command(t.app, orderId, 'payments', { paymentId: `p-1-${orderId}`, amount: 1000, method: 'card', reference: 'psp-1' });
    expect(partial.statusCode).toBe(201);
    expect(partial.json()).toMatchObject({ status: 'PENDING', paidAmount: 1000 });

    const rest = await command(t.app, orderId, 'payments', { paymentId: `p-2-${orderId}`, amount: ORDER_TOTAL - 1000, method: 'wallet' });
    expect(rest.json()).toMatchObject({ status: 'PAID', paidAmount: ORDER_TOTAL });

    const shipped = await command(t.app, orderId, 'ship', { carrier: 'DHL', trackingNumber: 'JD0001' });
    expect(shipped.statusCode).toBe(200);
    expect(shipped.json().status).toBe('SHIPPED');

    const delivered = await command(t.app, orderId, 'deliver');
    expect(delivered.json().status).toBe('DELIVERED');

    const returned = await command(t.app, orderId, 'return', { reason: 'wrong size' });
    expect(returned.json().status).toBe('RETURNED');

    const refunded = await command(t.app, orderId, 'refund', {});
    expect(refunded.json()).toMatchObject({ status: 'REFUNDED', refundedAmount: ORDER_TOTAL });
    expect(refunded.headers.etag).toBe(`"${refunded.json().revision}"`);

    const events = await storedEvents(t.store.client, orderId);
    expect(events.map((event) => event.type)).toEqual([
      'order.created',
      'payment.processed',
      'payment.processed',
      'order.paid',
      'order.status_changed',
      'order.shipped',
      'order.status_changed',
      'order.delivered',
      'order.status_changed',
      'order.returned',
      'order.status_changed',
      'order.refunded',
      'order.status_changed',
    ]);
    const changes = events.filter((event) => event.type === 'order.status_changed').map((event) => [event.data.oldStatus, event.data.newStatus]);
    expect(changes).toEqual([
      ['PENDING', 'PAID'],
      ['PAID', 'SHIPPED'],
      ['SHIPPED', 'DELIVERED'],
      ['DELIVERED', 'RETURNED'],
      ['RETURNED', 'REFUNDED'],
    ]);
    expect(events.find((event) => event.type === 'order.shipped')?.data).toMatchObject({ carrier: 'DHL', trackingNumber: 'JD0001' });
    expect(events.find((event) => event.type === 'order.returned')?.data).toMatchObject({ reason: 'wrong size' });
    expect(events.find((event) => event.type === 'order.refunded')?.data).toMatchObject({ amount: ORDER_TOTAL, currency: 'EUR' });
  });

  it('a cancelled order that was paid can be refunded; one that was not paid cannot', async () => {
    const paid = await paidOrder(t.app);
    expect((await command(t.app, paid, 'cancel', { reason: 'out of stock' })).json().status).toBe('CANCELLED');
    const refund = await command(t.app, paid, 'refund', { amount: 1500 });
    expect(refund.json()).toMatchObject({ status: 'REFUNDED', refundedAmount: 1500 });

    const { orderId: unpaid } = await createOrder(t.app);
    await command(t.app, unpaid, 'cancel');
    const refused = await command(t.app, unpaid, 'refund');
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ code: 'ORDER_NOT_REFUNDABLE', status: 409 });
  });

  it('an illegal transition is 409 with the current status and appends nothing', async () => {
    const { orderId } = await createOrder(t.app);
    const before = await storedTypes(t.store.client, orderId);
    const cases: Array<[string, object | undefined, string]> = [
      ['ship', { carrier: 'DHL' }, 'ORDER_NOT_SHIPPABLE'],
      ['deliver', undefined, 'ORDER_NOT_DELIVERABLE'],
      ['return', { reason: 'x' }, 'ORDER_NOT_RETURNABLE'],
      ['refund', undefined, 'ORDER_NOT_REFUNDABLE'],
    ];
    for (const [action, body, code] of cases) {
      const response = await command(t.app, orderId, action, body);
      expect(response.statusCode, action).toBe(409);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.json(), action).toMatchObject({ code, orderId, status: 409, currentStatus: 'PENDING', title: expect.any(String), detail: expect.stringContaining('PENDING') });
    }
    expect(await storedTypes(t.store.client, orderId)).toEqual(before);
  });

  it('refusing a refund larger than what was paid appends nothing', async () => {
    const orderId = await paidOrder(t.app);
    const response = await command(t.app, orderId, 'refund', { amount: ORDER_TOTAL + 1 });
    expect(response.statusCode).toBe(409);
    expect(response.json()).toMatchObject({ code: 'REFUND_EXCEEDS_PAID', refundable: ORDER_TOTAL });
    expect((await storedTypes(t.store.client, orderId)).at(-1)).toBe('order.status_changed');
    expect(await storedTypes(t.store.client, orderId)).toHaveLength(4);
  });

  it('commands on an unknown order are 404; on another tenant’s order too, and nothing is appended', async () => {
    const unknown = await command(t.app, randomUUID(), 'ship');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().code).toBe('ORDER_NOT_FOUND');

    const orderId = await paidOrder(t.app);
    const before = await storedTypes(t.store.client, orderId);
    for (const action of ['ship', 'cancel', 'refund', 'payments']) {
      const payload = action === 'payments' ? { paymentId: 'p-x', amount: 1, method: 'card' } : undefined;
      const response = await t.app.inject({ method: 'POST', url: `/orders/${orderId}/${action}`, headers: auth(TENANT_B), ...(payload ? { payload } : {}) });
      expect(response.statusCode, action).toBe(404);
      expect(response.json().code).toBe('ORDER_NOT_FOUND');
    }
    expect(await storedTypes(t.store.client, orderId)).toEqual(before);
  });

  it('command bodies refuse unknown fields and bad values, listing each', async () => {
    const orderId = await paidOrder(t.app);
    const ship = await command(t.app, orderId, 'ship', { carrier: 'DHL', eta: 'tomorrow' });
    expect(ship.statusCode).toBe(400);
    expect(ship.json().errors).toEqual([{ field: 'body.eta', message: 'is not a known field' }]);
    const refund = await command(t.app, orderId, 'refund', { amount: -5 });
    expect(refund.json().errors.map((error: { field: string }) => error.field)).toEqual(['body.amount']);
    const deliver = await command(t.app, orderId, 'deliver', { when: 'now' });
    expect(deliver.statusCode).toBe(400);
    expect(await storedTypes(t.store.client, orderId)).toHaveLength(4);
  });
});

describe('POST /orders/:orderId/payments', () => {
  it('is idempotent by paymentId: the replay answers 200 with the order and appends nothing', async () => {
    const { orderId } = await createOrder(t.app);
    const payment = { paymentId: `p-dup-${orderId}`, amount: 500, method: 'card' };
    const first = await command(t.app, orderId, 'payments', payment);
    const replay = await command(t.app, orderId, 'payments', payment);
    expect(first.statusCode).toBe(201);
    expect(replay.statusCode).toBe(200);
    expect(replay.json()).toMatchObject({ paidAmount: 500, revision: first.json().revision });
    expect(await storedTypes(t.store.client, orderId)).toEqual(['order.created', 'payment.processed']);
  });

  it('another payment under a used paymentId is 409 PAYMENT_CONFLICT and appends nothing', async () => {
    const { orderId } = await createOrder(t.app);
    await command(t.app, orderId, 'payments', { paymentId: `p-1-${orderId}`, amount: 500, method: 'card' });
    const conflict = await command(t.app, orderId, 'payments', { paymentId: `p-1-${orderId}`, amount: 600, method: 'card' });
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json()).toMatchObject({ code: 'PAYMENT_CONFLICT', paymentId: `p-1-${orderId}` });
    expect(await storedTypes(t.store.client, orderId)).toEqual(['order.created', 'payment.processed']);
  });

  it('a payment over the outstanding balance is 409 and a payment on a PAID order is 409 ORDER_NOT_PAYABLE', async () => {
    const { orderId } = await createOrder(t.app);
    const over = await command(t.app, orderId, 'payments', { paymentId: 'p-big', amount: ORDER_TOTAL + 1, method: 'card' });
    expect(over.json()).toMatchObject({ code: 'PAYMENT_EXCEEDS_BALANCE', outstanding: ORDER_TOTAL });
    const paid = await paidOrder(t.app);
    const more = await command(t.app, paid, 'payments', { paymentId: 'p-more', amount: 1, method: 'card' });
    expect(more.json()).toMatchObject({ code: 'ORDER_NOT_PAYABLE', status: 409, currentStatus: 'PAID' });
    expect(await storedTypes(t.store.client, orderId)).toEqual(['order.created']);
  });

  it('a payment body without paymentId, with a zero amount or a fractional one is 400', async () => {
    const { orderId } = await createOrder(t.app);
    const response = await command(t.app, orderId, 'payments', { amount: 0, method: 'card' });
    expect(response.statusCode).toBe(400);
    expect(response.json().errors.map((error: { field: string }) => error.field).sort()).toEqual(['body.amount', 'body.paymentId']);
    const fraction = await command(t.app, orderId, 'payments', { paymentId: 'p', amount: 10.5, method: 'card' });
    expect(fraction.statusCode).toBe(400);
  });
});

describe('If-Match', () => {
  it('applies the command when the order is at the given revision and answers the new ETag', async () => {
    const orderId = await paidOrder(t.app);
    const current = await t.app.inject({ method: 'GET', url: `/orders/${orderId}`, headers: auth() });
    const shipped = await command(t.app, orderId, 'ship', { carrier: 'UPS' }, { 'if-match': current.headers.etag as string });
    expect(shipped.statusCode).toBe(200);
    expect(shipped.headers.etag).toBe(`"${Number(JSON.parse(current.headers.etag as string)) + 2}"`);
  });

  it('is 412 PRECONDITION_FAILED when the order moved on, and appends nothing', async () => {
    const { orderId, revision } = await createOrder(t.app);
    await command(t.app, orderId, 'payments', { paymentId: `p-1-${orderId}`, amount: ORDER_TOTAL, method: 'card' });
    const stale = await command(t.app, orderId, 'cancel', { reason: 'late' }, { 'if-match': `"${revision}"` });
    expect(stale.statusCode).toBe(412);
    expect(stale.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(stale.json()).toMatchObject({ code: 'PRECONDITION_FAILED', currentRevision: '3' });
    expect(await storedTypes(t.store.client, orderId)).not.toContain('order.cancelled');
  });

  it('an If-Match that names no revision is 412', async () => {
    const { orderId } = await createOrder(t.app);
    const response = await command(t.app, orderId, 'cancel', undefined, { 'if-match': '"abc"' });
    expect(response.statusCode).toBe(412);
    expect(await storedTypes(t.store.client, orderId)).toEqual(['order.created']);
  });

  it("never reveals another tenant's order: a stale If-Match on it is still 404", async () => {
    const { orderId } = await createOrder(t.app);
    const response = await t.app.inject({ method: 'POST', url: `/orders/${orderId}/cancel`, headers: { ...auth(TENANT_B), 'if-match': '"7"' } });
    expect(response.statusCode).toBe(404);
  });
});
