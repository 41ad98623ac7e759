// What every store-facing subcommand reads from the environment: the service's own config
// (src/config.ts), so the CLI and the service agree on ESDB_CONNECTION_STRING and DATA_DIR.
import { resolve } from 'node:path';
import { ConfigError, loadConfig } from '../config.js';
import { CliError } from './cli-error.js';

export interface CliEnvironment {
  /** ESDB_CONNECTION_STRING, or the embedded store on EVENTSTORE_PORT (2113). */
  connectionString: string;
  /** Absolute path of DATA_DIR (./data), the folder that holds the read models. */
  dataDir: string;
  /** READ_MODEL_URL: the read models are in PostgreSQL when set. */
  readModelUrl: string | undefined;
}

export function cliEnvironment(env: NodeJS.ProcessEnv = process.env): CliEnvironment {
  try {
    const config = loadConfig(env);
    return {
      connectionString: config.esdbConnectionString ?? `esdb://127.0.0.1:${config.eventStorePort}?tls=false`,
      dataDir: resolve(config.dataDir),
      readModelUrl: config.readModelUrl,
    };
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, 2);
    throw err;
  }
}
