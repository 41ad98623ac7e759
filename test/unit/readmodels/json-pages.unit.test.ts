// The JSON text the database builds for GET /orders and GET /customers/:id/orders is, byte for
// byte, the answer the row-mapping readers give through the route's JSON writer: the same fields
// in the same order, the same types and values (nulls, escapes, amounts at 2^53 - 1, exact sums
// past 2^63), the same cursors page after page. On both backends (this folder runs on SQLite and
// PostgreSQL).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import orderSummary, { listOrderSummaries, type OrderSummaryQuery } from '../../../projections/order-summary.js';
import ordersByCustomer, { readCustomerOrders } from '../../../projections/orders-by-customer.js';
import { compileResponseJson } from '../../../src/api/response-json.js';
import { customerOrdersSchema, orderSummaryPage } from '../../../src/api/query-schemas.js';
import { InvalidCursorError } from '../../../src/readmodels/cursor.js';
import { customerOrdersJson, orderSummaryPageJson } from '../../../src/readmodels/json-pages.js';
import type { ReadModelStore } from '../../../src/readmodels/read-model-store.js';
import { openTestReadModels } from '../../helpers/read-models.js';

const pageJson = compileResponseJson(orderSummaryPage)!;
const customerJson = compileResponseJson(customerOrdersSchema)!;

const NAMES = [null, 'Ada', 'Zoë "the" \\ <b>', 'line\nbreak\ttab \u0001\u001f', '😀 emoji', '', '\u2028\u2029 é'];
const STATUSES = ['PENDING', 'PAID', 'SHIPPED', 'CANCELLED'];

let db: ReadModelStore;

