// The subscription runner: one persistent subscription group per handler and per projection,
// each with its own consumer, so one group's failures or slowness never hold up another. Their
// writes to the read-model store share one commit per turn of the event loop.
import { PersistentSubscriptionDoesNotExistError, type EventStoreDBClient } from '@eventstore/db-client';
import type { Logger } from 'pino';
import type { WorkerMetrics } from '../observability/worker-metrics.js';
import type { ProjectionDefinition } from '../readmodels/projection.js';
import type { ReadModelStore } from '../readmodels/read-model-store.js';
import { GroupConsumer } from './group-consumer.js';
import { handlerGroupSpec } from './handler-group.js';
import type { HandlerDefinition } from './handler.js';
import { cachedEnvelopes } from '../readmodels/envelope-cache.js';
import { bootstrapProjections, type BootstrapResult } from './projection-bootstrap.js';
import { projectionGroupSpec } from './projection-group.js';
import { sharedCommit } from './shared-commit.js';
import { groupName } from './group-settings.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry-policy.js';

export interface RunnerOptions {
  /** Group names are `<groupPrefix>.<handler|projection>.<name>`. */
  groupPrefix: string;
  handlerTimeoutMs: number;
  handlerMaxInFlight: number;
  projectionMaxInFlight: number;
  retry: RetryPolicy;
  /** Server-side redelivery of unacked events; keep above timeout + retry.maxDelayMs. */
  messageTimeoutMs: number;
  statsIntervalMs: number;
  /**
   * How a projection without a subscription group catches up on the stored history: `read`
   * (one read of $all for all of them, then their groups start where it ended) or `group`
   * (its group starts at the beginning of $all and delivers everything).
   */
  projectionBootstrap: 'read' | 'group';
}

export const DEFAULT_RUNNER_OPTIONS: RunnerOptions = {
  groupPrefix: 'order-store',
  handlerTimeoutMs: 10_000,
  handlerMaxInFlight: 16,
  projectionMaxInFlight: 500,
  retry: DEFAULT_RETRY_POLICY,
  messageTimeoutMs: 30_000,
  statsIntervalMs: 5_000,
  projectionBootstrap: 'read',
};

export interface SubscriptionRunnerDeps {
  client: EventStoreDBClient;
  store: ReadModelStore;
  logger: Logger;
  metrics: WorkerMetrics;
  handlers: readonly HandlerDefinition[];
  projections: readonly ProjectionDefinition[];
  options?: Partial<RunnerOptions>;
}

export interface SubscriptionRunner {
  readonly consumers: readonly GroupConsumer[];
  consumer(group: string): GroupConsumer | undefined;
  /** Refreshes parked counts and lag of every group now (they refresh periodically anyway). */
  refreshStats(): Promise<void>;
  /** Finishes what is in flight, then leaves every group. */
  stop(): Promise<void>;
  /** Leaves every group without acking what is in flight (a crash, for tests of failover). */
  abandon(): Promise<void>;
  /** Set when projections without a group caught up by reading $all at start. */
  readonly bootstrap: (BootstrapResult & { projections: string[] }) | undefined;
}

export async function startSubscriptionRunner(deps: SubscriptionRunnerDeps): Promise<SubscriptionRunner> {
  const options = { ...DEFAULT_RUNNER_OPTIONS, ...deps.options };
  const { client, store, logger, metrics } = deps;
  for (const projection of deps.projections) await store.migrate(projection.schema);
  for (const handler of deps.handlers) if (handler.schema) await store.migrate(handler.schema);

  // Before any group is joined: the new projection groups are created where the read ended.
  let bootstrap: SubscriptionRunner['bootstrap'];
  if (options.projectionBootstrap === 'read') {
    const missing = await projectionsWithoutGroup(client, deps.projections, options.groupPrefix);
    if (missing.length > 0) {
      const result = await bootstrapProjections(missing, { client, store, logger, metrics });
      bootstrap = { ...result, projections: missing.map((projection) => projection.name) };
    }
  }

  const retry = options.retry;
  const envelopes = cachedEnvelopes();
  const commits = sharedCommit(store);
  const specs = [
    ...deps.handlers.map((handler) =>
      handlerGroupSpec(handler, { client, store }, {
        timeoutMs: options.handlerTimeoutMs,
        maxInFlight: options.handlerMaxInFlight,
        retry,
        groupPrefix: options.groupPrefix,
        envelopes,
        commits,
      }),
    ),
    ...deps.projections.map((projection) => ({
      ...projectionGroupSpec(projection, store, {
        maxInFlight: options.projectionMaxInFlight,
        retry,
        groupPrefix: options.groupPrefix,
        envelopes,
        commits,
      }),
      ...(bootstrap?.position && bootstrap.projections.includes(projection.name) ? { startFrom: bootstrap.position } : {}),
    })),
  ];
  const server = { messageTimeoutMs: options.messageTimeoutMs, maxRetryCount: Math.max(1_000, retry.outOfOrderMaxRetries * 2) };
  const consumers = specs.map((spec) => new GroupConsumer(spec, { client, logger, metrics, server, statsIntervalMs: options.statsIntervalMs }));
  try {
    await Promise.all(consumers.map((consumer) => consumer.start()));
  } catch (error) {
    await Promise.all(consumers.map((consumer) => consumer.stop()));
    throw error;
  }
  logger.info({ groups: consumers.map((consumer) => consumer.group) }, 'subscription groups started');
  return {
    consumers,
    bootstrap,
    consumer: (group) => consumers.find((consumer) => consumer.group === group),
    refreshStats: async () => {
      await Promise.all(consumers.map((consumer) => consumer.refreshStats()));
    },
    stop: async () => {
      await Promise.all(consumers.map((consumer) => consumer.stop()));
    },
    abandon: async () => {
      await Promise.all(consumers.map((consumer) => consumer.abandon()));
    },
  };
}

async function projectionsWithoutGroup(client: EventStoreDBClient, projections: readonly ProjectionDefinition[], prefix: string): Promise<ProjectionDefinition[]> {
  const missing: ProjectionDefinition[] = [];
  for (const projection of projections) {
    try {
      await client.getPersistentSubscriptionToAllInfo(groupName('projection', projection.name, prefix));
    } catch (error) {
      if (!(error instanceof PersistentSubscriptionDoesNotExistError)) throw error;
      missing.push(projection);
    }
  }
  return missing;
}
