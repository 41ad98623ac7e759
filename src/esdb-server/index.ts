// The embedded EventStoreDB-compatible server. A separate product inside the repo: it imports
// nothing from the rest of src/, and the application starts it only through this file.
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
import { setFlowControlWindows, type FlowControlWindows } from './grpc/flow-control.js';
import { SubscriptionRegistry } from './persistent/subscription-registry.js';
import { createStoreHttpServer } from './http/http-server.js';
import { listenSharedPort, type SharedPort } from './http/shared-port.js';
import { createStoreMetrics } from './http/store-metrics.js';
import { AUTHENTICATION_CACHE_MS, basicAuthenticator, insecureAuthenticator, principalOf, withAuthentication, type Authenticator } from './auth/authenticate.js';
import { privateDirectory, privateFile, tightenFiles } from './auth/file-permissions.js';
import { keptConnectionString, loadStoreSecrets, securedConnectionString, type StoreSecrets } from './auth/tls.js';
import { openUserStore, type UserStore } from './auth/users.js';
import { storeAuthorizer } from './auth/acl.js';
import { createUsersService } from './grpc/users-service.js';
import { DEFAULT_ADMIN_LOGIN } from './auth/users.js';
import type { Principal } from './auth/principal.js';
import { listenLocalSocket, localSocketAuthenticator, localSocketSupported, reportingPeer, type LocalSocket } from './local-socket.js';

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
  /**
   * EventStoreDB's `--insecure`: no TLS and no authentication, every caller may do everything.
   * By default the store is secured as EventStoreDB is since v20: TLS (its own CA and node
   * certificate, made on first start) and credentials (the `admin` user, whose password is made on
   * first start and kept in the data directory).
   */
  insecure?: boolean;
  /** The `admin` password for a store made now (a data directory that has none yet, or memory); random unless given. */
  adminPassword?: string;
  /** HTTP/2 flow-control windows in bytes (grpc/flow-control.ts); larger than Node's 64 KB unless told. */
  flowControlWindows?: FlowControlWindows;
  /**
   * Also serve gRPC on a Unix socket private to this OS user, without TLS (local-socket.ts): for
   * the process that embeds the store. Ignored where there are no socket files (Windows).
   */
  localSocket?: boolean;
}

export interface EventStoreServer {
  /** What a client connects with: on a secured store TLS against the store's CA file, as `admin`. */
  connectionString: string;
  /** True when started with `insecure: true` (no TLS, no credentials). */
  insecure: boolean;
  /** Secured store: the `admin` password it was made with, the file keeping it (undefined in memory) and the CA certificate's file. */
  credentials: { login: string; password: string; passwordFile: string | undefined; caFile: string } | undefined;
  host: string;
  port: number;
  /** The UI in a browser (same port as gRPC); undefined when the HTTP side is off. */
  uiUrl: string | undefined;
  /** With `localSocket`: the gRPC target of the local socket (`unix:<path>`), for a client without TLS or credentials. */
  localEndpoint: string | undefined;
  close(): Promise<void>;
}

/**
 * How a client reaches the secured store kept in `dataDir` (run by this or another process) on
 * host:port: TLS against the store's CA file, as `admin`. Undefined when that directory holds no
 * credentials (no secured store was ever started there).
 */
export function connectionStringForDataDir(options: { dataDir: string; port: number; host?: string }): string | undefined {
  return keptConnectionString(resolve(options.dataDir), options.host ?? '127.0.0.1', options.port);
}

/** EventStoreDB's default MaxAppendSize: 1 MiB per append (data, metadata and event types). */
export { DEFAULT_FLOW_CONTROL_WINDOWS, NODE_DEFAULT_FLOW_CONTROL_WINDOWS, type FlowControlWindows } from './grpc/flow-control.js';

export const DEFAULT_MAX_APPEND_SIZE = 1_048_576;