beforeAll(async () => {
  db = await openTestReadModels();
  await db.migrate(orderSummary.schema);
  await db.migrate(ordersByCustomer.schema);
  for (let index = 0; index < 37; index++) {
    const orderId = `o-${String(index).padStart(2, '0')}`;
    // Every third order shares its creation time with the one before: the order id breaks the tie.
    const createdAt = `2026-11-${String(10 + Math.floor(index / 3) * 1).padStart(2, '0')}T10:00:0${index % 3 === 2 ? 1 : 0}.000Z`;
    const customerId = index % 5 === 0 ? null : index % 2 ? 'c-1' : 'c-2';
    const total = index === 7 ? Number.MAX_SAFE_INTEGER : 1000 + index;
    const refunded = index % 4 === 0 ? 250 : 0;
    await db.run(
      `INSERT INTO order_summary (tenant_id, order_id, customer_id, customer_name, status, currency, total, paid_amount, refunded_amount, item_count, created_at, updated_at, revision)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      'tenant-a',
      orderId,
      customerId,
      NAMES[index % NAMES.length],
      STATUSES[index % STATUSES.length],
      index % 3 ? 'EUR' : 'USD',
      total,
      index % 2 ? total : 0,
      refunded,
      1 + (index % 4),
      createdAt,
      `2026-11-30T0${index % 10}:00:00.000Z`,
      index,
    );
    if (customerId) {
      await db.run(
        'INSERT INTO customer_orders (tenant_id, customer_id, order_id, status, currency, total, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        'tenant-a',
        customerId,
        orderId,
        STATUSES[index % STATUSES.length],
        index % 3 ? 'EUR' : 'USD',
        total,
        createdAt,
        `2026-11-30T0${index % 10}:00:00.000Z`,
      );
    }
  }
  // An order the customer list has but the summary does not (yet): no refunds known, 0.
  await db.run("INSERT INTO customer_orders (tenant_id, customer_id, order_id, status, currency, total, created_at, updated_at) VALUES ('tenant-a', 'c-1', 'o-lone', 'PENDING', 'EUR', 5, '2026-11-05T00:00:00.000Z', '2026-11-05T00:00:00.000Z')");
  // Another tenant's rows are never in the answers.
  await db.run(
    "INSERT INTO order_summary (tenant_id, order_id, customer_id, customer_name, status, currency, total, item_count, created_at, updated_at, revision) VALUES ('tenant-b', 'o-b', 'c-1', 'B', 'PAID', 'EUR', 1, 1, '2026-11-12T10:00:00.000Z', '2026-11-12T10:00:00.000Z', 0)",
  );
  await db.run("INSERT INTO customer_orders (tenant_id, customer_id, order_id, status, currency, total, created_at, updated_at) VALUES ('tenant-b', 'c-1', 'o-b', 'PAID', 'EUR', 1, '2026-11-12T10:00:00.000Z', '2026-11-12T10:00:00.000Z')");
  // Totals past 2^63 (decimal text): exact in the answer, net included.
  const huge = (2n ** 64n + 12345n).toString();
  for (const [customerId, currency, orders, gross, refunded] of [
    ['c-1', 'USD', 7, huge, '250'],
    ['c-1', 'EUR', 12, '60000', '500'],
    ['c-2', 'EUR', 9, '9000', '0'],
    ['c-2', 'USD', 6, '6000', '750'],
  ] as const) {
    await db.run('INSERT INTO customer_totals (tenant_id, customer_id, currency, orders, gross, refunded) VALUES (?, ?, ?, ?, ?, ?)', 'tenant-a', customerId, currency, orders, gross, refunded);
  }
});

afterAll(async () => {
  await db?.close();
});

/** Every page of `query` from both readers, following the cursors; the pages seen. */
async function pagesOfOrders(query: OrderSummaryQuery): Promise<number> {
  let cursor: string | undefined;
  let pages = 0;
  do {
    const asked = { ...query, ...(cursor ? { cursor } : {}) };
    const expected = await listOrderSummaries(db, asked);
    const json = await orderSummaryPageJson(db, asked);
    expect(json).toBe(pageJson(expected));
    cursor = expected.nextCursor;
    pages++;
  } while (cursor);
  return pages;
}

describe('GET /orders as the JSON the database builds', () => {
  it('is the row-mapping page, field for field, page after page', async () => {
    expect(await pagesOfOrders({ tenantId: 'tenant-a', limit: 5 })).toBe(8);
    expect(await pagesOfOrders({ tenantId: 'tenant-a', limit: 37 })).toBe(1);
    expect(await pagesOfOrders({ tenantId: 'tenant-a', limit: 36 })).toBe(2);
    expect(await pagesOfOrders({ tenantId: 'tenant-a', limit: 200 })).toBe(1);
    expect(await pagesOfOrders({ tenantId: 'tenant-a', limit: 1 })).toBe(37);
  });

  it('filters by status and customer, and another tenant or a status with no orders is an empty page', async () => {
    expect(await pagesOfOrders({ tenantId: 'tenant-a', status: 'SHIPPED', limit: 3 })).toBe(3);
    expect(await pagesOfOrders({ tenantId: 'tenant-a', customerId: 'c-1', limit: 4 })).toBe(4);
    expect(await pagesOfOrders({ tenantId: 'tenant-a', status: 'PAID', customerId: 'c-1', limit: 2 })).toBeGreaterThan(1);
    expect(await orderSummaryPageJson(db, { tenantId: 'tenant-a', status: 'REFUNDED', limit: 20 })).toBe('{"items":[]}');
    expect(await orderSummaryPageJson(db, { tenantId: 'tenant-c', limit: 20 })).toBe('{"items":[]}');
    expect(JSON.parse(await orderSummaryPageJson(db, { tenantId: 'tenant-b', limit: 20 })).items).toEqual([expect.objectContaining({ orderId: 'o-b', tenantId: 'tenant-b' })]);
  });

  it('keeps the values as they are: nulls, escapes, 2^53 - 1', async () => {
    const { items } = JSON.parse(await orderSummaryPageJson(db, { tenantId: 'tenant-a', limit: 200 })) as { items: Array<Record<string, unknown>> };
    expect(items.find((item) => item.orderId === 'o-07')).toMatchObject({ total: Number.MAX_SAFE_INTEGER, paidAmount: Number.MAX_SAFE_INTEGER, customerName: NAMES[0] });
    expect(items.find((item) => item.orderId === 'o-00')).toMatchObject({ customerId: null, customerName: null });
    expect(new Set(items.map((item) => item.customerName))).toEqual(new Set(NAMES));
  });

  it('refuses a cursor it did not issue', async () => {
    await expect(orderSummaryPageJson(db, { tenantId: 'tenant-a', limit: 5, cursor: 'bogus' })).rejects.toBeInstanceOf(InvalidCursorError);
  });
});

describe('GET /customers/:id/orders as the JSON the database builds', () => {
  it("is the row-mapping answer: the page, the totals per currency (exact past 2^63), the cursor", async () => {
    for (const [customerId, limit, pages] of [
      ['c-1', 4, 4],
      ['c-2', 3, 5],
      ['c-1', 50, 1],
      ['c-1', 14, 2],
    ] as const) {
      let cursor: string | undefined;
      let seen = 0;
      do {
        const expected = await readCustomerOrders(db, 'tenant-a', customerId, limit, cursor);
        expect(await customerOrdersJson(db, 'tenant-a', customerId, limit, cursor)).toBe(customerJson(expected));
        cursor = expected.nextCursor;
        seen++;
      } while (cursor);
      expect(seen).toBe(pages);
    }
    const answer = JSON.parse(await customerOrdersJson(db, 'tenant-a', 'c-1', 50));
    expect(answer.totals.USD).toEqual({ gross: (2n ** 64n + 12345n).toString(), refunded: '250', net: (2n ** 64n + 12095n).toString() });
    expect(answer.orders.find((order: { orderId: string }) => order.orderId === 'o-lone')).toMatchObject({ refundedAmount: 0 });
  });

  it('answers a customer with no orders with an empty page and no totals', async () => {
    const json = await customerOrdersJson(db, 'tenant-a', 'nobody "quoted"', 20);
    expect(json).toBe(customerJson(await readCustomerOrders(db, 'tenant-a', 'nobody "quoted"', 20)));
    expect(JSON.parse(json)).toEqual({ customerId: 'nobody "quoted"', orderCount: 0, totals: {}, orders: [] });
    await expect(customerOrdersJson(db, 'tenant-a', 'c-1', 5, 'bogus')).rejects.toBeInstanceOf(InvalidCursorError);
  });
});
