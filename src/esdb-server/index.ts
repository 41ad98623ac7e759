// The embedded EventStoreDB-compatible server. A separate product inside the repo: it imports
// nothing from the rest of src/, and the application starts it only through this file.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { openSqliteEventLog } from './log/sqlite-event-log.js';
import type { ServerContext, ServiceModule } from './grpc/service-module.js';
import { createStreamsService } from './grpc/streams-service.js';
import { createPersistentSubscriptionsService } from './persistent/persistent-service.js';
import { createGossipService } from './grpc/gossip-service.js';
import { startProjections } from './projections/index.js';
import { createServerFeaturesService, SERVER_VERSION } from './grpc/server-features-service.js';
import { SubscriptionRegistry } from './persistent/subscription-registry.js';
import { createStoreHttpServer } from './http/http-server.js';
import { listenSharedPort, type SharedPort } from './http/shared-port.js';
import { createStoreMetrics } from './http/store-metrics.js';

export interface EventStoreServerOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Interface to listen on; 127.0.0.1 unless told otherwise. */
  host?: string;
  /** Folder for the SQLite files; required unless memory is true. */
  dataDir?: string;
  /** Keep everything in memory: a throw-away store. */
  memory?: boolean;
  /** Largest append in bytes (as EventStoreDB counts it); DEFAULT_MAX_APPEND_SIZE unless told. */
  maxAppendSize?: number;
  /** Serve EventStoreDB's HTTP endpoints and the UI on the same port as gRPC (the default); false: gRPC only. */
  http?: boolean;
}

export interface EventStoreServer {
  connectionString: string;
  host: string;
  port: number;
  /** The UI in a browser (same port as gRPC); undefined when the HTTP side is off. */
  uiUrl: string | undefined;
  close(): Promise<void>;
}

/** EventStoreDB's default MaxAppendSize: 1 MiB per append (data, metadata and event types). */
export const DEFAULT_MAX_APPEND_SIZE = 1_048_576;

export async function startEventStoreServer(options: EventStoreServerOptions): Promise<EventStoreServer> {
  const host = options.host ?? '127.0.0.1';
  if (!options.memory && !options.dataDir) throw new Error('startEventStoreServer needs dataDir or memory: true');
  const maxAppendSize = options.maxAppendSize ?? DEFAULT_MAX_APPEND_SIZE;
  if (!Number.isSafeInteger(maxAppendSize) || maxAppendSize <= 0) throw new Error(`maxAppendSize must be a positive integer, got ${maxAppendSize}`);
  let file = ':memory:';
  if (!options.memory && options.dataDir) {
    mkdirSync(resolve(options.dataDir), { recursive: true });
    file = join(resolve(options.dataDir), 'eventstore.db');
  }
  const log = openSqliteEventLog({ file });

  const server = new grpc.Server({
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 1_000,
  });
  const context: ServerContext = { log, host, port: 0, maxAppendSize, instanceId: randomUUID() };
  // The persistent groups' own reads and writes are not client traffic: only the Streams
  // service sees the counting log.
  const groups = new SubscriptionRegistry(log);
  const metrics = createStoreMetrics({ log, groups });
  const modules: ServiceModule[] = [
    createStreamsService({ ...context, log: metrics.instrument(log) }),
    createPersistentSubscriptionsService(context, groups),
    createGossipService(context),
  ];
  modules.push(await startProjections(log));
  modules.push(createServerFeaturesService(modules));
  for (const module of modules) server.addService(module.definition, module.implementation);

  // One listener for both protocols, as EventStoreDB on 2113 (see http/shared-port.ts).
  const startedAt = Date.now();
  const httpContext = { log, groups, metrics, host, port: 0, instanceId: context.instanceId, startedAt, version: SERVER_VERSION };
  const http = options.http === false ? undefined : createStoreHttpServer(httpContext);
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  let shared: SharedPort;
  try {
    shared = await listenSharedPort({ host, port: options.port ?? 0, grpc: injector, http });
  } catch (err) {
    for (const module of modules) await module.close?.();
    injector.destroy();
    metrics.close();
    await log.close();
    throw err;
  }
  const port = shared.port;
  context.port = port;
  httpContext.port = port;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  let closed: Promise<void> | undefined;
  return {
    connectionString: `esdb://${host}:${port}?tls=false`,
    host,
    port,
    uiUrl: http ? `http://${urlHost}:${port}/` : undefined,
    close() {
      closed ??= (async () => {
        for (const module of modules) await module.close?.();
        await new Promise<void>((ok) => {
          const timer = setTimeout(() => server.forceShutdown(), 2_000);
          server.tryShutdown(() => {
            clearTimeout(timer);
            ok();
          });
        });
        injector.destroy();
        await shared.close();
        metrics.close();
        await log.close();
      })();
      return closed;
    },
  };
}
