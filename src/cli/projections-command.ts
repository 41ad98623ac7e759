// `orders projections`: every projection and handler group as the event store sees it: status,
// consumers, last checkpointed position, lag in events and parked events.
import type { PersistentSubscriptionToAllInfo, Position } from '@eventstore/db-client';
import type { ReadModelLocation } from '../readmodels/read-model-store.js';
import { openReadModelsForCli, readModelsExist } from './read-models.js';
import { projectionParkedCounts } from '../subscriptions/projection-parking.js';
import { projections } from '../../projections/index.js';
import { groupName, handlerFilter, projectionFilter, projectionsGroupName, type GroupFilter, type GroupKind } from '../subscriptions/group-settings.js';
import { loadRunnerOptions } from '../subscriptions/runner-config.js';
import { parseCommandArgs } from './args.js';
import { CliError } from './cli-error.js';
import { cliEnvironment } from './cli-environment.js';
import { measureGroupLag, type Lag } from '../observability/group-lag.js';
import { handlerDefinitions } from './replayable.js';
import { listGroups, type PersistentSubscriptionInfo } from './subscription-groups.js';
import { withStore } from './store-connection.js';

const HELP = `Usage: orders projections [--json]

Lists every projection and handler the workers run, with what the event store knows of its
persistent subscription group: status, connected consumers, last checkpointed position, lag and
parked events (see \`orders parked\`). Each handler has its own group
(<SUBSCRIPTION_GROUP_PREFIX>.handler.<name>); the projections share one
(<SUBSCRIPTION_GROUP_PREFIX>.projections), so they show its status, checkpoint and lag, and
each its own parked events (kept in DATA_DIR/readmodels.db; '-' when that is not here).
LAG is the events the group has not processed yet: written for it after the last event the server
read for it, plus those buffered and in flight (0 when idle and caught up; counted over at most
250,000 events). It is the same figure as the subscription_lag metric.

Options:
  --json      one JSON array instead of the table
  -h, --help  this help

Environment:
  ESDB_CONNECTION_STRING     the event store (default esdb://127.0.0.1:2113?tls=false)
  SUBSCRIPTION_GROUP_PREFIX  as the workers were started with (default order-store)
  DATA_DIR                   the read models' folder (default ./data)`;

interface GroupRow {
  kind: GroupKind | 'other';
  name: string;
  group: string;
  status: string;
  consumers: number | undefined;
  checkpoint: string | undefined;
  lag: Lag | undefined;
  parked: number | undefined;
}

export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, { options: { json: { type: 'boolean' } }, positionals: { min: 0, max: 0 }, help: HELP });
  if (!parsed) return 0;
  const { connectionString, dataDir, readModelUrl } = cliEnvironment();
  let prefix: string;
  try {
    prefix = loadRunnerOptions().groupPrefix;
  } catch (err) {
    throw new CliError(err instanceof Error ? err.message : String(err), 2);
  }
  const shared = projectionsGroupName(prefix);
  const declared: Array<{ kind: GroupKind; name: string; group: string; filter: GroupFilter }> = [
    ...projections.map((projection) => ({ kind: 'projection' as const, name: projection.name, group: shared, filter: projectionFilter() })),
    ...handlerDefinitions().map((handler) => ({ kind: 'handler' as const, name: handler.name, group: groupName('handler', handler.name, prefix), filter: handlerFilter(handler.handles) })),
  ];
  const parked = await projectionParked({ dataDir, readModelUrl });

  const rows = await withStore(connectionString, async ({ client }) => {
    const infos = new Map((await listGroups(client)).filter((info) => info.eventSource === '$all').map((info) => [info.groupName, info]));
    const known = declared.map((entry) => ({ ...entry, info: infos.get(entry.group) }));
    const measured = [...new Map(known.filter((entry) => entry.info).map((entry) => [entry.group, entry])).values()];
    const lags = await measureGroupLag(
      client,
      measured.map((entry) => ({ group: entry.group, info: entry.info as PersistentSubscriptionToAllInfo, filter: entry.filter })),
    );
    const ours = new Set(known.map((entry) => entry.group));
    const others = [...infos.values()].filter((info) => info.groupName.startsWith(`${prefix}.`) && !ours.has(info.groupName));
    return [
      ...known.map((entry): GroupRow => {
        const row = rowOf(entry.kind, entry.name, entry.group, entry.info, lags.get(entry.group));
        // A projection's parked events are its own, in the read models; not the shared group's.
        return entry.kind === 'projection' ? { ...row, parked: parked?.get(entry.name) ?? (parked ? 0 : undefined) } : row;
      }),
      ...others.map((info): GroupRow => rowOf('other', info.groupName.slice(prefix.length + 1), info.groupName, info, undefined)),
    ];
  });

  if (parsed.values.json) {
    console.log(JSON.stringify(rows.map((row) => ({ ...row, lag: row.lag?.events, lagAtLeast: row.lag?.atLeast })), null, 2));
  } else {
    console.log(renderTable(rows));
  }
  return 0;
}

/** Parked counts per projection, when the read models are in DATA_DIR. */
async function projectionParked(location: ReadModelLocation): Promise<Map<string, number> | undefined> {
  if (!(await readModelsExist(location))) return undefined;
  const store = await openReadModelsForCli(location);
  try {
    return await projectionParkedCounts(store);
  } finally {
    await store.close();
  }
}

function checkpointOf(info: PersistentSubscriptionInfo): Position | undefined {
  const position = 'lastCheckpointedEventPosition' in info.stats ? info.stats.lastCheckpointedEventPosition : undefined;
  return position && position.commit >= 0n ? position : undefined;
}

function rowOf(kind: GroupRow['kind'], name: string, group: string, info: PersistentSubscriptionInfo | undefined, lag: Lag | undefined): GroupRow {
  if (!info) return { kind, name, group, status: 'not created', consumers: undefined, checkpoint: undefined, lag: undefined, parked: undefined };
  const checkpoint = checkpointOf(info);
  return {
    kind,
    name,
    group,
    status: info.status,
    consumers: info.connections.length,
    checkpoint: checkpoint ? checkpoint.commit.toString() : undefined,
    lag,
    parked: Number(info.stats.parkedMessageCount),
  };
}

function renderTable(rows: GroupRow[]): string {
  const header = ['KIND', 'NAME', 'STATUS', 'CONSUMERS', 'CHECKPOINT', 'LAG', 'PARKED', 'GROUP'];
  const cells = rows.map((row) => [
    row.kind,
    row.name,
    row.status,
    row.consumers === undefined ? '-' : String(row.consumers),
    row.checkpoint ?? '-',
    row.lag === undefined ? '-' : `${row.lag.atLeast ? '>=' : ''}${row.lag.events}`,
    row.parked === undefined ? '-' : String(row.parked),
    row.group,
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...cells.map((line) => line[column]!.length)));
  const format = (line: string[]) => line.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd();
  const lines = [format(header), ...cells.map(format)];
  if (rows.some((row) => row.status === 'not created')) lines.push('', 'not created: no worker has started that group on this store yet, or a new projection is still catching up by reading $all (its group is created when that ends)');
  return lines.join('\n');
}
