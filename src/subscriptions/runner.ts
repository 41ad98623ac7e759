// The subscription runner: one persistent subscription group per handler, each with its own
// consumer, so one handler's failures or slowness never hold up another, and one group shared by
// every projection (projections-group.ts: each event delivered once for all of them, each
// projection with its own revisions and parked events). Their writes to the read-model store
// share one commit per turn of the event loop.
import type { EventStoreDBClient } from '@eventstore/db-client';
import type { Logger } from 'pino';
import type { WorkerMetrics } from '../observability/worker-metrics.js';
import type { ProjectionDefinition } from '../readmodels/projection.js';
import type { ReadModelStore } from '../readmodels/read-model-store.js';
import { GroupConsumer } from './group-consumer.js';
import { handlerGroupSpec } from './handler-group.js';
import type { HandlerDefinition, HandlerNotices } from './handler.js';
import type { EventEnvelope } from '../readmodels/event-envelope.js';
import { cachedEnvelopes } from '../readmodels/envelope-cache.js';
import type { BootstrapResult } from './projection-bootstrap.js';
import { deleteOldGroups, planProjectionsGroup } from './projection-migration.js';
import { projectionParkedCounts } from './projection-parking.js';
import { projectionsGroupSpec } from './projections-group.js';
import { sharedCommit } from './shared-commit.js';
import { groupName } from './group-settings.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry-policy.js';
import type { IntakeGate } from './intake-gate.js';

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
  /** The gate its groups obey (intake-gate.ts): this process's `workerIntake` unless given. */
  intake?: IntakeGate;
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

  // Before any group is joined: where the shared projections group starts, the catch-up by
  // reading of projections new to it, the move from the old per-projection groups.
  const plan =
    deps.projections.length > 0
      ? await planProjectionsGroup({ client, store, logger, metrics, projections: deps.projections, prefix: options.groupPrefix, bootstrapMode: options.projectionBootstrap })
      : undefined;
  const bootstrap = plan?.bootstrap;

  const retry = options.retry;
  const envelopes = cachedEnvelopes(undefined, undefined, noticesOf(deps.handlers, logger));
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
    ...(plan
      ? [
          {
            ...projectionsGroupSpec(deps.projections, store, {
              maxInFlight: options.projectionMaxInFlight,
              retry,
              groupPrefix: options.groupPrefix,
              envelopes,
              commits,
              metrics,
            }),
            ...(typeof plan.startFrom === 'object' ? { startFrom: plan.startFrom } : {}),
          },
        ]
      : []),
  ];
  const server = { messageTimeoutMs: options.messageTimeoutMs, maxRetryCount: Math.max(1_000, retry.outOfOrderMaxRetries * 2) };
  const consumers = specs.map((spec) => new GroupConsumer(spec, { client, logger, metrics, server, statsIntervalMs: options.statsIntervalMs, ...(deps.intake ? { intake: deps.intake } : {}) }));
  try {
    await Promise.all(consumers.map((consumer) => consumer.start()));
  } catch (error) {
    await Promise.all(consumers.map((consumer) => consumer.stop()));
    throw error;
  }
  logger.info({ groups: consumers.map((consumer) => consumer.group) }, 'subscription groups started');
  if (plan && plan.oldGroups.length > 0) {
    await deleteOldGroups(client, plan.oldGroups, logger).catch((error: unknown) => logger.warn({ err: error, groups: plan.oldGroups }, 'could not delete the old projection groups; they are deleted at the next start'));
  }
  // Projections park in the read-model store: their parked counts come from there.
  const refreshParked = async () => {
    if (!plan) return;
    try {
      const counts = await projectionParkedCounts(store);
      for (const projection of deps.projections) {
        metrics.parked.set({ group: groupName('projection', projection.name, options.groupPrefix) }, counts.get(projection.name) ?? 0);
      }
    } catch (error) {
      logger.debug({ err: error }, 'could not count the projections\' parked events');
    }
  };
  await refreshParked();
  const parkedTimer = setInterval(() => void refreshParked(), options.statsIntervalMs);
  parkedTimer.unref();
  return {
    consumers,
    bootstrap,
    consumer: (group) => consumers.find((consumer) => consumer.group === group),
    refreshStats: async () => {
      await refreshParked();
      await Promise.all(consumers.map((consumer) => consumer.refreshStats()));
    },
    stop: async () => {
      clearInterval(parkedTimer);
      await Promise.all(consumers.map((consumer) => consumer.stop()));
    },
    abandon: async () => {
      clearInterval(parkedTimer);
      await Promise.all(consumers.map((consumer) => consumer.abandon()));
    },
  };
}

/** The handlers' notices (handler.ts) as one look at each parsed envelope; undefined when none asks. */
function noticesOf(handlers: readonly HandlerDefinition[], logger: Logger): ((envelope: EventEnvelope) => void) | undefined {
  const byType = new Map<string, HandlerNotices[]>();
  for (const { notices } of handlers) {
    if (!notices) continue;
    for (const type of notices.types) byType.set(type, [...(byType.get(type) ?? []), notices]);
  }
  if (byType.size === 0) return undefined;
  return (envelope) => {
    for (const notices of byType.get(envelope.type) ?? []) {
      try {
        notices.note(envelope);
      } catch (error) {
        // A note is an optimization: the handler reads what it lacks.
        logger.warn({ err: error, eventId: envelope.id }, 'a handler could not take note of an event');
      }
    }
  };
}
