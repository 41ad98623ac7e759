// One persistent subscription group's figures as the UI, /metrics and /stats show them.
import type { EventLog } from '../log/types.js';
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
  const stats = group.stats();
  const source = sourceName(definition.source);
  const head = definition.source.kind === 'all' ? log.headPosition() : (log.streamRevision(source) ?? -1);
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
    behindBy: done === undefined ? undefined : Math.max(0, head - done),
    parked: stats.parkedMessageCount,
    parkedStream: group.parkedStream,
    totalItems: stats.totalItems,
    strategy: definition.settings.consumerStrategy,
    maxRetryCount: definition.settings.maxRetryCount,
    messageTimeoutMs: definition.settings.messageTimeoutMs,
  };
}

function filterText(filter: SourceFilter | undefined): string | undefined {
  if (!filter) return undefined;
  const on = filter.on === 'stream' ? 'stream' : 'event type';
  const parts: string[] = [];
  if (filter.prefixes && filter.prefixes.length > 0) parts.push(`${on} prefixes ${filter.prefixes.join(', ')}`);
  if (filter.regex) parts.push(`${on} matches /${filter.regex}/`);
  return parts.length > 0 ? parts.join('; ') : undefined;
}