export async function startEventStoreServer(options: EventStoreServerOptions): Promise<EventStoreServer> {
  const host = options.host ?? '127.0.0.1';
  if (!options.memory && !options.dataDir) throw new Error('startEventStoreServer needs dataDir or memory: true');
  const maxAppendSize = options.maxAppendSize ?? DEFAULT_MAX_APPEND_SIZE;
  if (!Number.isSafeInteger(maxAppendSize) || maxAppendSize <= 0) throw new Error(`maxAppendSize must be a positive integer, got ${maxAppendSize}`);
  let file = ':memory:';
  const dataDir = !options.memory && options.dataDir ? resolve(options.dataDir) : undefined;
  if (dataDir) {
    // The owner's alone: a 0700 directory, and the database made 0600 before SQLite opens it (its
    // -wal and -shm take its mode).
    privateDirectory(dataDir);
    file = join(dataDir, 'eventstore.db');
    privateFile(file);
  }
  const log = openSqliteEventLog({ file });
  if (dataDir) tightenFiles(dataDir, 'eventstore');
  const insecure = options.insecure === true;
  let secrets: StoreSecrets | undefined;
  let authenticator: Authenticator;
  let users: UserStore | undefined;
  try {
    if (insecure) authenticator = insecureAuthenticator();
    else {
      // Under the data directory's lock (taken by the log): two starts never make two CAs.
      secrets = await loadStoreSecrets({ dataDir, host, adminPassword: options.adminPassword });
      users = await openUserStore(log, { adminPassword: secrets.adminPassword });
      authenticator = basicAuthenticator(users);
    }
  } catch (err) {
    secrets?.dispose();
    await log.close();
    throw err;
  }

  // Who may do what (users, groups, stream ACLs: auth/acl.ts); nothing is checked on an insecure store.
  const authorization = users ? { authorizer: storeAuthorizer(log, users), principalOf } : undefined;
  const context: ServerContext = { log, host, port: 0, maxAppendSize, instanceId: randomUUID(), authorization };
  // The persistent groups' own reads and writes are not client traffic: only the Streams
  // service sees the counting log.
  const groups = new SubscriptionRegistry(log);
  const metrics = createStoreMetrics({ log, groups });
  const gossip = createGossipService(context);
  const modules: ServiceModule[] = [
    createStreamsService({ ...context, log: metrics.instrument(log) }),
    createPersistentSubscriptionsService(context, groups),
    gossip,
  ];
  modules.push(await startProjections(log, {}, authorization));
  if (users) modules.push(createUsersService(users, authorization));
  const features = createServerFeaturesService(modules);
  modules.push(features);
  // Every call is authenticated first; anonymous callers only learn the server's features and
  // gossip, as on EventStoreDB (the client asks those before anything else).
  const openToAnonymous = new Set([gossip, features]);
  const grpcServer = (callers: Authenticator, peer?: () => string) => {
    const server = new grpc.Server({
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.http2.min_ping_interval_without_data_ms': 1_000,
    });
    for (const module of modules) {
      const authenticated = withAuthentication(module, callers, { anonymous: openToAnonymous.has(module) });
      const secured = peer ? reportingPeer(authenticated, peer) : authenticated;
      server.addService(secured.definition, secured.implementation);
    }
    const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    setFlowControlWindows(server, options.flowControlWindows);
    return { server, injector };
  };
  const { server, injector } = grpcServer(authenticator);
  // The same services on the local socket, for the embedding process: its own grpc-js server, so
  // that a call's connection says which authentication applies.
  let localPeer = 'unix socket';
  const local =
    options.localSocket && localSocketSupported()
      ? grpcServer(localSocketAuthenticator(authenticator, users ? adminPrincipal(users) : () => undefined), () => localPeer)
      : undefined;

  // One listener for both protocols, as EventStoreDB on 2113 (see http/shared-port.ts).
  const startedAt = Date.now();
  const httpContext = { log, groups, metrics, host, port: 0, instanceId: context.instanceId, startedAt, version: SERVER_VERSION, authenticator, authorizer: authorization?.authorizer };
  const http = options.http === false ? undefined : createStoreHttpServer(httpContext);
  let shared: SharedPort;
  let localSocket: LocalSocket | undefined;
  try {
    shared = await listenSharedPort({ host, port: options.port ?? 0, grpc: injector, http, tls: secrets?.node });
    // The socket only saves the embedding process its TLS: where it cannot be made (its path
    // taken by a file that is no socket, say), that process connects on the port as others do.
    if (local) localSocket = await listenLocalSocket(dataDir, local.injector).catch(() => undefined);
    if (localSocket) localPeer = localSocket.endpoint;
  } catch (err) {
    for (const module of modules) await module.close?.();
    injector.destroy();
    local?.injector.destroy();
    metrics.close();
    await log.close();
    secrets?.dispose();
    throw err;
  }
  if (dataDir) tightenFiles(dataDir, 'eventstore');
  const port = shared.port;
  context.port = port;
  httpContext.port = port;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  let closed: Promise<void> | undefined;
  return {
    connectionString: secrets ? securedConnectionString(host, port, secrets) : `esdb://${host}:${port}?tls=false`,
    insecure,
    credentials: secrets ? { login: 'admin', password: secrets.adminPassword, passwordFile: secrets.adminPasswordFile, caFile: secrets.caFile } : undefined,
    host,
    port,
    uiUrl: http ? `http://${urlHost}:${port}/` : undefined,
    localEndpoint: localSocket?.endpoint,
    close() {
      closed ??= (async () => {
        for (const module of modules) await module.close?.();
        await Promise.all([server, ...(local ? [local.server] : [])].map((each) => shutDown(each)));
        injector.destroy();
        local?.injector.destroy();
        await localSocket?.close();
        await shared.close();
        metrics.close();
        await log.close();
        secrets?.dispose();
      })();
      return closed;
    },
  };
}

/** Lets the calls in flight finish, for up to 2 s. */
function shutDown(server: grpc.Server): Promise<void> {
  return new Promise<void>((ok) => {
    const timer = setTimeout(() => server.forceShutdown(), 2_000);
    server.tryShutdown(() => {
      clearTimeout(timer);
      ok();
    });
  });
}

/** The `admin` user's principal while it exists and is enabled, looked up at most once a second. */
function adminPrincipal(users: UserStore): () => Principal | undefined {
  let cached: { principal: Principal | undefined; until: number } | undefined;
  return () => {
    if (cached && cached.until > Date.now()) return cached.principal;
    const admin = users.details(DEFAULT_ADMIN_LOGIN);
    const principal = admin && !admin.disabled ? Object.freeze({ login: admin.login, groups: Object.freeze([...admin.groups]) }) : undefined;
    cached = { principal, until: Date.now() + AUTHENTICATION_CACHE_MS };
    return principal;
  };
}
