// Tenants never see each other: for every route, tenant B can neither read, change nor list
// what tenant A owns, even when both use the same customer id and SKU.
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkers, type RunningWorkers } from '../../../src/workers.js';
import { auth, TENANT_A, TENANT_B } from '../../helpers/app.js';
import { storedEvents, storedTypes } from '../api/support.js';
import { eventually } from '../workers/order-writer.js';
import { expectClientProblem, startHardenedApp, type HardenedApp } from './support.js';

const CUSTOMER = 'cust-shared';
const SKU = 'SHARED-SKU';
const today = new Date().toISOString().slice(0, 10);

let t: HardenedApp;
let workers: RunningWorkers;
let ordersOfA: { pending: string; paid: string };
let orderOfB: string;

const get = (url: string, tenant = TENANT_B) => t.app.inject({ method: 'GET', url, headers: auth(tenant) });

async function createOrder(tenant: typeof TENANT_A, quantity: number, unitPrice: number): Promise<string> {
  const orderId = randomUUID();
  const response = await t.app.inject({
    method: 'POST',
    url: '/orders',
    headers: auth(tenant),
    payload: { orderId, customer: { id: CUSTOMER, name: 'Ada', phone: '+14155550100' }, currency: 'EUR', items: [{ sku: SKU, quantity, unitPrice }] },
  });
  expect(response.statusCode).toBe(201);
  return orderId;
}

async function pay(tenant: typeof TENANT_A, orderId: string, amount: number): Promise<void> {
  const response = await t.app.inject({ method: 'POST', url: `/orders/${orderId}/payments`, headers: auth(tenant), payload: { paymentId: `pay-${orderId}`, amount, method: 'card' } });
  expect(response.statusCode).toBe(201);
}

beforeAll(async () => {
  t = await startHardenedApp();
  workers = await startWorkers({ client: t.store.client, logger: pino({ level: 'silent' }), registry: new Registry(), store: t.readModels, env: {} });
  ordersOfA = { pending: await createOrder(TENANT_A, 2, 700), paid: await createOrder(TENANT_A, 1, 5000) };
  await pay(TENANT_A, ordersOfA.paid, 5000);
  orderOfB = await createOrder(TENANT_B, 1, 300);
  expect((await t.app.inject({ method: 'PUT', url: `/inventory/${SKU}`, headers: auth(TENANT_A), payload: { onHand: 10 } })).statusCode).toBe(200);
  // Every read model has caught up with A's orders before B looks.
  await eventually(async () => (await get('/orders', TENANT_A)).json().items.length === 2 && (await get('/orders', TENANT_B)).json().items.length === 1);
  await eventually(async () => (await get(`/inventory/${SKU}`, TENANT_A)).json().reserved === 3);
  await eventually(async () => (await get('/outbox', TENANT_A)).json().items.length > 0);
  await eventually(async () => (await get(`/analytics/sales?from=${today}&to=${today}`, TENANT_A)).json().days[0]?.paidAmount === '5000');
}, 30_000);

afterAll(async () => {
  await workers?.stop();
  await t?.close();
});

describe("one tenant cannot read another's orders", () => {
  it("answers GET /orders/:orderId of another tenant's order with 404, as if it did not exist", async () => {
    const response = await get(`/orders/${ordersOfA.paid}`);
    expect(expectClientProblem(response, 'GET order').code).toBe('ORDER_NOT_FOUND');
    expect(response.body).not.toContain(TENANT_A.tenantId);
    expect((await get(`/orders/${ordersOfA.paid}`, TENANT_A)).statusCode).toBe(200);
  });

  it("answers GET /orders/:orderId/events of another tenant's order with 404", async () => {
    const response = await get(`/orders/${ordersOfA.paid}/events`);
    expect(expectClientProblem(response, 'GET events').code).toBe('ORDER_NOT_FOUND');
    expect(response.body).not.toContain('order.created');
  });
});

describe("one tenant cannot change another's orders", () => {
  const commands: Array<{ action: string; payload: object; order: 'pending' | 'paid' }> = [
    { action: 'payments', payload: { paymentId: 'pay-intruder', amount: 1400, method: 'card' }, order: 'pending' },
    { action: 'cancel', payload: { reason: 'intruder' }, order: 'pending' },
    { action: 'ship', payload: { carrier: 'intruder' }, order: 'paid' },
    { action: 'deliver', payload: {}, order: 'paid' },
    { action: 'return', payload: {}, order: 'paid' },
    { action: 'refund', payload: { amount: 100 }, order: 'paid' },
  ];

  it.each(commands)("answers POST /orders/:orderId/$action on another tenant's order with 404 and appends nothing", async ({ action, payload, order }) => {
    const orderId = ordersOfA[order];
    const before = await storedEvents(t.store.client, orderId);
    const response = await t.app.inject({ method: 'POST', url: `/orders/${orderId}/${action}`, headers: auth(TENANT_B), payload });
    expect(expectClientProblem(response, action).code).toBe('ORDER_NOT_FOUND');
    expect(await storedEvents(t.store.client, orderId)).toEqual(before);
  });

  it("sets only its own stock with PUT /inventory/:sku, never another tenant's", async () => {
    const put = await t.app.inject({ method: 'PUT', url: `/inventory/${SKU}`, headers: auth(TENANT_B), payload: { onHand: 999 } });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toMatchObject({ onHand: 999, reserved: 1 });
    expect((await get(`/inventory/${SKU}`, TENANT_A)).json()).toMatchObject({ onHand: 10, reserved: 3 });
  });
});

