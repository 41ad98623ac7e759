import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { type ReadModelStore } from '../../../src/readmodels/read-model-store.js';
import { defineHandler } from '../../../src/subscriptions/handler.js';
import { startSubscriptionRunner, type SubscriptionRunner } from '../../../src/subscriptions/runner.js';
import { workerMetrics } from '../../../src/observability/worker-metrics.js';
import { OrderWriter, eventually } from './order-writer.js';
import { FAST_RETRIES } from './worker-helpers.js';
import { openTestReadModels } from '../../helpers/read-models.js';

describe('worker logs', () => {
  let store: TestEventStore;
  let readModels: ReadModelStore;
  let runner: SubscriptionRunner;
  const lines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    store = await startTestEventStore();
    readModels = await openTestReadModels();
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    let failedOnce = false;
    const audit = defineHandler({
      name: 'audit',
      handles: ['order.created'],
      handle(_event, context) {
        context.logger.info('audited');
        if (!failedOnce) {
          failedOnce = true;
          throw new Error('first try fails');
        }
      },
    });
    runner = await startSubscriptionRunner({
      client: store.client,
      store: readModels,
      logger: pino({ level: 'debug' }, sink),
      metrics: workerMetrics(new Registry()),
      handlers: [audit],
      projections: [],
      options: FAST_RETRIES,
    });
  });

  afterAll(async () => {
    await runner?.stop();
    await readModels?.close();
    await store?.close();
  });

  it('logs every handled event with its correlation id, failures as warnings, and each step at debug', async () => {
    const [eventId] = await new OrderWriter(store.client).run(
      'log-1',
      { type: 'CreateOrder', customer: { id: 'c' }, currency: 'EUR', items: [{ sku: 'MUG', quantity: 1, unitPrice: 100 }] },
      { correlationId: 'conversation-77' },
    );
    const processed = await eventually(() => lines.find((line) => line.msg === 'event processed'));
    expect(processed).toMatchObject({
      level: 30,
      group: 'order-store.handler.audit',
      handler: 'audit',
      eventId,
      eventType: 'order.created',
      streamId: 'order-log-1',
      revision: 0,
      correlationId: 'conversation-77',
      outcome: 'handled',
      attempt: 2,
    });
    const ofEvent = lines.filter((line) => line.eventId === eventId);
    expect(ofEvent.find((line) => line.msg === 'processing failed: retrying')).toMatchObject({ level: 40, correlationId: 'conversation-77', err: { message: 'first try fails' } });
    expect(ofEvent.filter((line) => line.msg === 'audited')).toHaveLength(2);
    const debugSteps = ofEvent.filter((line) => line.level === 20).map((line) => line.msg);
    expect(debugSteps).toEqual(expect.arrayContaining(['received', 'handler started', 'handler finished']));
  });

  it('an event handled at the first try is logged at debug only: info is kept for retries, slow events and failures', async () => {
    const [eventId] = await new OrderWriter(store.client).run(
      'log-2',
      { type: 'CreateOrder', customer: { id: 'c' }, currency: 'EUR', items: [{ sku: 'MUG', quantity: 1, unitPrice: 100 }] },
      { correlationId: 'conversation-78' },
    );
    const processed = await eventually(() => lines.find((line) => line.msg === 'event processed' && line.eventId === eventId));
    expect(processed).toMatchObject({ level: 20, outcome: 'handled', attempt: 1, correlationId: 'conversation-78' });
    expect(lines.filter((line) => line.eventId === eventId && (line.level as number) >= 30).map((line) => line.msg)).toEqual(['audited']);
  });
});
