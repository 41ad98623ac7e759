// Starting runners with test handlers on an embedded event store, and reading what they did.
import { FORWARDS, START, StreamNotFoundError, type EventStoreDBClient } from '@eventstore/db-client';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { workerMetrics, type WorkerMetrics } from '../../../src/observability/worker-metrics.js';
import type { ProjectionDefinition } from '../../../src/readmodels/projection.js';
import type { ReadModelStore } from '../../../src/readmodels/read-model-store.js';
import type { HandlerDefinition } from '../../../src/subscriptions/handler.js';
import type { IntakeGate } from '../../../src/subscriptions/intake-gate.js';
import { startSubscriptionRunner, type RunnerOptions, type SubscriptionRunner } from '../../../src/subscriptions/runner.js';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { openTestReadModels } from '../../helpers/read-models.js';

export const FAST_RETRIES: Partial<RunnerOptions> = {
  retry: { maxRetries: 2, baseDelayMs: 5, maxDelayMs: 20, outOfOrderMaxRetries: 200, outOfOrderDelayMs: 5 },
  messageTimeoutMs: 10_000,
  statsIntervalMs: 60_000,
};

export async function startRunner(options: {
  client: EventStoreDBClient;
  store: ReadModelStore;
  handlers?: HandlerDefinition[];
  projections?: ProjectionDefinition[];
  runner?: Partial<RunnerOptions>;
  registry?: Registry;
  /** The gate the groups obey, instead of the process's `workerIntake`. */
  intake?: IntakeGate;
}): Promise<{ runner: SubscriptionRunner; metrics: WorkerMetrics; registry: Registry }> {
  const registry = options.registry ?? new Registry();
  const metrics = workerMetrics(registry);
  const runner = await startSubscriptionRunner({
    client: options.client,
    store: options.store,
    logger: pino({ level: 'silent' }),
    metrics,
    handlers: options.handlers ?? [],
    projections: options.projections ?? [],
    options: { ...FAST_RETRIES, ...options.runner },
    ...(options.intake ? { intake: options.intake } : {}),
  });
  return { runner, metrics, registry };
}

export interface RunnerFixture {
  /** The embedded event store. */
  readonly store: TestEventStore;
  /** Empty read models (SQLite in memory, or a fresh PostgreSQL schema). */
  readonly readModels: ReadModelStore;
  /** startRunner on them; the runner is stopped after the test (or the file). */
  start(options: Omit<Parameters<typeof startRunner>[0], 'client' | 'store'>): ReturnType<typeof startRunner>;
}

/**
 * An embedded event store and empty read models for each test (`per: 'file'`: one for all the
 * file's tests), closed after it with every runner started on them stopped first.
 */
export function runnerFixture(per: 'test' | 'file' = 'test'): RunnerFixture {
  let store: TestEventStore | undefined;
  let readModels: ReadModelStore | undefined;
  const runners: SubscriptionRunner[] = [];
  (per === 'test' ? beforeEach : beforeAll)(async () => {
    store = await startTestEventStore();
    readModels = await openTestReadModels();
  });
  (per === 'test' ? afterEach : afterAll)(async () => {
    for (const runner of runners.splice(0)) await runner.stop();
    await readModels?.close();
    await store?.close();
    readModels = store = undefined;
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('runnerFixture: used outside a test');
    return value;
  };
  return {
    get store() {
      return started(store);
    },
    get readModels() {
      return started(readModels);
    },
    async start(options) {
      const result = await startRunner({ client: started(store).client, store: started(readModels), ...options });
      runners.push(result.runner);
      return result;
    },
  };
}

export interface ParkedEntry {
  /** `<revision>@<stream>` of the parked event. */
  target: string;
  reason: string;
}

export async function readParked(client: EventStoreDBClient, group: string): Promise<ParkedEntry[]> {
  const entries: ParkedEntry[] = [];
  try {
    for await (const resolved of client.readStream(`$persistentsubscription-$all::${group}-parked`, { direction: FORWARDS, fromRevision: START })) {
      const link = resolved.link ?? resolved.event;
      if (!link) continue;
      const metadata = (link.metadata instanceof Uint8Array ? JSON.parse(Buffer.from(link.metadata).toString('utf8')) : link.metadata) as { Reason?: string };
      const data = link.data instanceof Uint8Array ? Buffer.from(link.data).toString('utf8') : String(link.data);
      entries.push({ target: data, reason: metadata.Reason ?? '' });
    }
  } catch (error) {
    if (!(error instanceof StreamNotFoundError)) throw error;
  }
  return entries;
}

/** Sum of a metric's values whose labels match; `<histogram>_count` / `_sum` work too. */
export async function metricValue(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const base = name.replace(/_(count|sum)$/, '');
  const metric = await (registry.getSingleMetric(name) ?? registry.getSingleMetric(base))?.get();
  const matching = metric?.values.filter(
    (value) =>
      ((value as { metricName?: string }).metricName ?? name) === name &&
      Object.entries(labels).every(([key, expected]) => String((value.labels as Record<string, unknown>)[key]) === expected),
  );
  return (matching ?? []).reduce((sum, value) => sum + value.value, 0);
}