describe("one tenant cannot list another's orders or read models", () => {
  it('lists only its own orders in GET /orders, whatever the filters', async () => {
    for (const url of ['/orders', `/orders?customerId=${CUSTOMER}`, '/orders?status=PAID', '/orders?status=PENDING', '/orders?limit=200']) {
      const ids = (await get(url)).json().items.map((item: { orderId: string }) => item.orderId);
      expect(ids, url).not.toContain(ordersOfA.pending);
      expect(ids, url).not.toContain(ordersOfA.paid);
    }
    expect((await get('/orders')).json().items.map((item: { orderId: string }) => item.orderId)).toEqual([orderOfB]);
  });

  it('counts only its own orders in GET /customers/:customerId/orders for a customer id both tenants use', async () => {
    const mine = (await get(`/customers/${CUSTOMER}/orders`)).json();
    expect(mine).toMatchObject({ orderCount: 1, totals: { EUR: { gross: '300', refunded: '0', net: '300' } } });
    expect(mine.orders.map((order: { orderId: string }) => order.orderId)).toEqual([orderOfB]);
    expect((await get(`/customers/${CUSTOMER}/orders`, TENANT_A)).json()).toMatchObject({ orderCount: 2, totals: { EUR: { gross: '6400' } } });
  });

  it("shows only its own reservations in GET /inventory/:sku for a SKU both tenants stock", async () => {
    const level = (await get(`/inventory/${SKU}`)).json();
    expect(level.reserved).toBe(1);
    expect(level.shortOrders.map((order: { orderId: string }) => order.orderId)).not.toContain(ordersOfA.pending);
  });

  it('reports only its own sales in GET /analytics/sales', async () => {
    const report = (await get(`/analytics/sales?from=${today}&to=${today}`)).json();
    expect(report.days).toEqual([expect.objectContaining({ day: today, ordersPlaced: 1, orderedAmount: '300', paidAmount: '0' })]);
    expect(report.byStatus).toEqual([{ status: 'PENDING', currency: 'EUR', orders: 1, total: '300' }]);
  });

  it("never lists another tenant's WhatsApp messages in GET /outbox, even filtered by that tenant's order", async () => {
    expect((await get('/outbox')).json().items.map((item: { orderId: string }) => item.orderId)).not.toContain(ordersOfA.paid);
    expect((await get(`/outbox?orderId=${ordersOfA.paid}`)).json().items).toEqual([]);
    expect((await get(`/outbox?orderId=${ordersOfA.paid}`, TENANT_A)).json().items.length).toBeGreaterThan(0);
  });
});

// Last: these give tenant B more orders, under ids tenant A uses.
describe('each tenant has its own order ids', () => {
  it("lets tenant B create an order with an id tenant A already uses: two orders, two streams, nothing of A's shown or changed", async () => {
    const before = await storedEvents(t.store.client, ordersOfA.pending);
    const response = await t.app.inject({
      method: 'POST',
      url: '/orders',
      headers: auth(TENANT_B),
      payload: { orderId: ordersOfA.pending, customer: { id: CUSTOMER }, currency: 'EUR', items: [{ sku: SKU, quantity: 5, unitPrice: 100 }] },
    });
    expect(response.statusCode).toBe(201);
    expect(response.json()).toMatchObject({ orderId: ordersOfA.pending, tenantId: TENANT_B.tenantId, status: 'PENDING', total: 500 });
    expect(response.body).not.toContain(TENANT_A.tenantId);
    expect(await storedEvents(t.store.client, ordersOfA.pending)).toEqual(before);
    expect(await storedTypes(t.store.client, ordersOfA.pending, TENANT_B.tenantId)).toEqual(['order.created']);
    // Each tenant sees its own order under the id, and commands reach only its own.
    expect((await get(`/orders/${ordersOfA.pending}`, TENANT_A)).json()).toMatchObject({ tenantId: TENANT_A.tenantId, total: 1400 });
    expect((await get(`/orders/${ordersOfA.pending}`, TENANT_B)).json()).toMatchObject({ tenantId: TENANT_B.tenantId, total: 500 });
    const cancel = await t.app.inject({ method: 'POST', url: `/orders/${ordersOfA.pending}/cancel`, headers: auth(TENANT_B), payload: {} });
    expect(cancel.json()).toMatchObject({ tenantId: TENANT_B.tenantId, status: 'CANCELLED' });
    expect((await get(`/orders/${ordersOfA.pending}`, TENANT_A)).json().status).toBe('PENDING');
    // Two rows in every read model.
    await eventually(async () => (await get(`/orders?status=CANCELLED`, TENANT_B)).json().items.some((item: { orderId: string }) => item.orderId === ordersOfA.pending));
    expect((await get('/orders?status=PENDING', TENANT_A)).json().items.map((item: { orderId: string }) => item.orderId)).toContain(ordersOfA.pending);
    await eventually(async () => (await get(`/customers/${CUSTOMER}/orders`, TENANT_B)).json().orderCount === 2);
    expect((await get(`/customers/${CUSTOMER}/orders`, TENANT_A)).json().orderCount).toBe(2);
  });

  it('takes an id first in neither direction: A creating an id B used first still gets its own order', async () => {
    const orderId = randomUUID();
    const body = { orderId, customer: { id: 'someone' }, currency: 'EUR', items: [{ sku: 'OTHER', quantity: 1, unitPrice: 100 }] };
    expect((await t.app.inject({ method: 'POST', url: '/orders', headers: auth(TENANT_B), payload: body })).statusCode).toBe(201);
    const mine = await t.app.inject({ method: 'POST', url: '/orders', headers: auth(TENANT_A), payload: body });
    expect(mine.statusCode).toBe(201);
    expect(mine.json()).toMatchObject({ orderId, tenantId: TENANT_A.tenantId });
  });
});
