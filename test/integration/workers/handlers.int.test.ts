import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FORWARDS, START } from '@eventstore/db-client';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { type ReadModelStore } from '../../../src/readmodels/read-model-store.js';
import { startWorkers, type RunningWorkers } from '../../../src/workers.js';
import { notificationStream } from '../../../src/handlers/notification.js';
import { listOutbox } from '../../../src/handlers/whatsapp-outbox.js';
import { recordStockCount } from '../../../src/handlers/inventory-store.js';
import { getStockLevel } from '../../../projections/inventory.js';
import { getDailyActivity, getSalesByStatus } from '../../../src/handlers/analytics-store.js';
import { OrderWriter, eventually } from './order-writer.js';
import { metricValue } from './worker-helpers.js';
import { registry as processRegistry } from '../../../src/observability/metrics.js';
import { openTestReadModels } from '../../helpers/read-models.js';

describe('the shipped handlers on the embedded event store', () => {
  let store: TestEventStore;
  let readModels: ReadModelStore;
  let workers: RunningWorkers;
  let writer: OrderWriter;

  beforeAll(async () => {
    store = await startTestEventStore();
    readModels = await openTestReadModels();
    await recordStockCount(store.client, 'LAMP', 5, { commandId: 'count-lamp', tenantId: 'tenant-a', actor: 'test', at: new Date().toISOString(), correlationId: 'count-lamp' });
    workers = await startWorkers({ client: store.client, logger: pino({ level: 'silent' }), registry: new Registry(), store: readModels, env: {} });
    writer = new OrderWriter(store.client);
  });

  afterAll(async () => {
    await workers?.stop();
    await readModels?.close();
    await store?.close();
  });

  async function readStream(stream: string) {
    const events = [];
    for await (const resolved of store.client.readStream(stream, { direction: FORWARDS, fromRevision: START })) events.push(resolved.event!);
    return events;
  }

  it('requests an order confirmation caused by order.created, keeping its correlation id', async () => {
    const [createdId] = await writer.run('n-1', {
      type: 'CreateOrder',
      customer: { id: 'cust-9', name: 'Grace', phone: '+14155550199' },
      currency: 'EUR',
      items: [{ sku: 'MUG', quantity: 1, unitPrice: 1200 }],
    }, { correlationId: 'conversation-42' });
    const [notification] = await eventually(async () => {
      const events = await readStream(notificationStream('tenant-a', 'n-1')).catch(() => []);
      return events.length > 0 ? events : undefined;
    });
    expect(notification?.type).toBe('notification.requested');
    expect(notification?.data).toMatchObject({ kind: 'order_confirmation', orderId: 'n-1', tenantId: 'tenant-a' });
    expect(notification?.metadata).toMatchObject({ $causationId: createdId, $correlationId: 'conversation-42', actor: 'handler:notification' });
    expect(await metricValue(processRegistry, 'events_published_total', { event_type: 'notification.requested' })).toBeGreaterThanOrEqual(1);
  });

  it('requests a status notification when the order is paid', async () => {
    await writer.create('n-2');
    const statusChangedId = (await writer.pay('n-2', 2000)).at(-1);
    const events = await eventually(async () => {
      const found = await readStream(notificationStream('tenant-a', 'n-2')).catch(() => []);
      return found.length === 2 ? found : undefined;
    });
    expect(events[1]?.data).toMatchObject({ kind: 'status_update', status: 'PAID' });
    expect(events[1]?.metadata).toMatchObject({ $causationId: statusChangedId });
  });

  it('puts a WhatsApp template message for the new status in the outbox, to the customer phone', async () => {
    await writer.create('w-1', { customer: { id: 'cust-3', name: 'Linus', phone: '+44 7700 900123' } });
    await writer.pay('w-1', 2000);
    await writer.ship('w-1');
    const messages = await eventually(async () => {
      const found = await listOutbox(readModels, 'tenant-a', { limit: 10, orderId: 'w-1' });
      return found.length === 2 ? found : undefined;
    });
    // One message per status change, newest first: the order's events' order.
    expect(messages.map((message) => message.template)).toEqual(['order_shipped', 'order_paid']);
    // Listed by the positions of the events that caused them, which each row keeps.
    expect(messages[0]!.sourcePosition).toBeGreaterThan(messages[1]!.sourcePosition ?? Infinity);
    expect(messages[0]).toMatchObject({ recipient: '447700900123', status: 'queued', providerMessageId: null });
    expect(messages[0]?.message).toEqual({
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to: '447700900123',
      type: 'template',
      template: {
        name: 'order_shipped',
        language: { code: 'en_US' },
        components: [{ type: 'body', parameters: [{ type: 'text', text: 'Linus' }, { type: 'text', text: 'w-1' }] }],
      },
    });
    expect(await listOutbox(readModels, 'tenant-b', { limit: 10 })).toEqual([]);
  });

  it('reserves stock on creation, records a shortage, releases it on cancellation, ships it out and restocks a return (the inventory projection)', async () => {
    await writer.create('i-1', { items: [{ sku: 'LAMP', quantity: 3, unitPrice: 5000 }] });
    await eventually(async () => (await getStockLevel(readModels, 'tenant-a', 'LAMP'))?.reserved === 3);
    expect(await getStockLevel(readModels, 'tenant-a', 'LAMP')).toMatchObject({ onHand: 5, reserved: 3, available: 2, shortage: 0 });

    await writer.create('i-2', { items: [{ sku: 'LAMP', quantity: 4, unitPrice: 5000 }] });
    const short = await eventually(async () => {
      const level = await getStockLevel(readModels, 'tenant-a', 'LAMP');
      return level?.reserved === 7 ? level : undefined;
    });
    expect(short).toMatchObject({ available: 0, shortage: 2, shortOrders: [{ orderId: 'i-2', quantity: 4, shortage: 2 }] });

    await writer.cancel('i-1');
    await eventually(async () => (await getStockLevel(readModels, 'tenant-a', 'LAMP'))?.reserved === 4);

    await writer.pay('i-2', 20000);
    await writer.ship('i-2');
    const shipped = await eventually(async () => {
      const level = await getStockLevel(readModels, 'tenant-a', 'LAMP');
      return level?.reserved === 0 ? level : undefined;
    });
    expect(shipped).toMatchObject({ onHand: 1, reserved: 0, available: 1, shortage: 0, shortOrders: [] });
    await writer.returnOrder('i-2');
    await eventually(async () => (await getStockLevel(readModels, 'tenant-a', 'LAMP')).onHand === 5);
  });

  it('records every order event for analytics, with sales per status', async () => {
    await writer.create('a-1', { currency: 'USD', items: [{ sku: 'PEN', quantity: 2, unitPrice: 150 }] });
    await writer.pay('a-1', 300);
    await writer.create('a-2', { currency: 'USD', items: [{ sku: 'PEN', quantity: 1, unitPrice: 150 }] });
    const byStatus = await eventually(async () => {
      const rows = (await getSalesByStatus(readModels, 'tenant-a')).filter((row) => row.currency === 'USD');
      return rows.length === 2 ? rows : undefined;
    });
    expect(byStatus).toEqual([
      { status: 'PAID', currency: 'USD', orders: 1, total: '300' },
      { status: 'PENDING', currency: 'USD', orders: 1, total: '150' },
    ]);
    const today = new Date().toISOString().slice(0, 10);
    const activity = await getDailyActivity(readModels, 'tenant-a', today, today);
    expect(activity.find((row) => row.eventType === 'payment.processed')?.events).toBeGreaterThanOrEqual(1);
    expect(await getSalesByStatus(readModels, 'tenant-b')).toEqual([]);
  });

  it('keeps the handlers out of each other: every one has its own subscription group, the projections share one', async () => {
    expect(workers.runner.consumers.map((consumer) => consumer.group).sort()).toEqual([
      'order-store.handler.notification',
      'order-store.handler.whatsapp',
      'order-store.projections',
    ]);
  });
});
