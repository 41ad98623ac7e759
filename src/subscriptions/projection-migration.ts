// Where the shared projections group starts, and which projections it feeds.
//
// The read-model store records which projections the group has fed from the start
// (projection_group_members): the group's checkpoint says nothing of a projection deployed later.
//   - No shared group yet, old per-projection groups `<prefix>.projection.<name>` there (a data
//     directory of an earlier version): it starts where the old groups all are, the lowest of
//     their checkpoints (later events come again and are duplicates for those past them, no-ops
//     by the revision guard); their parked events move to the projections' own parked records,
//     and the old groups are deleted once the shared group exists.
//   - Projections with neither (a new store, or a projection new to an old store) first catch up
//     by one read of $all (projection-bootstrap.ts); the group starts at the lowest of that read's
//     end and the old checkpoints.
//   - Shared group there, a projection not yet among its members (added since, or the read
//     models were deleted): it catches up by reading $all before the group is joined, parking what
//     it refuses (the group is past those events and would not deliver them again). Unless
//     `orders replay` rebuilt it since: its swap records it as a member (how 'replay') when the
//     group will deliver it everything after the rebuild's end (groupDeliversAfter).
//   - A member whose rows an earlier version of its definition made (projection_versions holds
//     a lower version than its `version`; 1 when absent): its rows and revision records are
//     emptied and it leaves the group's members, in one commit that only one of several workers
//     starting at once makes, then catches up by reading $all as a projection added later. Until
//     it has, the API reads its tables as they fill.
//   - A projection that was a handler in an earlier version (analytics: `<prefix>.handler.<name>`
//     there): its rows carry no revision records, so it is new to the shared group either way and
//     catches up by reading $all from the start as above (its writes are idempotent by event id and
//     revision: the rows the handler wrote stay as they are; what it refuses is parked for it
//     again, so the old group's parked events are not moved); the old group is deleted with the
//     others once the shared group exists. A crash before that deletes it at the next start.
import {
  PersistentSubscriptionDoesNotExistError,
  START,
  type EventStoreDBClient,
  type PersistentSubscriptionToAllInfo,
  type Position,
} from '@eventstore/db-client';
import type { Logger } from 'pino';
import type { WorkerMetrics } from '../observability/worker-metrics.js';
import type { ProjectionDefinition } from '../readmodels/projection.js';
import type { ReadModelStore } from '../readmodels/read-model-store.js';
import { groupName, projectionsGroupName } from './group-settings.js';
import { bootstrapProjections, type BootstrapResult } from './projection-bootstrap.js';
import { PROJECTION_PARKED_DDL, parkForProjection } from './projection-parking.js';
import { readParked } from './server-parked.js';

export const PROJECTION_MEMBERS_DDL = `
  CREATE TABLE IF NOT EXISTS projection_group_members (
    projection TEXT PRIMARY KEY,
    joined_at TEXT NOT NULL,
    how TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS projection_versions (
    projection TEXT PRIMARY KEY,
    version INTEGER NOT NULL
  ) WITHOUT ROWID;
`;

/**
 * Records that a projection's rows are those of `version` (args: projection, version), never
 * lowering it. Also made by `orders replay` when it swaps a rebuilt model in: the next start
 * finds the version current and does not empty and rebuild the projection again.
 */
export const RECORD_PROJECTION_VERSION_SQL = `INSERT INTO projection_versions (projection, version) VALUES (?, ?)
  ON CONFLICT (projection) DO UPDATE SET version = excluded.version WHERE projection_versions.version < excluded.version`;

/** Records a projection among the shared group's members (args: projection, joined_at, how); an earlier record stays. */
export const RECORD_MEMBER_SQL = 'INSERT INTO projection_group_members (projection, joined_at, how) VALUES (?, ?, ?) ON CONFLICT DO NOTHING';

/**
 * Whether the shared projections group will deliver every event after `position` (where a replay's
 * rebuild ended) to the workers that join it next, so that `orders replay` may record the replayed
 * projection among its members and their start not read $all again to catch it up. It must exist
 * (without it the first start catches every projection up by reading anyway), have no consumer
 * connected (workers without the projection among the members, acking past the replay for the
 * others only: its rows would miss those events), and have read nothing past `position` (a
 * consumer gone since may have acked it). Unsure is false: the next start catches up by reading.
 */
