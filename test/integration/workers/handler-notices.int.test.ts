// A handler's notices (handler.ts): events of other groups handed to it in passing, once each,
// as the groups of its process parse them; what a note throws never holds up the groups.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import type { ReadModelStore } from '../../../src/readmodels/read-model-store.js';
import type { EventEnvelope } from '../../../src/readmodels/event-envelope.js';
import { startWorkers, type RunningWorkers } from '../../../src/workers.js';
import { defineHandler } from '../../../src/subscriptions/handler.js';
import { orderStreamName } from '../../../src/orders/index.js';
import { getOrderSummary } from '../../../projections/order-summary.js';
import { OrderWriter, eventually } from './order-writer.js';
import { openTestReadModels } from '../../helpers/read-models.js';

describe('handler notices', () => {
  let store: TestEventStore;
  let readModels: ReadModelStore;
  let workers: RunningWorkers;
  const noted: EventEnvelope[] = [];
  const shipped: string[] = [];

  beforeAll(async () => {
    store = await startTestEventStore();
    readModels = await openTestReadModels();
    const noticing = defineHandler({
      name: 'noticing',
      handles: ['order.shipped'],
      notices: { types: ['order.created'], note: (event) => void noted.push(event) },
      handle: (event) => void shipped.push(event.streamId),
    });
    // A second group that parses order.created itself, and a note that throws.
    const confirming = defineHandler({
      name: 'confirming',
      handles: ['order.created'],
      notices: {
        types: ['order.created'],
        note: () => {
          throw new Error('a note that fails');
        },
      },
      handle: () => {},
    });
    workers = await startWorkers({ client: store.client, logger: pino({ level: 'silent' }), registry: new Registry(), store: readModels, env: {}, handlers: [noticing, confirming] });
  });

  afterAll(async () => {
    await workers?.stop();
    await readModels?.close();
    await store?.close();
  });

  it('hands a handler the creations its own group never receives, once each, and a failing note holds up nothing', async () => {
    const writer = new OrderWriter(store.client);
    const [createdId] = await writer.create('noticed-1');
    await writer.pay('noticed-1', 2000);
    await writer.ship('noticed-1');
    await eventually(() => shipped.includes(orderStreamName('noticed-1')));
    const notes = noted.filter((event) => event.streamId === orderStreamName('noticed-1'));
    expect(notes.map((event) => [event.type, event.id])).toEqual([['order.created', createdId]]);
    // The projections applied the order's events past the throwing note.
    const summary = await eventually(async () => {
      const found = await getOrderSummary(readModels, 'tenant-a', 'noticed-1');
      return found?.status === 'SHIPPED' ? found : undefined;
    });
    expect(summary.status).toBe('SHIPPED');
  });
});
