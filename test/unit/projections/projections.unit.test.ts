import { describe, expect, it } from 'vitest';
import { type ReadModelStore } from '../../../src/readmodels/read-model-store.js';
import { applyToProjection, resetProjection } from '../../../src/readmodels/apply-projection.js';
import type { EventEnvelope } from '../../../src/readmodels/event-envelope.js';
import { projections } from '../../../projections/index.js';
import orderSummary, { getOrderSummary, listOrderSummaries } from '../../../projections/order-summary.js';
import ordersByCustomer, { getCustomerOrders } from '../../../projections/orders-by-customer.js';
import salesByDay, { getSalesByDay } from '../../../projections/sales-by-day.js';
import analytics from '../../../projections/analytics.js';
import { getDailyActivity, getSalesByStatus } from '../../../src/handlers/analytics-store.js';
import type { ProjectionDefinition } from '../../../src/readmodels/projection.js';
import { cancelledUnpaid, history, paidAndShipped } from './envelopes.js';
import { openTestReadModels } from '../../helpers/read-models.js';

async function run(projection: ProjectionDefinition | ProjectionDefinition[], events: EventEnvelope[]): Promise<ReadModelStore> {
  const db = await openTestReadModels();
  for (const each of [projection].flat()) {
    await resetProjection(db, each);
    for (const event of events) await applyToProjection(db, each, event, event);
  }
  return db;
}

describe('the order summary', () => {
  it('holds one row per order with status, totals, paid amount, customer and times', async () => {
    const db = await run(orderSummary, [...paidAndShipped('o-1'), ...cancelledUnpaid('o-2')]);
    expect(await getOrderSummary(db, 'tenant-a', 'o-1')).toEqual({
      orderId: 'o-1',
      tenantId: 'tenant-a',
      customerId: 'cust-1',
      customerName: 'Ada',
      status: 'SHIPPED',
      currency: 'EUR',
      total: 3000,
      paidAmount: 3000,
      refundedAmount: 0,
      itemCount: 2,
      createdAt: '2026-11-20T09:30:00.000Z',
      updatedAt: '2026-11-20T09:30:00.000Z',
      revision: 5,
    });
    expect(await getOrderSummary(db, 'tenant-a', 'o-2')).toMatchObject({ status: 'CANCELLED', paidAmount: 0, revision: 2 });
    expect(await getOrderSummary(db, 'tenant-b', 'o-1')).toBeUndefined();
  });

  it('pages newest first with a cursor and filters by status and customer', async () => {
    const events = ['a', 'b', 'c', 'd', 'e'].flatMap((id, index) =>
      (index % 2 ? cancelledUnpaid : paidAndShipped)(id, { at: `2026-11-2${index}T10:00:00.000Z`, customerId: index < 2 ? 'vip' : 'other' }),
    );
    const db = await run(orderSummary, events);
    const first = await listOrderSummaries(db, { tenantId: 'tenant-a', limit: 2 });
    expect(first.items.map((item) => item.orderId)).toEqual(['e', 'd']);
    const second = await listOrderSummaries(db, { tenantId: 'tenant-a', limit: 2, cursor: first.nextCursor! });
    expect(second.items.map((item) => item.orderId)).toEqual(['c', 'b']);
    const last = await listOrderSummaries(db, { tenantId: 'tenant-a', limit: 2, cursor: second.nextCursor! });
    expect(last).toEqual({ items: [expect.objectContaining({ orderId: 'a' })] });
    expect((await listOrderSummaries(db, { tenantId: 'tenant-a', limit: 10, status: 'CANCELLED' })).items.map((item) => item.orderId)).toEqual(['d', 'b']);
    expect((await listOrderSummaries(db, { tenantId: 'tenant-a', limit: 10, customerId: 'vip' })).items.map((item) => item.orderId)).toEqual(['b', 'a']);
    await expect(listOrderSummaries(db, { tenantId: 'tenant-a', limit: 2, cursor: 'bogus' })).rejects.toThrow(/cursor/);
  });
});

describe('orders by customer', () => {
  it("lists a customer's orders with their current status and totals per currency", async () => {
    const db = await run([ordersByCustomer, orderSummary], [...paidAndShipped('o-1', { customerId: 'c-9' }), ...cancelledUnpaid('o-2', { customerId: 'c-9' }), ...cancelledUnpaid('o-3', { customerId: 'c-1' })]);
    const orders = await getCustomerOrders(db, 'tenant-a', 'c-9', 10);
    expect(orders).toMatchObject({ customerId: 'c-9', orderCount: 2, totals: { EUR: { gross: '4000', refunded: '0', net: '4000' } } });
    expect(orders.orders.map((order) => [order.orderId, order.status]).sort()).toEqual([
      ['o-1', 'SHIPPED'],
      ['o-2', 'CANCELLED'],
    ]);
    expect((await getCustomerOrders(db, 'tenant-b', 'c-9', 10)).orderCount).toBe(0);
  });

  it("pages a customer's orders newest first, the totals covering every page", async () => {
    const db = await run(
      [ordersByCustomer, orderSummary],
      ['a', 'b', 'c'].flatMap((id, index) => cancelledUnpaid(id, { customerId: 'c-5', at: `2026-11-2${index}T10:00:00.000Z` })),
    );
    const first = await getCustomerOrders(db, 'tenant-a', 'c-5', 2);
    expect(first.orders.map((order) => order.orderId)).toEqual(['c', 'b']);
    expect(first).toMatchObject({ orderCount: 3, totals: { EUR: { gross: '3000', refunded: '0', net: '3000' } } });
    const second = await getCustomerOrders(db, 'tenant-a', 'c-5', 2, first.nextCursor);
    expect(second.orders.map((order) => order.orderId)).toEqual(['a']);
    expect(second.nextCursor).toBeUndefined();
  });
});

