// What every store-facing subcommand reads from the environment: the service's own config
// (src/config.ts), so the CLI and the service agree on ESDB_CONNECTION_STRING and DATA_DIR.
import { resolve } from 'node:path';
import { ConfigError, loadConfig } from '../config.js';
import { connectionStringForDataDir } from '../esdb-server/index.js';
import { CliError } from './cli-error.js';

export interface CliEnvironment {
  /**
   * ESDB_CONNECTION_STRING, or the embedded store on EVENTSTORE_PORT (2113): over TLS as `admin`
   * with the CA and password kept in DATA_DIR, plaintext when EVENTSTORE_INSECURE is set (or the
   * data directory holds no credentials).
   */
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
      connectionString:
        config.esdbConnectionString ??
        (config.eventStoreInsecure ? undefined : connectionStringForDataDir({ dataDir: config.dataDir, port: config.eventStorePort })) ??
        `esdb://127.0.0.1:${config.eventStorePort}?tls=false`,
      dataDir: resolve(config.dataDir),
      readModelUrl: config.readModelUrl,
    };
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, 2);
    throw err;
  }
}
