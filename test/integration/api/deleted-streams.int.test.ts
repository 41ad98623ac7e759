// An order stream someone tombstoned or truncated through the store (an operator, a script, the
// EventStoreDB UI) never makes a route answer 500: a tombstoned order is 410 Gone on every route,
// and a stream whose first events were cut away ($maxCount, $tb) is no order this API can load.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orderStreamName, orderKey } from '../../../src/orders/stream-names.js';
import { auth, startTestApp, TENANT_A, type TestApp } from '../../helpers/app.js';
import { command, createOrder, newOrderBody } from './support.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

const ROUTES = (orderId: string) => [
  { method: 'GET' as const, url: `/orders/${orderId}` },
  { method: 'GET' as const, url: `/orders/${orderId}/events` },
  { method: 'POST' as const, url: `/orders/${orderId}/payments`, payload: { paymentId: 'p-9', amount: 100, method: 'card' } },
  ...['ship', 'deliver', 'cancel', 'return', 'refund'].map((action) => ({ method: 'POST' as const, url: `/orders/${orderId}/${action}`, payload: {} })),
];

describe('orders whose stream was deleted or truncated in the store', () => {
  it('a tombstoned order answers 410 ORDER_DELETED on every route, and nothing is appended', async () => {
    const { orderId } = await createOrder(t.app);
    await t.store.client.tombstoneStream(orderStreamName(orderKey(TENANT_A.tenantId, orderId)));
    for (const route of ROUTES(orderId)) {
      const response = await t.app.inject({ ...route, headers: auth() });
      expect(response.statusCode, `${route.method} ${route.url}`).toBe(410);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.json()).toMatchObject({ status: 410, code: 'ORDER_DELETED' });
    }
    const recreated = await t.app.inject({ method: 'POST', url: '/orders', headers: auth(), payload: newOrderBody({ orderId }) });
    expect(recreated.statusCode).toBe(410);
  });

  it('a soft-deleted order is gone too: 404, as a stream that never existed', async () => {
    const { orderId } = await createOrder(t.app);
    await t.store.client.deleteStream(orderStreamName(orderKey(TENANT_A.tenantId, orderId)));
    const response = await t.app.inject({ method: 'GET', url: `/orders/${orderId}`, headers: auth() });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ code: 'ORDER_NOT_FOUND' });
  });

  it('a truncated order ($maxCount hid its creation) reads as 410 ORDER_HISTORY_TRUNCATED, and no route answers 5xx', async () => {
    const { orderId } = await createOrder(t.app);
    await command(t.app, orderId, 'payments', { paymentId: 'p-1', amount: 1000, method: 'card' });
    await command(t.app, orderId, 'cancel');
    await t.store.client.setStreamMetadata(orderStreamName(orderKey(TENANT_A.tenantId, orderId)), { maxCount: 1 });
    for (const url of [`/orders/${orderId}`, `/orders/${orderId}/events`]) {
      const response = await t.app.inject({ method: 'GET', url, headers: auth() });
      expect(response.statusCode, url).toBe(410);
      expect(response.json()).toMatchObject({ status: 410, code: 'ORDER_HISTORY_TRUNCATED' });
    }
    // A command may still be decided on this process's cached state (it saw the whole history);
    // one that has to load the order meets the truncation. Either way, never a 5xx.
    for (const route of ROUTES(orderId)) {
      const response = await t.app.inject({ ...route, headers: auth() });
      expect(response.statusCode, `${route.method} ${route.url}: ${response.body}`).toBeLessThan(500);
    }
  });
});

