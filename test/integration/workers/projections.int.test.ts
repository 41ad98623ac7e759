import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { type ReadModelStore } from '../../../src/readmodels/read-model-store.js';
import { startSubscriptionRunner, type SubscriptionRunner } from '../../../src/subscriptions/runner.js';
import { workerMetrics } from '../../../src/observability/worker-metrics.js';
import { projections } from '../../../projections/index.js';
import { getOrderSummary, listOrderSummaries } from '../../../projections/order-summary.js';
import { getCustomerOrders } from '../../../projections/orders-by-customer.js';
import { getSalesByDay } from '../../../projections/sales-by-day.js';
import { OrderWriter, eventually } from './order-writer.js';
import { openTestReadModels } from '../../helpers/read-models.js';

describe('read-model projections driven by persistent subscriptions', () => {
  let store: TestEventStore;
  let readModels: ReadModelStore;
  let runner: SubscriptionRunner;
  let writer: OrderWriter;

  beforeAll(async () => {
    store = await startTestEventStore();
    readModels = await openTestReadModels();
    runner = await startSubscriptionRunner({
      client: store.client,
      store: readModels,
      logger: pino({ level: 'silent' }),
      metrics: workerMetrics(new Registry()),
      handlers: [],
      projections,
    });
    writer = new OrderWriter(store.client);
  });

  afterAll(async () => {
    await runner?.stop();
    await readModels?.close();
    await store?.close();
  });

  it('shows a new order in the order summary with its status, total and customer', async () => {
    await writer.create('o-1', { customer: { id: 'cust-1', name: 'Ada' }, items: [{ sku: 'MUG', quantity: 3, unitPrice: 1000 }] });
    const summary = await eventually(async () => await getOrderSummary(readModels, 'tenant-a', 'o-1'));
    expect(summary).toMatchObject({ status: 'PENDING', total: 3000, paidAmount: 0, customerId: 'cust-1', customerName: 'Ada', itemCount: 3 });
  });

  it('follows the order through payment and shipping', async () => {
    await writer.create('o-2');
    await writer.pay('o-2', 2000);
    await writer.ship('o-2');
    const summary = await eventually(async () => {
      const row = await getOrderSummary(readModels, 'tenant-a', 'o-2');
      return row?.status === 'SHIPPED' ? row : undefined;
    });
    expect(summary).toMatchObject({ status: 'SHIPPED', paidAmount: 2000, total: 2000 });
    const customer = await eventually(async () => {
      const orders = await getCustomerOrders(readModels, 'tenant-a', 'cust-1', 10);
      return orders.orders.find((order) => order.orderId === 'o-2')?.status === 'SHIPPED' ? orders : undefined;
    });
    expect(customer.orders.map((order) => order.orderId).sort()).toEqual(['o-1', 'o-2']);
    const today = new Date().toISOString().slice(0, 10);
    const sales = await eventually(async () => {
      const days = await getSalesByDay(readModels, 'tenant-a', today, today);
      return days[0]?.paidAmount === '2000' ? days : undefined;
    });
    expect(sales[0]).toMatchObject({ day: today, currency: 'EUR', paidAmount: '2000' });
    expect((await listOrderSummaries(readModels, { tenantId: 'tenant-a', status: 'SHIPPED', limit: 10 })).items.map((s) => s.orderId)).toEqual(['o-2']);
  });
});
