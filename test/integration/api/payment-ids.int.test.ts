// One paymentId pays one order of a tenant: reusing it on another order of the same tenant is
// refused, retries of the same order and paymentId stay idempotent, another tenant has its own ids.
import { jsonEvent, NO_STREAM } from '@eventstore/db-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { paymentReservationStream, PAYMENT_ID_RESERVED } from '../../../src/eventstore/payment-reservation.js';
import { auth, startTestApp, TENANT_A, TENANT_B, type TestApp } from '../../helpers/app.js';
import { allHead } from '../hardening/support.js';
import { command, createOrder, newOrderBody, ORDER_TOTAL, storedTypes } from './support.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t.close();
});

const pay = (orderId: string, paymentId: string, amount = ORDER_TOTAL, tenant = TENANT_A) =>
  t.app.inject({ method: 'POST', url: `/orders/${orderId}/payments`, headers: auth(tenant), payload: { paymentId, amount, method: 'card' } });

describe('a paymentId is idempotent per tenant, not only per order', () => {
  it('paying order B with the paymentId that paid order A is 409 PAYMENT_ID_IN_USE, and B records nothing', async () => {
    const a = await createOrder(t.app);
    const b = await createOrder(t.app);
    const first = await pay(a.orderId, 'pay-shared-1');
    expect(first.statusCode, first.body).toBe(201);
    const reused = await pay(b.orderId, 'pay-shared-1');
    expect(reused.statusCode).toBe(409);
    expect(reused.headers['content-type']).toContain('application/problem+json');
    expect(reused.json()).toMatchObject({ code: 'PAYMENT_ID_IN_USE', paymentId: 'pay-shared-1', usedBy: a.orderId });
    expect(await storedTypes(t.store.client, b.orderId)).toEqual(['order.created']);
    expect((await t.app.inject({ method: 'GET', url: `/orders/${b.orderId}`, headers: auth() })).json()).toMatchObject({ status: 'PENDING', paidAmount: 0 });
  });

  it('a paymentId written in another case or with spaces is the same id (normalised) and refused too', async () => {
    const a = await createOrder(t.app);
    const b = await createOrder(t.app);
    const id = 'B6E2D527-3F0C-4B43-9D59-1C2A3B4C5D6E';
    expect((await pay(a.orderId, id)).statusCode).toBe(201);
    expect((await pay(b.orderId, ` ${id.toLowerCase()} `)).json()).toMatchObject({ code: 'PAYMENT_ID_IN_USE' });
  });

  it('retrying the same order and paymentId answers 200 with the order, appending nothing', async () => {
    const a = await createOrder(t.app);
    expect((await pay(a.orderId, 'pay-retry')).statusCode).toBe(201);
    const again = await pay(a.orderId, 'pay-retry');
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ status: 'PAID', paidAmount: ORDER_TOTAL });
    expect(await storedTypes(t.store.client, a.orderId)).toEqual(['order.created', 'payment.processed', 'order.paid', 'order.status_changed']);
  });

  it('after a crash between the reservation and the payment, the retry of the same order records it, another order is still refused', async () => {
    const a = await createOrder(t.app);
    const b = await createOrder(t.app);
    // What a process killed right after reserving leaves behind.
    await t.store.client.appendToStream(
      paymentReservationStream(TENANT_A.tenantId, 'pay-crashed'),
      jsonEvent({ type: PAYMENT_ID_RESERVED, data: { tenantId: TENANT_A.tenantId, paymentId: 'pay-crashed', orderId: a.orderId } }),
      { expectedRevision: NO_STREAM },
    );
    expect((await pay(b.orderId, 'pay-crashed')).json()).toMatchObject({ code: 'PAYMENT_ID_IN_USE', usedBy: a.orderId });
    const retried = await pay(a.orderId, 'pay-crashed');
    expect(retried.statusCode).toBe(201);
    expect(retried.json()).toMatchObject({ status: 'PAID' });
  });

  it('a payment the order refuses (unknown order, too large) frees the id for the right order', async () => {
    const missing = '0d5f4c1e-8b7d-4c1e-9a2b-5d6e7f809102';
    expect((await pay(missing, 'pay-typo')).statusCode).toBe(404);
    const a = await createOrder(t.app);
    expect((await pay(a.orderId, 'pay-typo', ORDER_TOTAL + 1)).json()).toMatchObject({ code: 'PAYMENT_EXCEEDS_BALANCE' });
    const right = await pay(a.orderId, 'pay-typo');
    expect(right.statusCode).toBe(201);
  });

  it('a payment the order refuses, or a stale If-Match, appends nothing anywhere (not even a reservation)', async () => {
    const a = await createOrder(t.app);
    const before = await allHead(t.store.client);
    expect((await pay('0d5f4c1e-8b7d-4c1e-9a2b-5d6e7f8091aa', 'pay-nothing')).statusCode).toBe(404);
    expect((await pay(a.orderId, 'pay-nothing', ORDER_TOTAL + 1)).statusCode).toBe(409);
    const stale = await t.app.inject({ method: 'POST', url: `/orders/${a.orderId}/payments`, headers: { ...auth(), 'if-match': '"7"' }, payload: { paymentId: 'pay-nothing', amount: 1, method: 'card' } });
    expect(stale.statusCode).toBe(412);
    expect(await allHead(t.store.client)).toBe(before);
  });

  it('the same paymentId with other details on the same order is still PAYMENT_CONFLICT, and keeps the id with the order', async () => {
    const a = await createOrder(t.app, newOrderBody({ items: [{ sku: 'MUG', quantity: 2, unitPrice: 1000 }] }));
    expect((await pay(a.orderId, 'pay-part', 500)).statusCode).toBe(201);
    expect((await pay(a.orderId, 'pay-part', 700)).json()).toMatchObject({ code: 'PAYMENT_CONFLICT' });
    const b = await createOrder(t.app);
    expect((await pay(b.orderId, 'pay-part')).json()).toMatchObject({ code: 'PAYMENT_ID_IN_USE' });
  });

  it('two orders racing for one new paymentId: exactly one is paid', async () => {
    const a = await createOrder(t.app);
    const b = await createOrder(t.app);
    const answers = await Promise.all([pay(a.orderId, 'pay-race'), pay(b.orderId, 'pay-race')]);
    expect(answers.map((answer) => answer.statusCode).sort()).toEqual([201, 409]);
  });

  it("another tenant's paymentIds are its own: the same id pays its order", async () => {
    const a = await createOrder(t.app);
    expect((await pay(a.orderId, 'pay-both-tenants')).statusCode).toBe(201);
    const ofB = await createOrder(t.app, newOrderBody(), TENANT_B);
    const paidByB = await pay(ofB.orderId, 'pay-both-tenants', ORDER_TOTAL, TENANT_B);
    expect(paidByB.statusCode, paidByB.body).toBe(201);
  });

  it('command() helpers still pay orders as before', async () => {
    const a = await createOrder(t.app);
    expect((await command(t.app, a.orderId, 'payments', { paymentId: 'p-helper', amount: ORDER_TOTAL, method: 'card' })).statusCode).toBe(201);
  });
});
