import { randomUUID } from 'node:crypto';
import { jsonEvent } from '@eventstore/db-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, startTestApp, TENANT_A, TENANT_B, type TestApp } from '../../helpers/app.js';
import { command, createOrder, newOrderBody, ORDER_TOTAL } from './support.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

describe('GET /orders/:orderId', () => {
  it("answers the order's current state with its stream revision as ETag", async () => {
    const { orderId } = await createOrder(t.app);
    await command(t.app, orderId, 'payments', { paymentId: 'p-1', amount: 1000, method: 'card' });
    const response = await t.app.inject({ method: 'GET', url: `/orders/${orderId}`, headers: auth() });
    expect(response.statusCode).toBe(200);
    expect(response.headers.etag).toBe('"1"');
    expect(response.json()).toMatchObject({ orderId, status: 'PENDING', paidAmount: 1000, total: ORDER_TOTAL, revision: 1 });
  });

  it('answers 304 to If-None-Match with the current ETag, and 200 once the order changed', async () => {
    const { orderId } = await createOrder(t.app);
    const first = await t.app.inject({ method: 'GET', url: `/orders/${orderId}`, headers: auth() });
    const unchanged = await t.app.inject({ method: 'GET', url: `/orders/${orderId}`, headers: { ...auth(), 'if-none-match': first.headers.etag as string } });
    expect(unchanged.statusCode).toBe(304);
    expect(unchanged.body).toBe('');
    await command(t.app, orderId, 'cancel');
    const changed = await t.app.inject({ method: 'GET', url: `/orders/${orderId}`, headers: { ...auth(), 'if-none-match': first.headers.etag as string } });
    expect(changed.statusCode).toBe(200);
    expect(changed.json().status).toBe('CANCELLED');
  });

  it('an unknown order is 404 ORDER_NOT_FOUND', async () => {
    const response = await t.app.inject({ method: 'GET', url: `/orders/${randomUUID()}`, headers: auth() });
    expect(response.statusCode).toBe(404);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.json()).toMatchObject({ status: 404, code: 'ORDER_NOT_FOUND' });
  });

  it("another tenant's order is 404, exactly like an unknown one", async () => {
    const { orderId } = await createOrder(t.app, newOrderBody(), TENANT_A);
    const response = await t.app.inject({ method: 'GET', url: `/orders/${orderId}`, headers: auth(TENANT_B) });
    expect(response.statusCode).toBe(404);
    expect(response.json().code).toBe('ORDER_NOT_FOUND');
    expect(response.body).not.toContain(TENANT_A.tenantId);
  });

  it('an order id that is not a UUID is 400 naming the parameter', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/orders/abc', headers: auth() });
    expect(response.statusCode).toBe(400);
    expect(response.json().errors).toEqual([{ field: 'params.orderId', message: 'must be a UUID' }]);
  });

  it('needs an API key', async () => {
    const { orderId } = await createOrder(t.app);
    const response = await t.app.inject({ method: 'GET', url: `/orders/${orderId}` });
    expect(response.statusCode).toBe(401);
  });
});

