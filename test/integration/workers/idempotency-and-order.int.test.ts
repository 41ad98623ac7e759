import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FORWARDS, START, type RecordedEvent } from '@eventstore/db-client';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { type ReadModelStore } from '../../../src/readmodels/read-model-store.js';
import { applyToProjection, OutOfOrderEventError, resetProjection } from '../../../src/readmodels/apply-projection.js';
import { locationOf, toEventEnvelope } from '../../../src/readmodels/event-envelope.js';
import { isOrderEventType } from '../../../src/orders/events.js';
import { defineHandler } from '../../../src/subscriptions/handler.js';
import { projections } from '../../../projections/index.js';
import { OrderWriter, eventually } from './order-writer.js';
import { metricValue, startRunner } from './worker-helpers.js';
import { openTestReadModels } from '../../helpers/read-models.js';

describe('redelivery and delivery order', async () => {
  let store: TestEventStore;
  let history: RecordedEvent[];

  beforeAll(async () => {
    store = await startTestEventStore();
    const writer = new OrderWriter(store.client);
    // Varied histories: paid and shipped, cancelled after payment, refunded, returned.
    for (let index = 0; index < 12; index++) {
      const id = `h-${index}`;
      await writer.create(id, { customer: { id: `cust-${index % 4}` }, items: [{ sku: 'MUG', quantity: 1 + (index % 3), unitPrice: 700 }] });
      const total = 700 * (1 + (index % 3));
      if (index % 4 === 3) continue;
      await writer.pay(id, total);
      if (index % 4 === 0) await writer.ship(id);
      if (index % 4 === 1) await writer.cancel(id);
      if (index % 4 === 2) {
        await writer.ship(id);
        await writer.deliver(id);
        await writer.returnOrder(id);
      }
    }
    history = [];
    for await (const resolved of store.client.readAll({ direction: FORWARDS, fromPosition: START })) {
      if (resolved.event && resolved.event.streamId.startsWith('order-')) history.push(resolved.event as RecordedEvent);
    }
  });

  afterAll(async () => {
    await store.close();
  });

  async function dump(db: ReadModelStore): Promise<unknown> {
    return {
      summary: await db.all('SELECT * FROM order_summary ORDER BY tenant_id, order_id'),
      customers: await db.all('SELECT * FROM customer_orders ORDER BY tenant_id, customer_id, order_id'),
      sales: await db.all('SELECT * FROM sales_by_day ORDER BY tenant_id, day, currency'),
    };
  }

  /** Feeds events in the given order; an early one goes to the back of the queue, as a nack would. */
  async function applyAll(db: ReadModelStore, events: RecordedEvent[]): Promise<{ refused: number }> {
    const queue = [...events];
    let refused = 0;
    while (queue.length > 0) {
      const event = queue.shift()!;
      for (const projection of projections) {
        try {
          await applyToProjection(db, projection, locationOf(event), isOrderEventType(event.type) ? toEventEnvelope(event) : undefined);
        } catch (error) {
          if (!(error instanceof OutOfOrderEventError)) throw error;
          refused++;
          queue.push(event);
          break;
        }
      }
    }
    return { refused };
  }

  async function freshStore(): Promise<ReadModelStore> {
    const db = await openTestReadModels();
    for (const projection of projections) await resetProjection(db, projection);
    return db;
  }

  it('gives the same read models for shuffled delivery as for delivery in order', async () => {
    const inOrder = await freshStore();
    expect((await applyAll(inOrder, history)).refused).toBe(0);
    const expected = await dump(inOrder);
    let seed = 7;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 5; round++) {
      const shuffled = [...history];
      for (let i = shuffled.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
      }
      const db = await freshStore();
      const { refused } = await applyAll(db, shuffled);
      expect(refused).toBeGreaterThan(0);
      expect(await dump(db)).toEqual(expected);
      await db.close();
    }
    await inOrder.close();
  });

  it('applies a redelivered event to a projection only once', async () => {
    const db = await freshStore();
    const created = history.find((event) => event.type === 'order.created')!;
    const summary = projections.find((projection) => projection.name === 'sales-by-day')!;
    expect(await applyToProjection(db, summary, locationOf(created), toEventEnvelope(created))).toBe('applied');
    expect(await applyToProjection(db, summary, locationOf(created), toEventEnvelope(created))).toBe('duplicate');
    expect((await db.get<{ orders_placed: number }>('SELECT orders_placed FROM sales_by_day'))?.orders_placed).toBe(1);
    await db.close();
  });

  it('gives a handler event that is redelivered after its writes committed no second effect', async () => {
    const db = await openTestReadModels();
    let attempts = 0;
    const flaky = defineHandler({
      name: 'counter',
      handles: ['order.created'],
      schema: 'CREATE TABLE IF NOT EXISTS counted (order_id TEXT NOT NULL)',
      async handle(event, context) {
        // Taken before the await: on PostgreSQL the other events' handlers start while this commit is in flight.
        const attempt = ++attempts;
        await context.transaction(async (tx) => await tx.run('INSERT INTO counted (order_id) VALUES (?)', event.data.orderId));
        // The ack is lost (the worker fails after committing): the event comes back.
        if (attempt === 1) throw new Error('connection reset after commit');
      },
    });
    const { runner, registry } = await startRunner({ client: store.client, store: db, handlers: [flaky] });
    const created = history.filter((event) => event.type === 'order.created');
    await eventually(async () => (await metricValue(registry, 'events_processed_total', { handler: 'counter' })) === created.length);
    expect(await metricValue(registry, 'events_processed_total', { handler: 'counter', outcome: 'duplicate' })).toBe(1);
    expect((await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM counted'))?.n).toBe(created.length);
    expect((await db.get<{ n: number }>('SELECT COUNT(DISTINCT order_id) AS n FROM counted'))?.n).toBe(created.length);
    await runner.stop();
    await db.close();
  });
});
