// The read models for a CLI command: the SQLite file under DATA_DIR, or READ_MODEL_URL. A
// PostgreSQL that cannot be reached fails in one line, as an unreachable event store does.
import { existsSync } from 'node:fs';
import { isConnectionLoss } from '../readmodels/connection-loss.js';
import { describeReadModels, isPostgresUrl, openConfiguredReadModels, readModelFileIn, type ReadModelLocation, type ReadModelStore } from '../readmodels/read-model-store.js';
import { CliError } from './cli-error.js';

export async function openReadModelsForCli(location: ReadModelLocation): Promise<ReadModelStore> {
  try {
    return await openConfiguredReadModels(location, { poolSize: 2 });
  } catch (error) {
    throw cannotOpen(location, error);
  }
}

function cannotOpen(location: ReadModelLocation, error: unknown): unknown {
  const reason = error instanceof Error ? error.message : String(error);
  if (isConnectionLoss(error) || location.readModelUrl) return new CliError(`cannot open the read models at ${describeReadModels(location)}: ${reason}`);
  return error;
}

/**
 * Whether there are read models where the command was pointed: the SQLite file under DATA_DIR,
 * or READ_MODEL_URL's schema. A command that only reads them refuses a place no service wrote to
 * (a wrong DATA_DIR, a mistyped schema) rather than set up empty read models there: opening a
 * store creates the file, or the schema and its bookkeeping tables.
 */
export async function readModelsExist(location: ReadModelLocation): Promise<boolean> {
  if (!isPostgresUrl(location.readModelUrl)) return existsSync(readModelFileIn(location.dataDir));
  const [{ default: pg }, { splitSchema }] = await Promise.all([import('pg'), import('../readmodels/postgres-store.js')]);
  const { url, schema } = splitSchema(location.readModelUrl);
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const found = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    return found.rowCount === 1;
  } catch (error) {
    throw cannotOpen(location, error);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The first half of a one-line refusal: where the read models were looked for and not found. */
export function missingReadModels(location: ReadModelLocation): string {
  if (!isPostgresUrl(location.readModelUrl)) return `no read-model database at ${readModelFileIn(location.dataDir)}`;
  return `no read models at ${describeReadModels(location)}: its schema '${new URL(location.readModelUrl).searchParams.get('schema') ?? 'public'}' does not exist`;
}
