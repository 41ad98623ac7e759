import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { type ReadModelStore } from '../../../src/readmodels/read-model-store.js';
import { defineHandler } from '../../../src/subscriptions/handler.js';
import type { SubscriptionRunner } from '../../../src/subscriptions/runner.js';
import { projections } from '../../../projections/index.js';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { startWorkers } from '../../../src/workers.js';
import { OrderWriter, eventually } from './order-writer.js';
import { metricValue, startRunner } from './worker-helpers.js';
import { openTestReadModels } from '../../helpers/read-models.js';

describe('worker metrics', () => {
  let store: TestEventStore;
  let readModels: ReadModelStore;
  let runner: SubscriptionRunner;
  let registry: Awaited<ReturnType<typeof startRunner>>['registry'];
  const gate = { open: false, waiting: [] as (() => void)[] };
  const GROUP = 'order-store.handler.gated';

  beforeAll(async () => {
    store = await startTestEventStore();
    readModels = await openTestReadModels();
    const gated = defineHandler({
      name: 'gated',
      handles: ['order.created'],
      async handle() {
        if (!gate.open) await new Promise<void>((resolve) => gate.waiting.push(resolve));
      },
    });
    ({ runner, registry } = await startRunner({ client: store.client, store: readModels, handlers: [gated], projections: [...projections] }));
  });

  afterAll(async () => {
    gate.open = true;
    gate.waiting.splice(0).forEach((resolve) => resolve());
    await runner?.stop();
    await readModels?.close();
    await store?.close();
  });

  it('counts events in flight and the lag while a handler is busy, and times each event once done', async () => {
    const writer = new OrderWriter(store.client);
    for (const id of ['m-1', 'm-2', 'm-3']) await writer.create(id);

    await eventually(async () => (await metricValue(registry, 'subscription_events_in_flight', { group: GROUP })) === 3);
    await runner.refreshStats();
    expect(await metricValue(registry, 'subscription_lag', { group: GROUP })).toBeGreaterThan(0);
    expect(await metricValue(registry, 'event_processing_duration_seconds_count', { handler: 'gated' })).toBe(0);

    gate.open = true;
    gate.waiting.splice(0).forEach((resolve) => resolve());
    await eventually(async () => (await metricValue(registry, 'event_processing_duration_seconds_count', { handler: 'gated', event_type: 'order.created' })) === 3);
    expect(await metricValue(registry, 'subscription_events_in_flight', { group: GROUP })).toBe(0);
    expect(await metricValue(registry, 'events_processed_total', { handler: 'gated', outcome: 'handled' })).toBe(3);
    // The acks reach the server's checkpoint shortly after the events are handled (they are batched).
    await eventually(async () => {
      await runner.refreshStats();
      return (await metricValue(registry, 'subscription_lag', { group: GROUP })) === 0;
    });
    expect(await metricValue(registry, 'subscription_lag', { group: GROUP })).toBe(0);
    expect(await metricValue(registry, 'subscription_parked_events', { group: GROUP })).toBe(0);
  });

  it("refreshes a group's stats one refresh at a time: asked again while one runs, it gives that one", async () => {
    // The lag is a read of $all from the group's checkpoint: behind on large events, a refresh
    // outlasted the interval and the refreshes piled up, each holding its pages (#11).
    const consumer = runner.consumer(GROUP)!;
    const first = consumer.refreshStats();
    expect(consumer.refreshStats()).toBe(first);
    await first;
    const next = consumer.refreshStats();
    expect(next).not.toBe(first);
    await next;
  });

  it('serves GET /metrics from a workers-only process', async () => {
    const workers = await startWorkers({ client: store.client, logger: pino({ level: 'silent' }), registry: new Registry(), store: readModels, env: {}, handlers: [], projections: [], metricsPort: 0 });
    try {
      const response = await fetch(`http://127.0.0.1:${workers.metricsPort}/metrics`);
      expect(response.status).toBe(200);
      expect(await response.text()).toContain('# TYPE event_processing_duration_seconds histogram');
      expect((await fetch(`http://127.0.0.1:${workers.metricsPort}/other`)).status).toBe(404);
    } finally {
      await workers.stop();
    }
  });

  it('times the projections group per event type, counts each projection, and exposes everything in the Prometheus text format', async () => {
    await eventually(async () => (await metricValue(registry, 'event_processing_duration_seconds_count', { handler: 'projections', event_type: 'order.created' })) === 3);
    await eventually(async () => (await metricValue(registry, 'events_processed_total', { handler: 'order-summary', event_type: 'order.created', outcome: 'handled' })) === 3);
    const text = await registry.metrics();
    expect(text).toContain('event_processing_duration_seconds_bucket{le="0.005",handler="projections",event_type="order.created"}');
    expect(text).toMatch(/event_handler_errors_total/);
    expect(text).toContain('subscription_events_in_flight{group="order-store.projections"} 0');
    expect(text).toContain('subscription_parked_events{group="order-store.projection.sales-by-day"} 0');
  });
});