export async function groupDeliversAfter(client: EventStoreDBClient, prefix: string, position: bigint | undefined): Promise<boolean> {
  const info = await groupInfo(client, projectionsGroupName(prefix));
  if (!info || info.connections.length > 0) return false;
  const { lastKnownEventPosition, lastCheckpointedEventPosition } = info.stats;
  const startFrom = typeof info.settings.startFrom === 'object' ? info.settings.startFrom : undefined;
  let furthest = -1n;
  for (const seen of [lastKnownEventPosition, lastCheckpointedEventPosition, startFrom]) if (seen && seen.commit > furthest) furthest = seen.commit;
  return furthest <= (position ?? -1n);
}

export interface ProjectionsGroupPlan {
  /** Where the shared group is created (when it does not exist yet). */
  startFrom: Position | typeof START;
  /** The catch-up by reading, when projections needed one. */
  bootstrap: (BootstrapResult & { projections: string[] }) | undefined;
  /** Old per-projection groups to delete once the shared group exists. */
  oldGroups: string[];
}

export interface PlanDeps {
  client: EventStoreDBClient;
  store: ReadModelStore;
  logger: Logger;
  metrics: WorkerMetrics;
  projections: readonly ProjectionDefinition[];
  prefix: string;
  bootstrapMode: 'read' | 'group';
}

export async function planProjectionsGroup(deps: PlanDeps): Promise<ProjectionsGroupPlan> {
  const { client, store, logger, projections, prefix } = deps;
  await store.migrate(PROJECTION_PARKED_DDL);
  await store.migrate(PROJECTION_MEMBERS_DDL);
  const shared = await groupInfo(client, projectionsGroupName(prefix));
  const old = new Map<string, PersistentSubscriptionToAllInfo>();
  for (const projection of projections) {
    const info = await groupInfo(client, groupName('projection', projection.name, prefix));
    if (info) old.set(projection.name, info);
  }
  // Their parked events become the projections' own before the old groups can go.
  for (const [name, info] of old) await moveParked(client, store, name, info, logger);
  const formerHandlers: string[] = [];
  for (const projection of projections) {
    const info = await groupInfo(client, groupName('handler', projection.name, prefix));
    if (info) formerHandlers.push(info.groupName);
  }
  const readMembers = async () => new Set((await store.all<{ projection: string }>('SELECT projection FROM projection_group_members')).map((row) => row.projection));
  let members = await readMembers();

  if (shared) {
    if (await resetOutdated(store, projections.filter((projection) => members.has(projection.name)), logger)) members = await readMembers();
    const joining = projections.filter((projection) => !members.has(projection.name));
    let bootstrap: ProjectionsGroupPlan['bootstrap'];
    if (joining.length > 0) {
      const result = await bootstrapProjections(joining, { client, store, logger, metrics: deps.metrics, parkRefused: true });
      bootstrap = { ...result, projections: joining.map((projection) => projection.name) };
      await addMembers(store, joining, 'read');
    }
    return { startFrom: START, bootstrap, oldGroups: [...[...old.values()].map((info) => info.groupName), ...formerHandlers] };
  }

  const starts: Array<Position | typeof START> = [];
  for (const [name, info] of old) {
    const start = checkpointOf(info) ?? info.settings.startFrom;
    // An old group that never checkpointed and started at the end: from its start is unknown.
    starts.push(typeof start === 'object' ? start : START);
    logger.info({ group: info.groupName, projection: name, from: typeof start === 'object' ? start.commit.toString() : 'start' }, 'moving the projection to the shared projections group');
  }
  const fresh = projections.filter((projection) => !old.has(projection.name));
  let bootstrap: ProjectionsGroupPlan['bootstrap'];
  if (fresh.length > 0) {
    if (deps.bootstrapMode === 'read') {
      const result = await bootstrapProjections(fresh, { client, store, logger, metrics: deps.metrics });
      bootstrap = { ...result, projections: fresh.map((projection) => projection.name) };
      starts.push(result.position ?? START);
    } else {
      starts.push(START);
    }
  }
  // Their rows were made before projections had versions: version 1, reset at the next start if outdated.
  await addMembers(store, [...projections.filter((projection) => old.has(projection.name))], 'moved from its own group', 1);
  await addMembers(store, fresh, deps.bootstrapMode === 'read' ? 'read' : 'group');
  return { startFrom: lowest(starts), bootstrap, oldGroups: [...[...old.values()].map((info) => info.groupName), ...formerHandlers] };
}

