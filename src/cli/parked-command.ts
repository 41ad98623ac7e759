// `orders parked <group|projection> [--replay] [--stop-at N]`: what a persistent subscription
// group (a handler's) or a projection gave up on (parked after its retries), with the reason it
// was parked, and the way to hand it back. The projections share one group and park in the read
// models (src/subscriptions/projection-parking.ts), each its own.
import type { EventStoreDBClient } from '@eventstore/db-client';
import { findProjection } from '../../projections/index.js';
import type { ProjectionDefinition } from '../readmodels/projection.js';
import type { ProjectionParkedEvent } from '../subscriptions/projection-parking.js';
import { parseCommandArgs, parseCount } from './args.js';
import { CliError } from './cli-error.js';
import { cliEnvironment } from './cli-environment.js';
import { readParked, type ParkedEvent } from '../subscriptions/server-parked.js';
import { findGroup, type PersistentSubscriptionInfo } from './subscription-groups.js';
import { withStore } from './store-connection.js';

export { readParked, type ParkedEvent };

const HELP = `Usage: orders parked <group|projection> [--stream <stream>] [--replay] [--stop-at N] [--json]

Lists the events the persistent subscription group parked (stream
$persistentsubscription-<stream>::<group>-parked): for each, its number in the parked stream,
when and why it was parked, and the event it points at.

For a projection (order-summary, or order-store.projection.order-summary): the events that
projection parked. The projections share one group (<prefix>.projections) and each parks on its
own, in the read models (DATA_DIR/readmodels.db): run this where the workers' DATA_DIR is.

Options:
  --replay          ask the server to deliver the parked events to the group again; for a
                    projection, apply them to it again now, oldest first (those that still
                    fail stay parked, with the new reason)
  --stop-at N       with --replay: replay only the parked events numbered below N
  --stream <name>   the group's stream, when groups of that name exist on several streams
  --json            the list as a JSON array
  -h, --help        this help

Environment:
  ESDB_CONNECTION_STRING  the event store (default esdb://127.0.0.1:2113?tls=false)
  DATA_DIR                the read models' folder, for a projection (default ./data)`;

export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, {
    options: { replay: { type: 'boolean' }, 'stop-at': { type: 'string' }, stream: { type: 'string' }, json: { type: 'boolean' } },
    positionals: { min: 1, max: 1 },
    help: HELP,
  });
  if (!parsed) return 0;
  const group = parsed.positionals[0] ?? '';
  const stopAtText = parsed.values['stop-at'];
  const stopAt = stopAtText === undefined ? undefined : parseCount(stopAtText, '--stop-at');
  if (stopAt !== undefined && !parsed.values.replay) throw new CliError('--stop-at only makes sense with --replay', 2);
  const { connectionString, dataDir, readModelUrl } = cliEnvironment();
  const projection = projectionNamed(group);
  if (projection) return runForProjection(projection, { connectionString, dataDir, readModelUrl, replay: parsed.values.replay === true, stopAt, json: parsed.values.json === true });

  return withStore(connectionString, async ({ client }) => {
    const info = await findGroup(client, group, parsed.values.stream);
    const parked = await readParked(client, info);
    if (parsed.values.json && !parsed.values.replay) {
      console.log(JSON.stringify(parked, null, 2));
      return 0;
    }
    console.log(renderParked(`group ${info.groupName} on ${info.eventSource}`, parked));
    if (parsed.values.replay) {
      const chosen = stopAt === undefined ? parked : parked.filter((entry) => entry.parkedNumber < stopAt);
      await requestReplay(client, info, stopAt);
      console.log(`replay of ${chosen.length} parked event${chosen.length === 1 ? '' : 's'} requested for group ${info.groupName}`);
    }
    return 0;
  });
}

/** `order-summary` or `<prefix>.projection.order-summary`. */
function projectionNamed(name: string): ProjectionDefinition | undefined {
  const direct = findProjection(name);
  if (direct) return direct;
  const prefix = groupPrefix();
  const short = name.startsWith(`${prefix}.projection.`) ? name.slice(`${prefix}.projection.`.length) : undefined;
  return short === undefined ? undefined : findProjection(short);
}

/** As the workers name their groups (SUBSCRIPTION_GROUP_PREFIX); read here, not through the runner's config, to keep the command light. */
function groupPrefix(): string {
  return process.env.SUBSCRIPTION_GROUP_PREFIX || 'order-store';
}

