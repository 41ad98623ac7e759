// Starts the workers: every handler in a persistent subscription group of its own, and the
// projections (analytics among them) in one group they share, writing to the read-model database
// under the data directory. The composition root calls it when ROLE is workers or all; several
// worker processes compete for the same groups.
import type { EventStoreDBClient } from '@eventstore/db-client';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { projections } from '../projections/index.js';
import { loadHandlerConfig } from './handlers/handler-config.js';
import { createHandlers } from './handlers/index.js';
import type { WhatsAppSender } from './handlers/whatsapp-cloud-api.js';
import { notReadyReason } from './observability/readiness.js';
import { openServiceReadModels, readModelHealthOf } from './readmodels/read-model-health.js';
import { startMetricsServer } from './observability/metrics-server.js';
import { workerMetrics } from './observability/worker-metrics.js';
import type { ReadModelStore } from './readmodels/read-model-store.js';
import type { HandlerDefinition } from './subscriptions/handler.js';
import { loadRunnerOptions } from './subscriptions/runner-config.js';
import { startSubscriptionRunner, type RunnerOptions, type SubscriptionRunner } from './subscriptions/runner.js';
import type { ProjectionDefinition } from './readmodels/projection.js';

export interface WorkersOptions {
  client: EventStoreDBClient;
  logger: Logger;
  registry: Registry;
  /** The read models go to `<dataDir>/readmodels.db` unless `store` is given. */
  dataDir?: string;
  store?: ReadModelStore;
  /** postgres://...: the read models are there instead of under dataDir (READ_MODEL_URL). */
  readModelUrl?: string | undefined;
  env?: NodeJS.ProcessEnv;
  runner?: Partial<RunnerOptions>;
  /** Replace the shipped handlers / projections (tests). */
  handlers?: readonly HandlerDefinition[];
  projections?: readonly ProjectionDefinition[];
  whatsappSender?: WhatsAppSender;
  /** Serve `GET /metrics` on this port (for ROLE=workers, which has no API); 0 picks one. */
  metricsPort?: number;
  metricsHost?: string;
}

export interface RunningWorkers {
  store: ReadModelStore;
  runner: SubscriptionRunner;
  /** Set when `metricsPort` was given. */
  metricsPort: number | undefined;
  /** Finishes what is in flight (acking it), then leaves every group. */
  stop(): Promise<void>;
  /** Leaves every group at once, acking nothing more: for a stop whose grace period ran out. */
  abandon(): Promise<void>;
  /** Groups with events in flight now. */
  busyGroups(): string[];
}

export async function startWorkers(options: WorkersOptions): Promise<RunningWorkers> {
  const env = options.env ?? process.env;
  if (!options.store && !options.dataDir && !options.readModelUrl) throw new Error('startWorkers needs dataDir, readModelUrl or store');
  const ownStore = options.store
    ? undefined
    : await openServiceReadModels(
        { dataDir: options.dataDir ?? '.', readModelUrl: options.readModelUrl },
        { logger: options.logger, projections: (options.projections ?? projections).map((projection) => projection.name) },
      );
  const store = options.store ?? ownStore!;
  try {
    // A damaged read model at start: nothing can be projected until `orders replay` rebuilt it
    // (the API meanwhile answers /ready and its queries with the reason); then the groups start.
    if (ownStore?.health.fault) {
      options.logger.warn({ readModels: ownStore.location }, 'workers wait for the read model to be rebuilt before joining their groups');
      await ownStore.health.whenHealthy();
    }
    const handlers =
      options.handlers ?? createHandlers(loadHandlerConfig(env), options.whatsappSender ? { whatsappSender: options.whatsappSender } : {});
    const runner = await startSubscriptionRunner({
      client: options.client,
      store,
      logger: options.logger.child({ component: 'workers' }),
      metrics: workerMetrics(options.registry),
      handlers,
      projections: options.projections ?? projections,
      options: { ...loadRunnerOptions(env), ...options.runner },
    });
    const metricsPort = options.metricsPort;
    const metricsServer =
      metricsPort !== undefined
        ? await startMetricsServer(options.registry, {
            port: metricsPort,
            host: options.metricsHost ?? '127.0.0.1',
            isReady: async () => (await notReadyReason(options.client, readModelHealthOf(store.location))) ?? true,
          }).catch(async (error: unknown) => {
            await runner.stop();
            throw error;
          })
        : undefined;
    return {
      store,
      runner,
      metricsPort: metricsServer?.port,
      async stop() {
        await runner.stop();
        await metricsServer?.close();
        await ownStore?.close();
      },
      async abandon() {
        await runner.abandon();
        await metricsServer?.close();
        await ownStore?.close();
      },
      busyGroups: () => runner.consumers.filter((consumer) => consumer.inFlight > 0).map((consumer) => consumer.group),
    };
  } catch (error) {
    await ownStore?.close();
    throw error;
  }
}