/** Deletes the old per-projection groups (another worker may have deleted them first). */
export async function deleteOldGroups(client: EventStoreDBClient, groups: readonly string[], logger: Logger): Promise<void> {
  for (const group of groups) {
    try {
      await client.deletePersistentSubscriptionToAll(group);
      logger.info({ group }, 'deleted the old group: its projection is fed by the shared projections group');
    } catch (error) {
      if (!(error instanceof PersistentSubscriptionDoesNotExistError)) throw error;
    }
  }
}

async function addMembers(store: ReadModelStore, projections: readonly ProjectionDefinition[], how: string, version?: number): Promise<void> {
  const at = new Date().toISOString();
  await store.transaction(async (tx) => {
    for (const projection of projections) {
      await tx.run(RECORD_MEMBER_SQL, projection.name, at, how);
      await tx.run('INSERT INTO projection_versions (projection, version) VALUES (?, ?) ON CONFLICT DO NOTHING', projection.name, version ?? projection.version ?? 1);
    }
  });
}

/** Empties the members an earlier version made and takes them out of the group's members; whether any was. */
async function resetOutdated(store: ReadModelStore, members: readonly ProjectionDefinition[], logger: Logger): Promise<boolean> {
  let outdated = false;
  for (const projection of members) {
    const version = projection.version ?? 1;
    const recorded = (await store.get<{ version: number }>('SELECT version FROM projection_versions WHERE projection = ?', projection.name))?.version ?? 1;
    if (Number(recorded) >= version) continue;
    outdated = true;
    await store.migrate(projection.schema);
    // The version is claimed in the commit that empties the rows: a worker starting at the same
    // moment finds it claimed (PostgreSQL: once this commit is made) and resets nothing.
    const reset = await store.transaction(async (tx) => {
      const claimed = await tx.run(RECORD_PROJECTION_VERSION_SQL, projection.name, version);
      if (claimed.changes !== 1) return false;
      await projection.reset(tx);
      await tx.run('DELETE FROM projection_revisions WHERE projection = ?', projection.name);
      await tx.run('DELETE FROM projection_group_members WHERE projection = ?', projection.name);
      return true;
    });
    if (reset) logger.info({ projection: projection.name, from: Number(recorded), to: version }, 'its rows were made by an earlier version: emptied, it catches up from the history');
  }
  return outdated;
}

async function moveParked(client: EventStoreDBClient, store: ReadModelStore, projection: string, info: PersistentSubscriptionToAllInfo, logger: Logger): Promise<void> {
  if (Number(info.stats.parkedMessageCount) === 0) return;
  const parked = await readParked(client, info);
  let moved = 0;
  await store.transaction(async (tx) => {
    for (const entry of parked) {
      if (entry.eventId === undefined || entry.stream === undefined || entry.revision === undefined) continue;
      const added = await parkForProjection(
        tx,
        {
          projection,
          eventId: entry.eventId,
          streamId: entry.stream,
          revision: entry.revision,
          eventType: entry.type ?? '(unknown)',
          commitPosition: undefined,
          reason: entry.reason ?? '(none given)',
        },
        dateOr(entry.parkedAt),
      );
      if (added) moved++;
    }
  });
  if (moved > 0) logger.info({ group: info.groupName, projection, parked: moved }, "moved the old group's parked events to the projection's parked events");
}

function dateOr(text: string | undefined): Date {
  const date = text ? new Date(text) : new Date();
  return Number.isNaN(date.getTime()) ? new Date() : date;
}

async function groupInfo(client: EventStoreDBClient, group: string): Promise<PersistentSubscriptionToAllInfo | undefined> {
  try {
    return await client.getPersistentSubscriptionToAllInfo(group);
  } catch (error) {
    if (error instanceof PersistentSubscriptionDoesNotExistError) return undefined;
    throw error;
  }
}

function checkpointOf(info: PersistentSubscriptionToAllInfo): Position | undefined {
  const position = info.stats.lastCheckpointedEventPosition;
  return position && position.commit >= 0n ? position : undefined;
}

function lowest(starts: ReadonlyArray<Position | typeof START>): Position | typeof START {
  let low: Position | undefined;
  for (const start of starts) {
    if (start === START) return START;
    if (!low || start.commit < low.commit) low = start;
  }
  return low ?? START;
}
