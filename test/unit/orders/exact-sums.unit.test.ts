// Property: whatever the amounts (any whole number of minor units an event may carry, up to
// 2^53 - 1, and however many orders), the sums the read models answer equal the BigInt sum of
// the amounts, as decimal strings: customer totals, sales per day, sales per status.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import orderSummary from '../../../projections/order-summary.js';
import ordersByCustomer, { getCustomerOrders, readCustomerOrders } from '../../../projections/orders-by-customer.js';
import salesByDay, { getSalesByDay } from '../../../projections/sales-by-day.js';
import { ANALYTICS_SCHEMA, getSalesByStatus, recordOrderEvent } from '../../../src/handlers/analytics-store.js';
import { applyToProjection, resetProjection } from '../../../src/readmodels/apply-projection.js';
import { addDecimal, toBigInt } from '../../../src/readmodels/exact-sums.js';
import { openReadModelStore } from '../../../src/readmodels/read-model-store.js';
import { history } from '../projections/envelopes.js';

const DAY = '2026-11-20';
/** Amounts as old events may carry them: often at the very top of the safe range. */
const amount = fc.oneof(fc.constant(Number.MAX_SAFE_INTEGER), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.integer({ min: 0, max: 1_000_000_000_000 }));

async function readModelsOf(orders: Array<{ total: number; paid: number }>) {
  const db = openReadModelStore({ file: ':memory:' });
  const owned = [orderSummary, ordersByCustomer, salesByDay];
  for (const projection of owned) await resetProjection(db, projection);
  await db.migrate(ANALYTICS_SCHEMA);
  for (const [index, { total, paid }] of orders.entries()) {
    const orderId = `o-${index}`;
    const { factory, wrap } = history(orderId, { customerId: 'c-big', at: `${DAY}T10:00:00.000Z` });
    const events = [
      factory.created({ customer: { id: 'c-big' }, currency: 'USD', items: [{ sku: 'GOLD', quantity: 1, unitPrice: total }], total }),
      ...(paid > 0 ? [factory.paymentProcessed({ paymentId: `p-${index}`, amount: paid, currency: 'USD', method: 'card', paidAmount: paid })] : []),
    ].map(wrap);
    for (const event of events) for (const projection of owned) await applyToProjection(db, projection, event, event);
    await db.transaction((tx) =>
      recordOrderEvent(tx, { tenantId: 'tenant-a', eventId: `e-${index}`, orderId, type: 'order.created', occurredAt: `${DAY}T10:00:00.000Z`, revision: 0, total, amount: total, currency: 'USD', newStatus: 'PENDING' }),
    );
  }
  return db;
}

describe('sums of amounts are exact at any size', () => {
  it('customer totals, sales per day and sales per status equal the BigInt sums', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ total: amount, paidShare: fc.double({ min: 0, max: 1, noNaN: true }) }), { minLength: 1, maxLength: 40 }),
        async (drawn) => {
          const orders = drawn.map(({ total, paidShare }) => ({ total, paid: Math.floor(total * paidShare) }));
          const db = await readModelsOf(orders);
          try {
            const gross = orders.reduce((sum, order) => sum + BigInt(order.total), 0n).toString();
            const paid = orders.reduce((sum, order) => sum + BigInt(order.paid), 0n).toString();
            expect((await getCustomerOrders(db, 'tenant-a', 'c-big', 5)).totals).toEqual({ USD: { gross, refunded: '0', net: gross } });
            expect(await getSalesByDay(db, 'tenant-a', DAY, DAY)).toEqual([
              { day: DAY, currency: 'USD', ordersPlaced: orders.length, orderedAmount: gross, paidAmount: paid, refundedAmount: '0', ordersCancelled: 0 },
            ]);
            expect(await getSalesByStatus(db, 'tenant-a')).toEqual([{ status: 'PENDING', currency: 'USD', orders: orders.length, total: gross }]);
          } finally {
            await db.close();
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('past 2^63, where SQLite SUM() fails with "integer overflow", the answer is still exact', async () => {
    const orders = Array.from({ length: 1_025 }, () => ({ total: Number.MAX_SAFE_INTEGER, paid: Number.MAX_SAFE_INTEGER }));
    const db = await readModelsOf(orders);
    try {
      const expected = (1_025n * BigInt(Number.MAX_SAFE_INTEGER)).toString();
      expect(BigInt(expected)).toBeGreaterThan(2n ** 63n);
      await expect(db.get('SELECT SUM(total) FROM customer_orders')).rejects.toThrow(/integer overflow/);
      expect(await getCustomerOrders(db, 'tenant-a', 'c-big', 1)).toMatchObject({ orderCount: 1_025, totals: { USD: { gross: expected, net: expected } } });
      // The API's one statement cannot sum them either: it answers from the exact path, in one snapshot.
      expect(await readCustomerOrders(db, 'tenant-a', 'c-big', 1)).toEqual(await getCustomerOrders(db, 'tenant-a', 'c-big', 1));
      expect((await getSalesByDay(db, 'tenant-a', DAY, DAY))[0]).toMatchObject({ orderedAmount: expected, paidAmount: expected });
      expect(await getSalesByStatus(db, 'tenant-a')).toEqual([{ status: 'PENDING', currency: 'USD', orders: 1_025, total: expected }]);
    } finally {
      await db.close();
    }
  });

  it('decimal helpers: exact addition of strings, and a REAL left by an older version read as near as it is', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 80n }), fc.bigInt({ min: 0n, max: 2n ** 80n }), (a, b) => {
        expect(addDecimal(a.toString(), b.toString())).toBe((a + b).toString());
      }),
    );
    expect(toBigInt('1.0e+20')).toBe(100_000_000_000_000_000_000n);
    expect(toBigInt(null)).toBe(0n);
  });
});