describe("a customer's totals", () => {
  it('split into gross (refunded orders included), refunded and net, per order too', async () => {
    const { factory, wrap } = history('o-r', { customerId: 'c-7' });
    const returnedAndRefunded = [
      ...paidAndShipped('o-r', { customerId: 'c-7' }),
      ...[factory.returned({ reason: 'too big' }), factory.statusChanged('SHIPPED', 'RETURNED', 'too big'), factory.refunded({ amount: 3000, currency: 'EUR' }), factory.statusChanged('RETURNED', 'REFUNDED', 'refunded')].map(
        (event, index) => ({ ...wrap(event), revision: 6 + index }),
      ),
    ];
    const db = await run([ordersByCustomer, orderSummary], [...returnedAndRefunded, ...paidAndShipped('o-k', { customerId: 'c-7' })]);
    const orders = await getCustomerOrders(db, 'tenant-a', 'c-7', 10);
    expect(orders.totals).toEqual({ EUR: { gross: '6000', refunded: '3000', net: '3000' } });
    expect(orders.orders.find((order) => order.orderId === 'o-r')).toMatchObject({ status: 'REFUNDED', total: 3000, refundedAmount: 3000 });
    expect(orders.orders.find((order) => order.orderId === 'o-k')).toMatchObject({ refundedAmount: 0 });
  });
});

describe('sales by day', () => {
  it('adds orders placed, money received and cancellations to the day they happened', async () => {
    const db = await run(salesByDay, [
      ...paidAndShipped('o-1', { at: '2026-11-20T10:00:00.000Z' }),
      ...paidAndShipped('o-2', { at: '2026-11-20T23:59:59.000Z' }),
      ...cancelledUnpaid('o-3', { at: '2026-11-21T08:00:00.000Z' }),
    ]);
    expect(await getSalesByDay(db, 'tenant-a', '2026-11-01', '2026-11-30')).toEqual([
      { day: '2026-11-20', currency: 'EUR', ordersPlaced: 2, orderedAmount: '6000', paidAmount: '6000', refundedAmount: '0', ordersCancelled: 0 },
      { day: '2026-11-21', currency: 'EUR', ordersPlaced: 1, orderedAmount: '1000', paidAmount: '0', refundedAmount: '0', ordersCancelled: 1 },
    ]);
    expect(await getSalesByDay(db, 'tenant-a', '2026-11-21', '2026-11-21')).toHaveLength(1);
  });
});

describe('analytics', () => {
  it('records every order event per day and each order under its latest status; a rebuild gives the same', async () => {
    const events = [...paidAndShipped('o-1', { at: '2026-11-20T10:00:00.000Z' }), ...cancelledUnpaid('o-2', { at: '2026-11-21T08:00:00.000Z' })];
    const db = await run(analytics, events);
    const activity = await getDailyActivity(db, 'tenant-a', '2026-11-01', '2026-11-30');
    expect(activity.reduce((sum, row) => sum + row.events, 0)).toBe(events.length);
    expect(activity).toContainEqual({ day: '2026-11-20', eventType: 'order.created', events: 1, amount: '3000' });
    expect(activity).toContainEqual({ day: '2026-11-21', eventType: 'order.cancelled', events: 1, amount: '0' });
    const byStatus = await getSalesByStatus(db, 'tenant-a');
    expect(byStatus).toEqual([
      { status: 'CANCELLED', currency: 'EUR', orders: 1, total: '1000' },
      { status: 'SHIPPED', currency: 'EUR', orders: 1, total: '3000' },
    ]);
    // orders replay analytics: reset, then the history again.
    await resetProjection(db, analytics);
    expect(await getSalesByStatus(db, 'tenant-a')).toEqual([]);
    for (const event of events) await applyToProjection(db, analytics, event, event);
    expect(await getSalesByStatus(db, 'tenant-a')).toEqual(byStatus);
    expect(await getDailyActivity(db, 'tenant-a', '2026-11-01', '2026-11-30')).toEqual(activity);
  });
});

describe('the projection list', () => {
  it('names each projection once, and a reset empties its rows and revisions', async () => {
    expect(new Set(projections.map((projection) => projection.name)).size).toBe(projections.length);
    const db = await run(orderSummary, paidAndShipped('o-1'));
    await resetProjection(db, orderSummary);
    expect(await getOrderSummary(db, 'tenant-a', 'o-1')).toBeUndefined();
    expect(await db.get('SELECT * FROM projection_revisions')).toBeUndefined();
  });
});
