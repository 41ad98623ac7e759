// One persistent subscription group's figures as the UI, /metrics and /stats show them.
import type { AllFilter, EventLog } from '../log/types.js';
import { sourceName, type SourceFilter } from '../persistent/definition.js';
import type { SubscriptionGroup } from '../persistent/subscription-group.js';

export interface GroupFigures {
  source: string;
  group: string;
  /** e.g. `event type prefixes order., notification.`; undefined without a filter. */
  filter: string | undefined;
  status: string;
  connections: number;
  connectionNames: { name: string; from: string; inFlight: number; totalItems: number }[];
  inFlight: number;
  /** A revision for a stream group, a position for $all; undefined before the first checkpoint. */
  lastCheckpoint: number | undefined;
  lastKnown: number | undefined;
  /** Events in the source after the last checkpoint (for $all every position after it). */
  behindBy: number | undefined;
  parked: number;
  parkedStream: string;
  totalItems: number;
  strategy: string;
  maxRetryCount: number;
  messageTimeoutMs: number;
}

export function groupFigures(group: SubscriptionGroup, log: EventLog): GroupFigures {
  const { definition } = group;
  const stats = group.stats({ measure: false });
  const source = sourceName(definition.source);
  const done = stats.lastCheckpointedKey ?? (definition.startFrom.kind === 'end' ? undefined : -1);
  return {
    source,
    group: definition.group,
    filter: definition.source.kind === 'all' ? filterText(definition.source.filter) : undefined,
    status: stats.status,
    connections: stats.connections.length,
    connectionNames: stats.connections.map((connection) => ({
      name: connection.connectionName,
      from: connection.from,
      inFlight: connection.inFlightMessages,
      totalItems: connection.totalItems,
    })),
    inFlight: stats.totalInFlightMessages,
    lastCheckpoint: stats.lastCheckpointedKey,
    lastKnown: stats.lastKnownKey,
    behindBy: done === undefined ? undefined : behindBy(group, log, done),
    parked: stats.parkedMessageCount,
    parkedStream: group.parkedStream,
    totalItems: stats.totalItems,
    strategy: definition.settings.consumerStrategy,
    maxRetryCount: definition.settings.maxRetryCount,
    messageTimeoutMs: definition.settings.messageTimeoutMs,
  };
}

/** How far a filtered $all group's count is looked for; past it, positions stand in for events. */
const FILTERED_SCAN = 5_000;

/**
 * Events of the group's source after `done` (its checkpoint): exact for a stream and for an
 * unfiltered $all (positions are consecutive); for a filtered $all the matching events, counted
 * over up to FILTERED_SCAN events, else every position after the checkpoint (an upper bound).
 */
function behindBy(group: SubscriptionGroup, log: EventLog, done: number): number {
  const { source } = group.definition;
  if (source.kind === 'stream') return Math.max(0, (log.streamRevision(source.stream) ?? -1) - done);
  const head = log.headPosition();
  if (!source.filter || head - done > FILTERED_SCAN) return Math.max(0, head - done);
  let regex: RegExp | undefined;
  try {
    regex = source.filter.regex ? new RegExp(source.filter.regex) : undefined;
  } catch {
    return Math.max(0, head - done);
  }
  const filter: AllFilter = { on: source.filter.on, ...(source.filter.prefixes ? { prefixes: source.filter.prefixes } : {}), ...(regex ? { regex } : {}) };
  return log.readAll({ from: done + 1, direction: 'forwards', maxCount: FILTERED_SCAN, resolveLinkTos: false, filter, maxSearchWindow: FILTERED_SCAN }).events.length;
}

function filterText(filter: SourceFilter | undefined): string | undefined {
  if (!filter) return undefined;
  const on = filter.on === 'stream' ? 'stream' : 'event type';
  const parts: string[] = [];
  if (filter.prefixes && filter.prefixes.length > 0) parts.push(`${on} prefixes ${filter.prefixes.join(', ')}`);
  if (filter.regex) parts.push(`${on} matches /${filter.regex}/`);
  return parts.length > 0 ? parts.join('; ') : undefined;
}
