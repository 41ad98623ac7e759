// The read models for a CLI command: the SQLite file under DATA_DIR, or READ_MODEL_URL. A
// PostgreSQL that cannot be reached fails in one line, as an unreachable event store does.
import { isConnectionLoss } from '../readmodels/connection-loss.js';
import { describeReadModels, openConfiguredReadModels, type ReadModelLocation, type ReadModelStore } from '../readmodels/read-model-store.js';
import { CliError } from './cli-error.js';

export async function openReadModelsForCli(location: ReadModelLocation): Promise<ReadModelStore> {
  try {
    return await openConfiguredReadModels(location, { poolSize: 2 });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (isConnectionLoss(error) || location.readModelUrl) throw new CliError(`cannot open the read models at ${describeReadModels(location)}: ${reason}`);
    throw error;
  }
}
