// `orders serve` (what `npm start` runs): the API and workers on the embedded event store, or
// on the EventStoreDB named by ESDB_CONNECTION_STRING.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { startService } from '../main.js';
import { CliError } from './cli-error.js';

const HELP = `Usage: orders serve [--role api|workers|all]

Runs the order API and/or the workers (handlers and projections). --role overrides ROLE:
several 'workers' processes share the same persistent subscription groups.
Configured by environment:
  PORT (3000), HOST (127.0.0.1), EVENTSTORE_PORT (2113), DATA_DIR (./data),
  ESDB_CONNECTION_STRING (unset: start the embedded event store),
  API_KEYS (<key>:<tenantId>,...; unset on the embedded store: a development key is created),
  LOG_LEVEL (info), ROLE (all | api | workers), BODY_LIMIT_BYTES (65536)`;

export const DEV_TENANT = 'dev';

export async function run(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(HELP);
    return 0;
  }
  const role = roleFrom(args);

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

  const service = await startService(config).catch((error: unknown) => {
    if (error instanceof ConfigError) throw new CliError(error.message, 2);
    throw new CliError(`could not start: ${error instanceof Error ? error.message : String(error)}`);
  });

  const store = service.eventStore ? `embedded event store ${service.connectionString} (data in ${resolve(config.dataDir)})` : `EventStoreDB ${service.connectionString}`;
  console.log(`order-store ${service.url ? `listening on ${service.url}` : 'running workers'} with ${store}`);
  if (service.url) console.log(`API docs: ${service.url}/docs`);
  if (devKey) console.log(`development API key (tenant '${DEV_TENANT}'): ${devKey}\n  curl -H 'Authorization: Bearer ${devKey}' ${service.url}/orders/<orderId>`);

  await new Promise<void>((done) => {
    const stop = (signal: NodeJS.Signals) => {
      service.logger.info({ signal }, 'shutting down');
      done();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await service.close();
  return 0;
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
