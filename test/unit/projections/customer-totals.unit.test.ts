// A customer's totals are kept as the events come (customer_totals): they must equal what summing
// the customer's orders gives, whatever the commands did and in whatever order the streams are
// applied, and a rebuild must make them again.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyToProjection, resetProjection } from '../../../src/readmodels/apply-projection.js';
import type { EventEnvelope, StoreEventEnvelope } from '../../../src/readmodels/event-envelope.js';
import type { ReadModelStore } from '../../../src/readmodels/read-model-store.js';
import orderSummary from '../../../projections/order-summary.js';
import ordersByCustomer, { getCustomerOrders, type CustomerOrders } from '../../../projections/orders-by-customer.js';
import { onPostgres, openTestReadModels } from '../../helpers/read-models.js';
import { History, TENANT, interleave } from './decided-history.js';

const CUSTOMERS = ['c-1', 'c-2', undefined] as const;
const CURRENCIES = ['EUR', 'USD'] as const;

const step = fc.oneof(
  fc.record({
    type: fc.constant('CreateOrder' as const),
    customer: fc.constantFrom(...CUSTOMERS),
    currency: fc.constantFrom(...CURRENCIES),
    unitPrice: fc.integer({ min: 0, max: 1_000_000_000_000 }),
  }),
  fc.record({ type: fc.constantFrom('RecordPayment' as const, 'ShipOrder' as const, 'DeliverOrder' as const, 'CancelOrder' as const, 'ReturnOrder' as const), order: fc.nat() }),
  fc.record({ type: fc.constant('RefundOrder' as const), order: fc.nat(), part: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }) }),
);

async function project(events: readonly StoreEventEnvelope[], db?: ReadModelStore): Promise<ReadModelStore> {
  const store = db ?? (await openTestReadModels());
  for (const projection of [ordersByCustomer, orderSummary]) {
    await resetProjection(store, projection);
    for (const event of events) await applyToProjection(store, projection, event, event as EventEnvelope);
  }
  return store;
}

/** The customer's orders added up from their final states. */
function expectedTotals(h: History, customerId: string): Pick<CustomerOrders, 'orderCount' | 'totals'> {
  const sums = new Map<string, { gross: bigint; refunded: bigint }>();
  let orderCount = 0;
  for (const { state } of h.orders.values()) {
    if (!state.exists || state.customer.id !== customerId) continue;
    orderCount++;
    const sum = sums.get(state.currency) ?? { gross: 0n, refunded: 0n };
    sums.set(state.currency, { gross: sum.gross + BigInt(state.total), refunded: sum.refunded + BigInt(state.refundedAmount) });
  }
  return {
    orderCount,
    totals: Object.fromEntries([...sums].map(([currency, sum]) => [currency, { gross: String(sum.gross), refunded: String(sum.refunded), net: String(sum.gross - sum.refunded) }])),
  };
}

describe("a customer's running totals", () => {
  it('equal the sum over the customer\'s orders across payments, cancellations, returns and (partial) refunds, in any interleaving, and again after a rebuild', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 50 }), fc.array(fc.nat(), { minLength: 1, maxLength: 20 }), async (steps, picks) => {
        const h = new History();
        let payments = 0;
        for (const s of steps) {
          if (s.type === 'CreateOrder') {
            const customer = s.customer ? { id: s.customer } : {};
            h.run(`o-${h.created.length}`, { type: 'CreateOrder', customer, currency: s.currency, items: [{ sku: 'SKU-1', quantity: 1, unitPrice: s.unitPrice }] } as never);
            continue;
          }
          if (h.created.length === 0) continue;
          const orderId = h.created[s.order % h.created.length]!;
          const order = h.orders.get(`${TENANT}/${orderId}`)!.state;
          if (!order.exists) continue;
          if (s.type === 'RecordPayment') h.run(orderId, { type: 'RecordPayment', paymentId: `p-${++payments}`, amount: order.total - order.paidAmount, method: 'card' } as never);
          else if (s.type === 'RefundOrder') h.run(orderId, { type: 'RefundOrder', ...(s.part ? { amount: Math.max(1, Math.floor((order.paidAmount - order.refundedAmount) / s.part)) } : {}) } as never);
          else h.run(orderId, { type: s.type } as never);
        }
        const db = await project(interleave(h.events, picks));
        try {
          for (const customerId of ['c-1', 'c-2']) {
            const expected = expectedTotals(h, customerId);
            const read = await getCustomerOrders(db, TENANT, customerId, 200);
            expect({ orderCount: read.orderCount, totals: read.totals }).toEqual(expected);
            // The page's refunds per order add up to the totals' refunds.
            const refunded = read.orders.reduce((sums, order) => ({ ...sums, [order.currency]: (sums[order.currency] ?? 0n) + BigInt(order.refundedAmount) }), {} as Record<string, bigint>);
            expect(Object.fromEntries(Object.entries(refunded).map(([currency, sum]) => [currency, String(sum)]))).toEqual(Object.fromEntries(Object.entries(expected.totals).map(([currency, sum]) => [currency, sum.refunded])));
          }
          // A rebuild over the same history (reset, then every event again) makes the same totals.
          const before = await getCustomerOrders(db, TENANT, 'c-1', 5);
          await project(h.events, db);
          expect(await getCustomerOrders(db, TENANT, 'c-1', 5)).toEqual(before);
        } finally {
          await db.close();
        }
      }),
      // A fresh schema and pool per run on PostgreSQL: fewer runs keep the file within its time.
      { numRuns: onPostgres ? 20 : 100 },
    );
  });

  it("are the tenant's own: another tenant's orders of a customer of the same id count for nothing", async () => {
    const h = new History();
    h.run('o-a', { type: 'CreateOrder', customer: { id: 'c-1' }, currency: 'EUR', items: [{ sku: 'SKU-1', quantity: 1, unitPrice: 700 }] } as never);
    h.run('o-b', { type: 'CreateOrder', customer: { id: 'c-1' }, currency: 'EUR', items: [{ sku: 'SKU-1', quantity: 1, unitPrice: 900 }] } as never, 'tenant-b');
    const db = await project(h.events);
    try {
      expect(await getCustomerOrders(db, TENANT, 'c-1', 10)).toMatchObject({ orderCount: 1, totals: { EUR: { gross: '700', refunded: '0', net: '700' } } });
      expect(await getCustomerOrders(db, 'tenant-b', 'c-1', 10)).toMatchObject({ orderCount: 1, totals: { EUR: { gross: '900', refunded: '0', net: '900' } } });
      expect(await getCustomerOrders(db, 'tenant-c', 'c-1', 10)).toEqual({ customerId: 'c-1', orderCount: 0, totals: {}, orders: [] });
    } finally {
      await db.close();
    }
  });
});
