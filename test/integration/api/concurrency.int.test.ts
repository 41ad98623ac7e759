import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../../../src/api/app.js';
import { OrderStateCache } from '../../../src/eventstore/order-state-cache.js';
import { auth, startTestApp, TENANT_A, type TestApp } from '../../helpers/app.js';
import { command, createOrder, newOrderBody, paidOrder, storedEvents } from './support.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

const N = 12;

describe('concurrent commands on one order', () => {
  it('N parallel payments: every accepted payment is in the history once, the total adds up, PAID happens once', async () => {
    // Total N * 100, paid in N payments of 100 sent at once.
    const { orderId } = await createOrder(t.app, newOrderBody({ items: [{ sku: 'UNIT', quantity: N, unitPrice: 100 }] }));
    const responses = await Promise.all(
      Array.from({ length: N }, (_, index) => command(t.app, orderId, 'payments', { paymentId: `p-${index}`, amount: 100, method: 'card' })),
    );
    const accepted = responses.filter((response) => response.statusCode === 201);
    const conflicts = responses.filter((response) => response.statusCode === 409);
    expect(accepted.length + conflicts.length).toBe(N);
    for (const conflict of conflicts) expect(conflict.json().code).toBe('CONCURRENCY_CONFLICT');

    const events = await storedEvents(t.store.client, orderId);
    const payments = events.filter((event) => event.type === 'payment.processed');
    // No lost update: each 201 is exactly one stored payment, and the running totals are consecutive.
    expect(payments).toHaveLength(accepted.length);
    expect(payments.map((event) => event.data.paidAmount)).toEqual(payments.map((_, index) => (index + 1) * 100));
    expect(new Set(payments.map((event) => event.data.paymentId)).size).toBe(payments.length);
    expect(events.map((event) => event.revision)).toEqual(events.map((_, index) => BigInt(index)));

    const order = (await t.app.inject({ method: 'GET', url: `/orders/${orderId}`, headers: auth() })).json();
    expect(order.paidAmount).toBe(accepted.length * 100);
    expect(events.filter((event) => event.type === 'order.paid')).toHaveLength(order.status === 'PAID' ? 1 : 0);
    // Conflicts are retried on fresh state first, so most of a burst this size gets through.
    expect(accepted.length).toBeGreaterThanOrEqual(N / 2);
  });

  it('ship and cancel racing on a PAID order: exactly one wins and the other sees the new status', async () => {
    const orderId = await paidOrder(t.app);
    const [shipped, cancelled] = await Promise.all([command(t.app, orderId, 'ship', { carrier: 'DHL' }), command(t.app, orderId, 'cancel', { reason: 'race' })]);
    const outcomes = [shipped.statusCode, cancelled.statusCode].sort();
    expect(outcomes).toEqual([200, 409]);
    const loser = shipped.statusCode === 409 ? shipped : cancelled;
    expect(['ORDER_NOT_SHIPPABLE', 'ORDER_NOT_CANCELLABLE']).toContain(loser.json().code);

    const changes = (await storedEvents(t.store.client, orderId)).filter((event) => event.type === 'order.status_changed');
    expect(changes.map((event) => event.data.oldStatus)).toEqual(['PENDING', 'PAID']);
  });

  it('N parallel conditional commands with the same If-Match: one applies, the rest are 412', async () => {
    const orderId = await paidOrder(t.app);
    const etag = (await t.app.inject({ method: 'GET', url: `/orders/${orderId}`, headers: auth() })).headers.etag as string;
    const responses = await Promise.all(
      Array.from({ length: N }, (_, index) => command(t.app, orderId, index % 2 ? 'ship' : 'cancel', {}, { 'if-match': etag })),
    );
    expect(responses.filter((response) => response.statusCode === 200)).toHaveLength(1);
    expect(responses.filter((response) => response.statusCode === 412)).toHaveLength(N - 1);
    expect((await storedEvents(t.store.client, orderId)).length).toBe(6);
  });

  it('the same create sent N times at once makes one order', async () => {
    const body = newOrderBody();
    const responses = await Promise.all(Array.from({ length: N }, () => t.app.inject({ method: 'POST', url: '/orders', headers: auth(), payload: body })));
    expect(responses.filter((response) => response.statusCode === 201)).toHaveLength(1);
    for (const response of responses) expect([200, 201]).toContain(response.statusCode);
    expect(await storedEvents(t.store.client, body.orderId)).toHaveLength(1);
  });
});

describe('several API instances on one store', () => {
  it("an instance whose memory of an order is stale still applies commands on the order's real state", async () => {
    const other = await build({ client: t.store.client, apiKeys: new Map([[TENANT_A.key, TENANT_A.tenantId]]), cache: new OrderStateCache() });
    try {
      const { orderId } = await createOrder(t.app);
      // The first instance remembers the order as PENDING; the second one pays it.
      const paid = await command(other, orderId, 'payments', { paymentId: 'p-other', amount: 4000, method: 'card' });
      expect(paid.json().status).toBe('PAID');

      const shipped = await command(t.app, orderId, 'ship', { carrier: 'DHL' });
      expect(shipped.statusCode).toBe(200);
      expect(shipped.json()).toMatchObject({ status: 'SHIPPED', paidAmount: 4000 });
      expect((await storedEvents(t.store.client, orderId)).map((event) => event.type)).toEqual([
        'order.created',
        'payment.processed',
        'order.paid',
        'order.status_changed',
        'order.shipped',
        'order.status_changed',
      ]);

      // Stale memory never turns a legal command into a refusal, nor a refusal into an append.
      const replay = await command(t.app, orderId, 'payments', { paymentId: 'p-other', amount: 4000, method: 'card' });
      expect(replay.statusCode).toBe(200);
      expect(await storedEvents(t.store.client, orderId)).toHaveLength(6);
    } finally {
      await other.close();
    }
  });

  it('creating an order again on an instance that never saw it is still idempotent', async () => {
    const other = await build({ client: t.store.client, apiKeys: new Map([[TENANT_A.key, TENANT_A.tenantId]]), cache: new OrderStateCache() });
    try {
      const body = newOrderBody();
      expect((await t.app.inject({ method: 'POST', url: '/orders', headers: auth(), payload: body })).statusCode).toBe(201);
      const again = await other.inject({ method: 'POST', url: '/orders', headers: auth(), payload: body });
      expect(again.statusCode).toBe(200);
      const conflicting = await other.inject({ method: 'POST', url: '/orders', headers: auth(), payload: { ...body, currency: 'GBP' } });
      expect(conflicting.statusCode).toBe(409);
      expect(await storedEvents(t.store.client, body.orderId)).toHaveLength(1);
    } finally {
      await other.close();
    }
  });
});