async function runForProjection(
  projection: ProjectionDefinition,
  options: { connectionString: string; dataDir: string; readModelUrl: string | undefined; replay: boolean; stopAt: number | undefined; json: boolean },
): Promise<number> {
  // Loaded only for a projection: a handler's group needs none of it.
  const [{ readModelFileIn }, { missingReadModels, openReadModelsForCli, readModelsExist }, { projectionsGroupName }, { replayProjectionParked }, { PROJECTION_PARKED_DDL, listProjectionParked }] = await Promise.all([
    import('../readmodels/read-model-store.js'),
    import('./read-models.js'),
    import('../subscriptions/group-settings.js'),
    import('../subscriptions/projection-parked-replay.js'),
    import('../subscriptions/projection-parking.js'),
  ]);
  const location = { dataDir: options.dataDir, readModelUrl: options.readModelUrl };
  if (!(await readModelsExist(location))) {
    if (options.readModelUrl) throw new CliError(`${missingReadModels(location)}: run orders parked with the workers' READ_MODEL_URL`);
    throw new CliError(`no read models in ${options.dataDir} (${readModelFileIn(options.dataDir)} does not exist): run orders parked with the workers' DATA_DIR (or READ_MODEL_URL)`);
  }
  const store = await openReadModelsForCli(location);
  try {
    await store.migrate(PROJECTION_PARKED_DDL);
    const parked = await listProjectionParked(store, projection.name);
    if (options.json && !options.replay) {
      console.log(JSON.stringify(parked.map(asParkedEvent), null, 2));
      return 0;
    }
    console.log(renderParked(`projection ${projection.name} (group ${projectionsGroupName(groupPrefix())})`, parked.map(asParkedEvent)));
    if (!options.replay) return 0;
    const result = await withStore(options.connectionString, ({ client }) => replayProjectionParked(client, store, projection, options.stopAt));
    const plural = (n: number) => `${n} parked event${n === 1 ? '' : 's'}`;
    const lines = [`replayed ${plural(result.replayed.length)} to projection ${projection.name}`];
    if (result.gone.length > 0) lines.push(`${plural(result.gone.length)} no longer in the store (stream deleted or truncated): removed`);
    if (result.stillParked.length > 0) {
      lines.push(`${plural(result.stillParked.length)} failed again and stay parked:`);
      for (const entry of result.stillParked) lines.push(`  #${entry.number}  ${entry.streamId}@${entry.revision} ${entry.eventType}: ${entry.failure}`);
    }
    console.log(lines.join('\n'));
    return result.stillParked.length > 0 ? 1 : 0;
  } finally {
    await store.close();
  }
}

function asParkedEvent(entry: ProjectionParkedEvent): ParkedEvent {
  return {
    parkedNumber: entry.number,
    parkedAt: entry.parkedAt,
    reason: entry.reason,
    stream: entry.streamId,
    revision: entry.revision,
    type: entry.eventType,
    eventId: entry.eventId,
  };
}

async function requestReplay(client: EventStoreDBClient, info: PersistentSubscriptionInfo, stopAt: number | undefined): Promise<void> {
  const options = stopAt === undefined ? {} : { stopAt };
  if (info.eventSource === '$all') await client.replayParkedMessagesToAll(info.groupName, options);
  else await client.replayParkedMessagesToStream(info.eventSource, info.groupName, options);
}

function renderParked(header: string, parked: ParkedEvent[]): string {
  const lines = [`${header}: ${parked.length} parked event${parked.length === 1 ? '' : 's'}`];
  for (const entry of parked) {
    const what = entry.stream === undefined ? '(event no longer exists)' : `${entry.stream}@${entry.revision}${entry.type ? ` ${entry.type}` : ' (event no longer exists)'}`;
    lines.push(`#${entry.parkedNumber}  ${entry.parkedAt ?? '-'}  ${what}${entry.eventId ? `  id ${entry.eventId}` : ''}`);
    // EventStoreDB prefixes the consumer's reason with a line of its own.
    lines.push(`    reason: ${entry.reason?.replace(/\s*\n\s*/g, ' ') ?? '(none given)'}`);
  }
  return lines.join('\n');
}
