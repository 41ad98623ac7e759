// `orders serve` (what `npm start` runs): the API and workers on the embedded event store, or
// on the EventStoreDB named by ESDB_CONNECTION_STRING.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { startService, type RunningService } from '../main.js';
import { withoutPassword } from '../eventstore/connection.js';
import { CliError } from './cli-error.js';
import { guardClientRejections } from '../eventstore/client-rejections.js';

const HELP = `Usage: orders serve [--role api|workers|all]

Runs the order API and/or the workers (handlers and projections). --role overrides ROLE:
several 'workers' processes share the same persistent subscription groups.
Configured by environment:
  PORT (3000), HOST (127.0.0.1), EVENTSTORE_PORT (2113), DATA_DIR (./data),
  EVENTSTORE_INSECURE (false: the embedded store serves TLS and asks for credentials),
  ESDB_CONNECTION_STRING (unset: start the embedded event store),
  API_KEYS (<key>:<tenantId>,...; unset on the embedded store: a development key is created),
  LOG_LEVEL (info), ROLE (all | api | workers), BODY_LIMIT_BYTES (65536),
  SHUTDOWN_GRACE_MS (8000: on SIGTERM/SIGINT, how long in-flight work may take; a second
  signal exits at once). The README lists every variable.`;

export const DEV_TENANT = 'dev';

export async function run(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(HELP);
    return 0;
  }
  const role = roleFrom(args);
  // Whatever the service writes (read models, the dev key, the store's files) is its owner's alone.
  process.umask(0o077);

  let config: Config;
  try {
    config = loadConfig(role ? { ...process.env, ROLE: role } : process.env);
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message, 2);
    throw error;
  }
  let devKey: string | undefined;
  if (config.apiKeys.size === 0 && !config.esdbConnectionString && config.role !== 'workers') {
    devKey = developmentKey(config.dataDir);
    config = { ...config, apiKeys: new Map([[devKey, DEV_TENANT]]) };
  }

  // Listened for before starting: the API answers while the workers are still joining their
  // groups, and a SIGTERM then must stop the service cleanly, not end it by Node's default.
  const signalled = new Promise<NodeJS.Signals>((done) => {
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });

  const service = await startService(config).catch((error: unknown) => {
    if (error instanceof ConfigError) throw new CliError(error.message, 2);
    throw new CliError(`could not start: ${startFailure(error, config)}`);
  });

  // The client leaves some of its own stream errors unhandled (see client-rejections.ts).
  guardClientRejections(service.logger);

  const store = service.eventStore ? `embedded event store ${withoutPassword(service.connectionString)} (data in ${resolve(config.dataDir)})` : `EventStoreDB ${withoutPassword(service.connectionString)}`;
  console.log(`order-store ${service.url ? `listening on ${service.url}` : 'running workers'} with ${store}`);
  if (service.url) console.log(`API docs: ${service.url}/docs`);
  if (service.eventStore?.uiUrl) console.log(`event store UI (streams, traces, subscriptions): ${service.eventStore.uiUrl}`);
  const credentials = service.eventStore?.credentials;
  if (credentials) console.log(`event store login: user '${credentials.login}', password ${credentials.password}${credentials.passwordFile ? ` (kept in ${credentials.passwordFile})` : ''}`);
  else if (service.eventStore) console.log('event store: INSECURE (EVENTSTORE_INSECURE): no TLS and no credentials, anyone who reaches its port can read and change everything');
  if (devKey) console.log(`development API key (tenant '${DEV_TENANT}'): ${devKey}\n  curl -H 'Authorization: Bearer ${devKey}' ${service.url}/orders/<orderId>`);

  return stop(service, await signalled, config.shutdownGraceMs);
}

/** Past the grace period, this long for closing the store before the process exits regardless. */
const RELEASE_MS = 1_500;

/**
 * A bounded stop: in-flight requests and handler calls get `graceMs`, then the process exits,
 * every time (exit code 1 when work was cut short); a second signal exits at once. Everything a
 * caller was told succeeded is already durable in the store, so cutting work short loses nothing
 * acknowledged: unacknowledged events are redelivered by the store after the restart.
 */
async function stop(service: RunningService, signal: NodeJS.Signals, graceMs: number): Promise<never> {
  const { logger } = service;
  logger.info({ signal, graceMs }, 'shutting down: finishing in-flight requests and events');
  const now = (second: NodeJS.Signals) => {
    logger.warn({ signal: second }, 'second signal: exiting now');
    process.exit(128 + (second === 'SIGINT' ? 2 : 15));
  };
  process.on('SIGINT', now);
  process.on('SIGTERM', now);
  const hardStop = setTimeout(() => {
    logger.error({ graceMs }, 'shutdown did not finish in time: exiting');
    process.exit(1);
  }, graceMs + RELEASE_MS);
  hardStop.unref();
  const finished = await service.close(graceMs);
  logger.info({ finished }, 'stopped');
  // Exit even if a library left a handle open: a stop that hangs is the failure being avoided.
  process.exit(finished ? 0 : 1);
}

/** Why the service did not start, in the CLI's words: a port in use names its variable. */
function startFailure(error: unknown, config: Config): string {
  const message = error instanceof Error ? error.message : String(error);
  const inUse = /EADDRINUSE[^\d[]*(\[?[\w.:]*?\]?):(\d+)/.exec(message);
  if (!inUse) return message;
  const port = Number(inUse[2]);
  const variable = port === config.port ? 'PORT' : port === config.eventStorePort ? 'EVENTSTORE_PORT' : undefined;
  const what = variable === 'EVENTSTORE_PORT' ? 'the embedded event store' : variable === 'PORT' ? (config.role === 'workers' ? 'the workers\' /metrics, /health and /ready' : 'the API') : 'a listener';
  return `${what} cannot listen on ${inUse[1]}:${port}: the port is already in use${variable ? ` (set ${variable} to a free port)` : ''}`;
}

/** The development key lives in the data dir, so it stays the same across restarts. */
function developmentKey(dataDir: string): string {
  const file = join(dataDir, 'dev-api-key');
  try {
    const stored = readFileSync(file, 'utf8').trim();
    if (stored) return stored;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new CliError(`cannot read ${file}: ${(error as Error).message}`);
  }
  const key = `dev_${randomBytes(24).toString('base64url')}`;
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return key;
}

/** `--role X` / `--role=X`; the value is validated with the rest of the configuration. */
function roleFrom(args: string[]): string | undefined {
  const [first, second, ...rest] = args;
  if (first === undefined) return undefined;
  const inline = first.startsWith('--role=') ? first.slice('--role='.length) : undefined;
  if (first === '--role' && second !== undefined && rest.length === 0) return second;
  if (inline !== undefined && second === undefined) return inline;
  throw new CliError(`serve takes only --role api|workers|all (got '${args.join(' ')}'); configure the rest by environment`, 2);
}
