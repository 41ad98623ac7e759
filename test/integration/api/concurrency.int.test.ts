import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../../../src/api/app.js';
import { OrderStateCache } from '../../../src/eventstore/order-state-cache.js';
import { auth, startTestApp, TENANT_A, type TestApp } from '../../helpers/app.js';
import { command, createOrder, newOrderBody, ORDER_TOTAL, paidOrder, storedEvents } from './support.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

const N = 12;

describe('concurrent commands on one order', () => {
  it('20 payments sent at once on one order all succeed: commands on one order take turns in the process', async () => {
    const payments = 20;
    const { orderId } = await createOrder(t.app, newOrderBody({ items: [{ sku: 'UNIT', quantity: payments, unitPrice: 100 }] }));
    const responses = await Promise.all(
      Array.from({ length: payments }, (_, index) => command(t.app, orderId, 'payments', { paymentId: `p-${index}`, amount: 100, method: 'card' })),
    );
    expect(responses.map((response) => response.statusCode)).toEqual(Array(payments).fill(201));

    const events = await storedEvents(t.store.client, orderId);
    const stored = events.filter((event) => event.type === 'payment.processed');
    // Each payment once, in the order they were sent, the running totals consecutive.
    expect(stored.map((event) => event.data.paymentId)).toEqual(Array.from({ length: payments }, (_, index) => `p-${index}`));
    expect(stored.map((event) => event.data.paidAmount)).toEqual(stored.map((_, index) => (index + 1) * 100));
    expect(events.filter((event) => event.type === 'order.paid')).toHaveLength(1);
    expect(events.map((event) => event.revision)).toEqual(events.map((_, index) => BigInt(index)));
    const order = (await t.app.inject({ method: 'GET', url: `/orders/${orderId}`, headers: auth() })).json();
    expect(order).toMatchObject({ status: 'PAID', paidAmount: payments * 100 });
  });

  it('a failing command does not stop the next one on the same order from running', async () => {
    const { orderId } = await createOrder(t.app);
    const [refused, paid] = await Promise.all([
      command(t.app, orderId, 'ship', { carrier: 'DHL' }),
      command(t.app, orderId, 'payments', { paymentId: 'p-after-refusal', amount: ORDER_TOTAL, method: 'card' }),
    ]);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().code).toBe('ORDER_NOT_SHIPPABLE');
    expect(paid.statusCode).toBe(201);
    expect(paid.json().status).toBe('PAID');
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
  it('payments racing from two instances (two processes) are each stored once; a 409 can only come from that race', async () => {
    const other = await build({ client: t.store.client, apiKeys: new Map([[TENANT_A.key, TENANT_A.tenantId]]), cache: new OrderStateCache() });
    try {
      const { orderId } = await createOrder(t.app, newOrderBody({ items: [{ sku: 'UNIT', quantity: N, unitPrice: 100 }] }));
      const responses = await Promise.all(
        Array.from({ length: N }, (_, index) => command(index % 2 ? other : t.app, orderId, 'payments', { paymentId: `race-${index}`, amount: 100, method: 'card' })),
      );
      const accepted = responses.filter((response) => response.statusCode === 201);
      const conflicts = responses.filter((response) => response.statusCode === 409);
      expect(accepted.length + conflicts.length).toBe(N);
      for (const conflict of conflicts) expect(conflict.json().code).toBe('CONCURRENCY_CONFLICT');

      const stored = (await storedEvents(t.store.client, orderId)).filter((event) => event.type === 'payment.processed');
      // No lost update: each 201 is exactly one stored payment, and the running totals are consecutive.
      const acceptedIds = responses.flatMap((response, index) => (response.statusCode === 201 ? [`race-${index}`] : []));
      expect(stored.map((event) => event.data.paymentId).sort()).toEqual(acceptedIds.sort());
      expect(stored).toHaveLength(accepted.length);
      expect(stored.map((event) => event.data.paidAmount)).toEqual(stored.map((_, index) => (index + 1) * 100));
      // Retried on fresh state, so most of the race gets through.
      expect(accepted.length).toBeGreaterThanOrEqual(N / 2);
    } finally {
      await other.close();
    }
  });

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
