// The composition root: config -> event store (embedded unless ESDB_CONNECTION_STRING) ->
// client -> API and workers, by ROLE. Nothing else in src/ wires things together.
import type { FastifyInstance } from 'fastify';
import { build } from './api/app.js';
import { acceptListenerCount, addAcceptListeners, mainListenOptions } from './api/accept-listeners.js';
import { ConfigError, type Config } from './config.js';
import { connectEmbeddedEventStore, connectEventStore, withoutPassword, type EventStoreDBClient } from './eventstore/connection.js';
import { OrderStateCache } from './eventstore/order-state-cache.js';
import { startEmbeddedEventStore, type EmbeddedEventStore } from './eventstore/embedded-store-thread.js';
import { createLogger, type Logger } from './observability/logger.js';
import { registry } from './observability/metrics.js';
import { startTracing } from './observability/tracing.js';
import { idleGcEnabled, startIdleGc } from './observability/idle-gc.js';
import { limitHeapGrowth } from './observability/heap-growth.js';
import { startWorkers, type RunningWorkers } from './workers.js';
import { openServiceReadModels } from './readmodels/read-model-health.js';
import { projections } from '../projections/index.js';

export interface RunningService {
  /** Base URL of the API; undefined when ROLE=workers. */
  url: string | undefined;
  connectionString: string;
  /** Set when the embedded store runs in this process (on its own thread). */
  eventStore: EmbeddedEventStore | undefined;
  client: EventStoreDBClient;
  logger: Logger;
  /**
   * Stops taking requests and events, lets what is in flight finish for up to `graceMs`
   * (unbounded when omitted), leaves the subscription groups (what did not finish is
   * redelivered by the store), then closes the store. Resolves true when everything finished.
   */
  close(graceMs?: number): Promise<boolean>;
}

export async function startService(config: Config, logger: Logger = createLogger({ level: config.logLevel })): Promise<RunningService> {
  const runsApi = config.role === 'api' || config.role === 'all';
  const runsWorkers = config.role === 'workers' || config.role === 'all';
  if (runsApi && config.apiKeys.size === 0) throw new ConfigError('invalid configuration: API_KEYS is empty, so no caller could use the API');

  // Stopping happens in two phases: first the API and the workers drain in parallel (bounded by
  // the grace period), then the rest is released in reverse order of start.
  let api: FastifyInstance | undefined;
  let workers: RunningWorkers | undefined;
  const closers: Array<() => Promise<void>> = [];
  const release = async () => {
    for (const closer of closers.reverse()) await closer().catch((error: unknown) => logger.error({ err: error }, 'shutdown step failed'));
  };
  const close = async (graceMs = Number.POSITIVE_INFINITY): Promise<boolean> => {
    const drain = Promise.all([api?.close(), workers?.stop()]).then(
      () => true,
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown step failed');
        return true;
      },
    );
    let timer: NodeJS.Timeout | undefined;
    const drained = Number.isFinite(graceMs) ? await Promise.race([drain, new Promise<false>((resolve) => (timer = setTimeout(resolve, graceMs, false)))]) : await drain;
    clearTimeout(timer);
    if (!drained) {
      logger.warn({ graceMs, busyGroups: workers?.busyGroups() ?? [] }, 'grace period over with work in flight: leaving it unacknowledged, the event store redelivers it');
      await workers?.abandon();
    }
    await release();
    return drained;
  };
  try {
    // First started, last stopped: the spans of the shutdown itself are sent too.
    const tracing = startTracing();
    if (tracing) {
      closers.push(() => tracing.shutdown());
      logger.info(tracing.settings, 'tracing on: exporting spans');
    }
    // Each heap's old generation kept near its live size (heap-growth.ts), and what a busy spell
    // left in this thread's heap collected once it goes idle (idle-gc.ts).
    limitHeapGrowth(config.heapGrowingPercent);
    if (idleGcEnabled()) {
      const idleGc = startIdleGc({ onCollect: (figures) => logger.debug({ ...figures, thread: 'main' }, 'idle: full garbage collection') });
      closers.push(async () => idleGc.stop());
    }
    let eventStore: EmbeddedEventStore | undefined;
    let connectionString = config.esdbConnectionString;
    if (!connectionString) {
      // Secured unless EVENTSTORE_INSECURE: the connection string it hands back carries TLS and credentials.
      // This process talks to it on its local socket (no TLS between two of its own threads);
      // everyone else on the port.
      eventStore = await startEmbeddedEventStore({ port: config.eventStorePort, host: config.eventStoreHost, dataDir: config.dataDir, insecure: config.eventStoreInsecure, localSocket: true }, (error) =>
        logger.fatal({ err: error }, 'embedded event store crashed'),
      );
      closers.push(() => eventStore!.close());
      connectionString = eventStore.connectionString;
      logger.info({ connectionString: withoutPassword(connectionString), dataDir: config.dataDir, secured: !config.eventStoreInsecure }, 'embedded event store started');
    }
    const client = eventStore?.localEndpoint ? connectEmbeddedEventStore(eventStore.localEndpoint) : connectEventStore(connectionString);
    closers.push(() => client.dispose());

    let url: string | undefined;
    if (runsApi) {
      // The query routes read the models the workers (here or in other processes) write.
      // Watched: a deleted or corrupt file makes /ready and the query routes say so (read-model-health.ts).
      const readModels = await openServiceReadModels(
        { dataDir: config.dataDir, readModelUrl: config.readModelUrl },
        { logger, projections: projections.map((p) => p.name) },
      );
      closers.push(() => readModels.close());
      const app = await build({
        client,
        apiKeys: config.apiKeys,
        logger,
        bodyLimitBytes: config.bodyLimitBytes,
        cache: new OrderStateCache(),
        rateLimitPerMinute: config.rateLimitPerMinute,
        overload: config.overload,
        requestTimeoutMs: config.http.requestTimeoutMs,
        readModels,
      });
      api = app;
      // A deep backlog: a burst of new clients waits to be accepted instead of being dropped.
      // Several listeners on the port, each accepting one connection per iteration: accept-listeners.ts.
      const listeners = acceptListenerCount(config.http.acceptListeners);
      await app.listen({ port: config.port, host: config.host, backlog: config.http.listenBacklog, ...mainListenOptions(listeners) });
      await addAcceptListeners(app.server, { count: listeners, host: config.host, backlog: config.http.listenBacklog, onFallback: (reason) => logger.warn(reason) });
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    }

    if (runsWorkers) {
      // A workers-only process has no API: its /metrics goes on PORT instead.
      workers = await startWorkers({
        client,
        logger,
        registry,
        dataDir: config.dataDir,
        readModelUrl: config.readModelUrl,
        ...(runsApi ? {} : { metricsPort: config.port, metricsHost: config.host }),
      });
    }

    return { url, connectionString, eventStore, client, logger, close };
  } catch (error) {
    await close();
    throw error;
  }
}