describe('GET /orders/:orderId/events', () => {
  it('answers the history with type, data, metadata, revision and time, and no position in $all (the store-wide log of every tenant)', async () => {
    const { orderId } = await createOrder(t.app);
    await command(t.app, orderId, 'payments', { paymentId: `p-1-${orderId}`, amount: ORDER_TOTAL, method: 'card' }, { 'x-correlation-id': 'corr-pay' });
    const response = await t.app.inject({ method: 'GET', url: `/orders/${orderId}/events`, headers: auth() });
    expect(response.statusCode).toBe(200);
    const history = response.json<{ orderId: string; events: Array<Record<string, unknown>> }>();
    expect(history.orderId).toBe(orderId);
    expect(history.events.map((event) => event.type)).toEqual(['order.created', 'payment.processed', 'order.paid', 'order.status_changed']);
    expect(history.events.map((event) => event.revision)).toEqual([0, 1, 2, 3]);
    const last = history.events[3]!;
    expect(last.data).toMatchObject({ orderId, oldStatus: 'PENDING', newStatus: 'PAID' });
    expect(last.metadata).toMatchObject({ $correlationId: `${TENANT_A.tenantId}:corr-pay`, tenantId: TENANT_A.tenantId });
    expect(history.events.every((event) => !('position' in event))).toBe(true);
    expect(Date.parse(last.time as string)).toBeGreaterThan(Date.now() - 60_000);
  });

  it("another tenant's history is 404", async () => {
    const { orderId } = await createOrder(t.app, newOrderBody(), TENANT_A);
    const response = await t.app.inject({ method: 'GET', url: `/orders/${orderId}/events`, headers: auth(TENANT_B) });
    expect(response.statusCode).toBe(404);
    expect(response.json().code).toBe('ORDER_NOT_FOUND');
  });

  it('an unknown order has no history: 404', async () => {
    const response = await t.app.inject({ method: 'GET', url: `/orders/${randomUUID()}/events`, headers: auth() });
    expect(response.statusCode).toBe(404);
  });
});

describe('an order stream holding an event type this version does not know', () => {
  it('is still readable and commandable: the unknown event is skipped', async () => {
    const { orderId } = await createOrder(t.app);
    await t.store.client.appendToStream(`order-${TENANT_A.tenantId}-${orderId}`, jsonEvent({ type: 'order.note_added', data: { orderId, note: 'gift wrap' } }));
    const order = await t.app.inject({ method: 'GET', url: `/orders/${orderId}`, headers: auth() });
    expect(order.statusCode).toBe(200);
    expect(order.json().status).toBe('PENDING');
    const cancelled = await command(t.app, orderId, 'cancel');
    expect(cancelled.statusCode).toBe(200);
    expect(cancelled.json().revision).toBe(3);
  });
});

describe('reading an order created before the current event schema', () => {
  it('upcasts a v1 order.created written raw into the store, and commands work on it', async () => {
    const orderId = randomUUID();
    // What the first version of the service wrote: flat customer, `price`, tenant only in metadata.
    await t.store.client.appendToStream(
      `order-${orderId}`,
      jsonEvent({
        type: 'order.created',
        data: {
          orderId,
          customerId: 'legacy-9',
          customerPhone: '+4915112345678',
          currency: 'EUR',
          items: [{ sku: 'OLD-1', quantity: 3, price: 700 }],
          createdAt: '2025-03-01T08:00:00.000Z',
        },
        metadata: { $correlationId: 'legacy', $causationId: 'legacy', tenantId: TENANT_A.tenantId, actor: 'migration' },
      }),
    );

    const order = await t.app.inject({ method: 'GET', url: `/orders/${orderId}`, headers: auth() });
    expect(order.statusCode).toBe(200);
    expect(order.json()).toMatchObject({
      orderId,
      tenantId: TENANT_A.tenantId,
      status: 'PENDING',
      items: [{ sku: 'OLD-1', quantity: 3, unitPrice: 700 }],
      total: 2100,
      customer: { id: 'legacy-9', phone: '+4915112345678' },
      createdAt: '2025-03-01T08:00:00.000Z',
    });

    const history = await t.app.inject({ method: 'GET', url: `/orders/${orderId}/events`, headers: auth() });
    expect(history.json().events[0].data).toMatchObject({ schemaVersion: 2, tenantId: TENANT_A.tenantId, total: 2100 });

    const paid = await command(t.app, orderId, 'payments', { paymentId: 'p-legacy', amount: 2100, method: 'cash' });
    expect(paid.statusCode).toBe(201);
    expect(paid.json().status).toBe('PAID');

    const foreign = await t.app.inject({ method: 'GET', url: `/orders/${orderId}`, headers: auth(TENANT_B) });
    expect(foreign.statusCode).toBe(404);
  });
});
