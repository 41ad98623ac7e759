// Big amounts through the HTTP API: every amount is bounded (10^12 minor units per line, order,
// payment and refund), and the sums the read routes answer are exact decimal strings, also over
// old events written before the bound with amounts up to 2^53 - 1, where SQLite's SUM() used to
// fail with "integer overflow" (500 for good) and numbers lost units.
import { randomUUID } from 'node:crypto';
import { jsonEvent, NO_STREAM } from '@eventstore/db-client';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_AMOUNT } from '../../../src/orders/money.js';
import { startWorkers, type RunningWorkers } from '../../../src/workers.js';
import { auth, TENANT_A, TENANT_B } from '../../helpers/app.js';
import { eventually } from '../workers/order-writer.js';
import { expectClientProblem, startHardenedApp, type HardenedApp } from './support.js';

let t: HardenedApp;
let workers: RunningWorkers;
const today = new Date().toISOString().slice(0, 10);
const BIG = Number.MAX_SAFE_INTEGER; // 2^53 - 1

beforeAll(async () => {
  t = await startHardenedApp();
  workers = await startWorkers({ client: t.store.client, logger: pino({ level: 'silent' }), registry: new Registry(), store: t.readModels, env: {} });
}, 30_000);
afterAll(async () => {
  await workers?.stop();
  await t?.close();
});

const get = (url: string, tenant = TENANT_A) => t.app.inject({ method: 'GET', url, headers: auth(tenant) });
const post = (url: string, payload: unknown, tenant = TENANT_A) => t.app.inject({ method: 'POST', url, headers: auth(tenant), payload: payload as object });
const order = (items: unknown[], customer = 'cust-big') => ({ orderId: randomUUID(), customer: { id: customer }, currency: 'EUR', items });

/** What a store written before the bound holds: order.created with a huge total, appended raw. */
async function oldOrder(tenantId: string, customerId: string, unitPrice: number): Promise<void> {
  const orderId = randomUUID();
  await t.store.client.appendToStream(
    `order-${tenantId}-${orderId}`,
    jsonEvent({
      type: 'order.created',
      data: { schemaVersion: 2, orderId, tenantId, customerId, occurredAt: new Date().toISOString(), customer: { id: customerId }, currency: 'USD', items: [{ sku: 'GOLD', quantity: 1, unitPrice }], total: unitPrice },
      metadata: { $correlationId: 'legacy', $causationId: 'legacy', tenantId, actor: 'migration' },
    }),
    { expectedRevision: NO_STREAM },
  );
}

describe('amounts over the bound are refused with 400 naming the field, and nothing is written', () => {
  it('a unit price over 10^12', async () => {
    const response = await post('/orders', order([{ sku: 'A', quantity: 1, unitPrice: MAX_AMOUNT + 1 }]));
    const body = expectClientProblem(response, 'unit price');
    expect(response.statusCode).toBe(400);
    expect(response.json().errors).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'body.items.0.unitPrice', message: expect.stringContaining('at most 1,000,000,000,000') })]));
    expect(body.code).toBe('VALIDATION_FAILED');
  });

  it('a line whose unitPrice x quantity is over 10^12', async () => {
    const response = await post('/orders', order([{ sku: 'A', quantity: 1, unitPrice: 1 }, { sku: 'B', quantity: 1_000, unitPrice: MAX_AMOUNT / 100 }]));
    expect(response.statusCode).toBe(400);
    expect(response.json().errors.map((error: { field: string }) => error.field)).toContain('body.items.1');
  });

  it('an order total over 10^12 though each line is within it', async () => {
    const body = order([{ sku: 'A', quantity: 1, unitPrice: MAX_AMOUNT }, { sku: 'B', quantity: 1, unitPrice: 1 }]);
    const response = await post('/orders', body);
    expect(response.statusCode).toBe(400);
    expect(response.json().errors).toEqual([expect.objectContaining({ field: 'body.items', message: expect.stringContaining('1,000,000,000,000') })]);
    expect((await get(`/orders/${body.orderId}`)).statusCode).toBe(404);
  });

  it('2^53 - 1 (what broke the sums) is refused as a unit price', async () => {
    expect((await post('/orders', order([{ sku: 'A', quantity: 1, unitPrice: BIG }]))).statusCode).toBe(400);
  });

  it('a payment or a refund over 10^12', async () => {
    const body = order([{ sku: 'A', quantity: 1, unitPrice: MAX_AMOUNT }]);
    expect((await post('/orders', body)).statusCode).toBe(201);
    const payment = await post(`/orders/${body.orderId}/payments`, { paymentId: `p-${body.orderId}`, amount: MAX_AMOUNT + 1, method: 'card' });
    expect(payment.statusCode).toBe(400);
    expect(payment.json().errors).toEqual([expect.objectContaining({ field: 'body.amount' })]);
    expect((await post(`/orders/${body.orderId}/payments`, { paymentId: `p-${body.orderId}`, amount: MAX_AMOUNT, method: 'card' })).statusCode).toBe(201);
    const refund = await post(`/orders/${body.orderId}/refund`, { amount: MAX_AMOUNT + 1 });
    expect(refund.statusCode).toBe(400);
    expect(refund.json().errors).toEqual([expect.objectContaining({ field: 'body.amount' })]);
  });

  it('an order of exactly 10^12 is accepted and answered exactly', async () => {
    const body = order([{ sku: 'A', quantity: 4, unitPrice: MAX_AMOUNT / 4 }]);
    const response = await post('/orders', body);
    expect(response.statusCode).toBe(201);
    expect(response.json()).toMatchObject({ total: MAX_AMOUNT, status: 'PENDING' });
  });
});

