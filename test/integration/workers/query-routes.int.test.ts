import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { build } from '../../../src/api/app.js';
import { type ReadModelStore } from '../../../src/readmodels/read-model-store.js';
import { startWorkers, type RunningWorkers } from '../../../src/workers.js';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { TENANT_A, TENANT_B, auth } from '../../helpers/app.js';
import { eventually } from './order-writer.js';
import { openTestReadModels } from '../../helpers/read-models.js';

describe('the query routes, answered from the read models', () => {
  let store: TestEventStore;
  let readModels: ReadModelStore;
  let workers: RunningWorkers;
  let app: FastifyInstance;

  beforeAll(async () => {
    store = await startTestEventStore();
    readModels = await openTestReadModels();
    const apiKeys = new Map([
      [TENANT_A.key, TENANT_A.tenantId],
      [TENANT_B.key, TENANT_B.tenantId],
    ]);
    app = await build({ client: store.client, apiKeys, readModels });
    await app.ready();
    workers = await startWorkers({ client: store.client, logger: pino({ level: 'silent' }), registry: new Registry(), store: readModels, env: {} });
  });

  afterAll(async () => {
    await app?.close();
    await workers?.stop();
    await readModels?.close();
    await store?.close();
  });

  async function createOrder(body: Record<string, unknown>, tenant = TENANT_A): Promise<string> {
    const orderId = randomUUID();
    const response = await app.inject({
      method: 'POST',
      url: '/orders',
      headers: auth(tenant),
      payload: { orderId, customer: { id: 'cust-q', name: 'Ada', phone: '+14155550100' }, currency: 'EUR', items: [{ sku: 'MUG', quantity: 1, unitPrice: 1000 }], ...body },
    });
    expect(response.statusCode).toBe(201);
    return orderId;
  }

  const get = (url: string, tenant = TENANT_A) => app.inject({ method: 'GET', url, headers: auth(tenant) });

  it('lists the tenant orders newest first, page by page, filtered by status and customer', async () => {
    const ids: string[] = [];
    for (let index = 0; index < 5; index++) ids.push(await createOrder({ customer: { id: index % 2 ? 'cust-odd' : 'cust-even', phone: '+14155550100' } }));
    const paid = await app.inject({ method: 'POST', url: `/orders/${ids[0]}/payments`, headers: auth(), payload: { paymentId: 'pay-1', amount: 1000, method: 'card' } });
    expect(paid.statusCode).toBe(201);

    await eventually(async () => (await get('/orders?status=PAID')).json().items.length === 1);
    const all: string[] = [];
    let cursor: string | undefined;
    do {
      const page = (await get(`/orders?limit=2${cursor ? `&cursor=${cursor}` : ''}`)).json();
      expect(page.items.length).toBeLessThanOrEqual(2);
      all.push(...page.items.map((item: { orderId: string }) => item.orderId));
      cursor = page.nextCursor;
    } while (cursor);
    expect(new Set(all)).toEqual(new Set(ids));
    expect(all).toHaveLength(5);

    const paidPage = (await get('/orders?status=PAID')).json();
    expect(paidPage.items).toEqual([expect.objectContaining({ orderId: ids[0], status: 'PAID', paidAmount: 1000, total: 1000, currency: 'EUR' })]);
    const odd = (await get('/orders?customerId=cust-odd')).json();
    expect(odd.items.map((item: { orderId: string }) => item.orderId).sort()).toEqual([ids[1], ids[3]].sort());
    expect((await get('/orders', TENANT_B)).json().items).toEqual([]);
  });

  it("answers a customer's orders with totals", async () => {
    const first = await createOrder({ customer: { id: 'cust-c' }, items: [{ sku: 'MUG', quantity: 2, unitPrice: 1000 }] });
    const second = await createOrder({ customer: { id: 'cust-c' } });
    const body = await eventually(async () => {
      const answer = (await get('/customers/cust-c/orders')).json();
      return answer.orderCount === 2 ? answer : undefined;
    });
    expect(body.totals).toEqual({ EUR: { gross: '3000', refunded: '0', net: '3000' } });
    const firstPage = (await get('/customers/cust-c/orders?limit=1')).json();
    const secondPage = (await get(`/customers/cust-c/orders?limit=1&cursor=${firstPage.nextCursor}`)).json();
    expect([...firstPage.orders, ...secondPage.orders].map((order: { orderId: string }) => order.orderId).sort()).toEqual([first, second].sort());
    expect(secondPage.nextCursor).toBeUndefined();
    expect((await get('/customers/cust-c/orders?cursor=nope')).statusCode).toBe(400);
    expect(body.orders.map((order: { orderId: string }) => order.orderId).sort()).toEqual([first, second].sort());
    expect((await get('/customers/cust-c/orders', TENANT_B)).json()).toMatchObject({ orderCount: 0, orders: [] });
  });

  it('sets stock and shows what orders reserve and lack', async () => {
    const put = await app.inject({ method: 'PUT', url: '/inventory/LAMP', headers: auth(), payload: { onHand: 2 } });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toMatchObject({ sku: 'LAMP', onHand: 2, reserved: 0, available: 2 });
    const orderId = await createOrder({ items: [{ sku: 'LAMP', quantity: 3, unitPrice: 500 }] });
    const level = await eventually(async () => {
      const answer = (await get('/inventory/LAMP')).json();
      return answer.reserved === 3 ? answer : undefined;
    });
    expect(level).toEqual({ sku: 'LAMP', onHand: 2, reserved: 3, available: 0, shortage: 1, shortOrders: [{ orderId, quantity: 3, shortage: 1 }] });
    expect((await get('/inventory/LAMP', TENANT_B)).json()).toMatchObject({ onHand: 0, reserved: 0 });
  });

  it('reports sales per day and per status', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const report = await eventually(async () => {
      const answer = (await get(`/analytics/sales?from=${today}&to=${today}`)).json();
      return answer.days[0]?.paidAmount === '1000' && answer.byStatus.some((row: { status: string }) => row.status === 'PAID') ? answer : undefined;
    });
    expect(report.days).toEqual([expect.objectContaining({ day: today, currency: 'EUR', paidAmount: '1000' })]);
    expect(report.days[0].ordersPlaced).toBeGreaterThanOrEqual(5);
    expect(report.byStatus).toContainEqual({ status: 'PAID', currency: 'EUR', orders: 1, total: '1000' });
  });

  it('lists the WhatsApp outbox of the tenant', async () => {
    const outbox = await eventually(async () => {
      const answer = (await get('/outbox')).json();
      return answer.items.length > 0 ? answer : undefined;
    });
    expect(outbox.items[0]).toMatchObject({ template: 'order_paid', recipient: '14155550100', status: 'queued' });
    expect((await get('/outbox', TENANT_B)).json().items).toEqual([]);
  });

  it('refuses bad queries with problem+json and callers without a key', async () => {
    const badStatus = await get('/orders?status=LOST');
    expect(badStatus.statusCode).toBe(400);
    expect(badStatus.headers['content-type']).toContain('application/problem+json');
    expect(badStatus.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
    const badCursor = await get('/orders?cursor=not-a-cursor');
    expect(badCursor.statusCode).toBe(400);
    expect(badCursor.json().errors).toEqual([{ field: 'cursor', message: 'cursor is not one this service issued' }]);
    expect((await get('/analytics/sales?from=2026-02-30')).statusCode).toBe(400);
    expect((await get('/analytics/sales?from=2026-03-02&to=2026-03-01')).statusCode).toBe(400);
    const anonymous = await app.inject({ method: 'GET', url: '/orders' });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json()).toMatchObject({ code: 'UNAUTHORIZED' });
  });

  // After the sales and outbox checks: these pay and ship more of tenant A's orders.
  it('takes shipped items out of stock and puts returned ones back', async () => {
    await app.inject({ method: 'PUT', url: '/inventory/LAMP', headers: auth(), payload: { onHand: 2 } });
    const orderId = (await get('/inventory/LAMP')).json().shortOrders[0].orderId as string;

    // A delivery of 5: the order is covered; shipping it takes its 3 out of stock.
    expect((await app.inject({ method: 'PUT', url: '/inventory/LAMP', headers: auth(), payload: { onHand: 5 } })).json()).toMatchObject({ onHand: 5, reserved: 3, shortage: 0, shortOrders: [] });
    expect((await app.inject({ method: 'POST', url: `/orders/${orderId}/payments`, headers: auth(), payload: { paymentId: 'pay-lamp', amount: 1500, method: 'card' } })).statusCode).toBe(201);
    expect((await app.inject({ method: 'POST', url: `/orders/${orderId}/ship`, headers: auth(), payload: {} })).statusCode).toBe(200);
    const shipped = await eventually(async () => {
      const answer = (await get('/inventory/LAMP')).json();
      return answer.reserved === 0 ? answer : undefined;
    });
    expect(shipped).toEqual({ sku: 'LAMP', onHand: 2, reserved: 0, available: 2, shortage: 0, shortOrders: [] });
    // A return puts the items back on hand (the default return policy: restock).
    expect((await app.inject({ method: 'POST', url: `/orders/${orderId}/return`, headers: auth(), payload: {} })).statusCode).toBe(200);
    await eventually(async () => (await get('/inventory/LAMP')).json().onHand === 5);
  });

  it('pages the short orders of a SKU with a cursor, and releases the stock of a paid order refunded before shipping', async () => {
    const ids: string[] = [];
    for (let index = 0; index < 3; index++) ids.push(await createOrder({ items: [{ sku: 'DESK', quantity: 1, unitPrice: 1000 }] }));
    const first = await eventually(async () => {
      const answer = (await get('/inventory/DESK?limit=2')).json();
      return answer.reserved === 3 ? answer : undefined;
    });
    expect(first.shortOrders).toHaveLength(2);
    const second = (await get(`/inventory/DESK?limit=2&cursor=${first.nextCursor}`)).json();
    expect([...first.shortOrders, ...second.shortOrders].map((order: { orderId: string }) => order.orderId)).toEqual(ids);
    expect(second.nextCursor).toBeUndefined();
    expect((await get('/inventory/DESK?cursor=nope')).statusCode).toBe(400);

    expect((await app.inject({ method: 'POST', url: `/orders/${ids[0]}/payments`, headers: auth(), payload: { paymentId: 'pay-desk', amount: 1000, method: 'card' } })).statusCode).toBe(201);
    expect((await app.inject({ method: 'POST', url: `/orders/${ids[0]}/refund`, headers: auth(), payload: {} })).json().status).toBe('REFUNDED');
    await eventually(async () => (await get('/inventory/DESK')).json().reserved === 2);
  });
});
