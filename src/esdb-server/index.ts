// The embedded EventStoreDB-compatible server. A separate product inside the repo: it imports
// nothing from the rest of src/, and the application starts it only through this file.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { openSqliteEventLog } from './log/sqlite-event-log.js';
import type { ServerContext, ServiceModule } from './grpc/service-module.js';
import { createStreamsService } from './grpc/streams-service.js';
import { createPersistentSubscriptionsService } from './persistent/persistent-service.js';
import { createGossipService } from './grpc/gossip-service.js';
import { createServerFeaturesService } from './grpc/server-features-service.js';

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
}

export interface EventStoreServer {
  connectionString: string;
  host: string;
  port: number;
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
  let port: number;
  try {
    port = await new Promise<number>((ok, fail) =>
      server.bindAsync(`${host}:${options.port ?? 0}`, grpc.ServerCredentials.createInsecure(), (err, bound) =>
        err ? fail(err) : ok(bound),
      ),
    );
  } catch (err) {
    await log.close();
    throw err;
  }

  const context: ServerContext = { log, host, port, maxAppendSize };
  const modules: ServiceModule[] = [
    createStreamsService(context),
    createPersistentSubscriptionsService(context),
    createGossipService(context),
  ];
  modules.push(createServerFeaturesService(modules));
  for (const module of modules) server.addService(module.definition, module.implementation);

  let closed: Promise<void> | undefined;
  return {
    connectionString: `esdb://${host}:${port}?tls=false`,
    host,
    port,
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
        await log.close();
      })();
      return closed;
    },
  };
}