describe('an order whose total is 0', () => {
  it('is PAID on creation, can be shipped, and never waits for a payment', async () => {
    const body = order([{ sku: 'SAMPLE', quantity: 3, unitPrice: 0 }], 'cust-free');
    const created = await post('/orders', body);
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ status: 'PAID', total: 0, paidAmount: 0 });
    expect((await post(`/orders/${body.orderId}/payments`, { paymentId: `p-${body.orderId}`, amount: 1, method: 'card' })).json()).toMatchObject({ code: 'ORDER_NOT_PAYABLE' });
    expect((await post(`/orders/${body.orderId}/ship`, {})).json()).toMatchObject({ status: 'SHIPPED' });
    await eventually(async () => (await get('/orders?status=SHIPPED')).json().items.some((item: { orderId: string }) => item.orderId === body.orderId));
  });
});

describe('sums over old events with amounts up to 2^53 - 1 are exact decimal strings, never 500', () => {
  it('three orders of 2^53 - 1 sum to 27021597764222973 (a number would be off by one)', async () => {
    for (let i = 0; i < 3; i++) await oldOrder(TENANT_B.tenantId, 'cust-three', BIG);
    const expected = (3n * BigInt(BIG)).toString();
    expect(expected).toBe('27021597764222973');
    const answer = await eventually(async () => {
      const body = (await get('/customers/cust-three/orders', TENANT_B)).json();
      return body.orderCount === 3 ? body : undefined;
    });
    expect(answer.totals).toEqual({ USD: { gross: expected, refunded: '0', net: expected } });
    expect(answer.orders.map((entry: { total: number }) => entry.total)).toEqual([BIG, BIG, BIG]);
  });

  it('1,025 orders of 2^53 - 1 (past SQLite\'s 2^63): the customer and the sales report answer 200 with the exact sums', async () => {
    const tenant = { key: TENANT_A.key, tenantId: TENANT_A.tenantId };
    const n = 1_025;
    for (let start = 0; start < n; start += 25) {
      await Promise.all(Array.from({ length: Math.min(25, n - start) }, () => oldOrder(tenant.tenantId, 'cust-1025', BIG)));
    }
    const expected = (BigInt(n) * BigInt(BIG)).toString();
    expect(BigInt(expected)).toBeGreaterThan(2n ** 63n);
    const customer = await eventually(async () => {
      const response = await get('/customers/cust-1025/orders?limit=5');
      expect(response.statusCode, response.body).toBe(200);
      const body = response.json();
      return body.orderCount === n ? body : undefined;
    }, 60_000);
    expect(customer.totals).toEqual({ USD: { gross: expected, refunded: '0', net: expected } });

    const sales = await eventually(async () => {
      const response = await get(`/analytics/sales?from=${today}&to=${today}`);
      expect(response.statusCode, response.body).toBe(200);
      const body = response.json();
      const usd = body.days.find((day: { currency: string }) => day.currency === 'USD');
      return usd?.ordersPlaced === n && body.byStatus.some((row: { currency: string; orders: number }) => row.currency === 'USD' && row.orders === n) ? body : undefined;
    }, 60_000);
    expect(sales.days.find((day: { currency: string }) => day.currency === 'USD')).toMatchObject({ orderedAmount: expected, paidAmount: '0', refundedAmount: '0' });
    expect(sales.byStatus).toContainEqual({ status: 'PENDING', currency: 'USD', orders: n, total: expected });
    // Sums are strings in every answer, small ones too: one type per field.
    expect(typeof sales.days.find((day: { currency: string }) => day.currency === 'EUR')?.orderedAmount).toBe('string');
  }, 120_000);
});
