// Turning the client's Create/Update/... requests into group definitions, the way EventStoreDB
// reads them (including the deprecated Options.stream_identifier + Settings.revision pair the
// 6.x client still sends for streams).
import persistentPb from '@eventstore/db-client/generated/persistent_pb.js';
import { streamNameOf, parseUint64 } from '../grpc/conversions.js';
import * as grpc from '@grpc/grpc-js';
import { invalidArgument, rpcError } from '../grpc/rpc-errors.js';
import {
  ALL_STREAM,
  CONSUMER_STRATEGIES,
  settingsProblem,
  sourceName,
  type ConsumerStrategyName,
  type EventSource,
  type GroupDefinition,
  type GroupSettings,
  type SourceFilter,
  type StartFrom,
} from './definition.js';

export { persistentPb };

type CreateReq = InstanceType<typeof persistentPb.CreateReq>;
type UpdateReq = InstanceType<typeof persistentPb.UpdateReq>;
type CreateSettings = InstanceType<typeof persistentPb.CreateReq.Settings>;
type UpdateSettings = InstanceType<typeof persistentPb.UpdateReq.Settings>;
type StreamIdentifier = Parameters<typeof streamNameOf>[0];

const UINT64_MAX = '18446744073709551615';
const TICKS_PER_MS = 10_000;

const NAMED_STRATEGIES: Record<number, ConsumerStrategyName> = {
  [persistentPb.CreateReq.ConsumerStrategy.DISPATCHTOSINGLE]: 'DispatchToSingle',
  [persistentPb.CreateReq.ConsumerStrategy.ROUNDROBIN]: 'RoundRobin',
  [persistentPb.CreateReq.ConsumerStrategy.PINNED]: 'Pinned',
};

export function groupNameOf(name: string): string {
  if (name.length === 0) throw invalidArgument('group_name must not be empty');
  return name;
}

export function definitionFromCreate(request: CreateReq): GroupDefinition {
  const options = request.getOptions();
  return withStrategyChecked(options, () => checked(readCreate(request)));
}

export function definitionFromUpdate(request: UpdateReq): GroupDefinition {
  const options = request.getOptions();
  return withStrategyChecked(options, () => checked(readUpdate(request)));
}

/** An unknown strategy fails as EventStoreDB fails it, naming the group and its stream. */
function withStrategyChecked(options: { getGroupName(): string; hasAll(): boolean; getStreamIdentifier(): StreamIdentifier | undefined; getStream?(): { getStreamIdentifier(): StreamIdentifier | undefined } | undefined } | undefined, read: () => GroupDefinition): GroupDefinition {
  try {
    return read();
  } catch (error) {
    if (!(error instanceof UnknownStrategyError) || !options) throw error;
    const identifier = options.getStream?.()?.getStreamIdentifier() ?? options.getStreamIdentifier();
    const stream = options.hasAll() ? ALL_STREAM : identifier ? Buffer.from(identifier.getStreamName_asU8()).toString('utf8') : '';
    throw persistentSubscriptionFailed(stream, options.getGroupName(), error.message);
  }
}

function readCreate(request: CreateReq): GroupDefinition {
  const options = request.getOptions();
  if (!options) throw invalidArgument('options are required');
  const settings = options.getSettings();
  if (!settings) throw invalidArgument('settings are required');
  const group = groupNameOf(options.getGroupName());
  const Case = persistentPb.CreateReq.Options.StreamOptionCase;
  switch (options.getStreamOptionCase()) {
    case Case.ALL: {
      const all = options.getAll()!;
      return { source: { kind: 'all', filter: filterOf(all) }, group, startFrom: allStartOf(all), settings: settingsOf(settings) };
    }
    case Case.STREAM:
      return streamDefinition(group, settings, options.getStream()!);
    default:
      return streamDefinition(group, settings, undefined, options.getStreamIdentifier());
  }
}

function readUpdate(request: UpdateReq): GroupDefinition {
  const options = request.getOptions();
  if (!options) throw invalidArgument('options are required');
  const settings = options.getSettings();
  if (!settings) throw invalidArgument('settings are required');
  const group = groupNameOf(options.getGroupName());
  const Case = persistentPb.UpdateReq.Options.StreamOptionCase;
  switch (options.getStreamOptionCase()) {
    case Case.ALL: {
      // An update cannot change the filter; the service keeps the existing one.
      return { source: { kind: 'all' }, group, startFrom: allStartOf(options.getAll()!), settings: settingsOf(settings) };
    }
    case Case.STREAM:
      return streamDefinition(group, settings, options.getStream()!);
    default:
      return streamDefinition(group, settings, undefined, options.getStreamIdentifier());
  }
}

/**
 * A group on one stream, from Create or Update: the stream option, or (older clients, and the
 * 6.x client still) the deprecated `Options.stream_identifier` with `Settings.revision`.
 */
function streamDefinition(
  group: string,
  settings: CreateSettings | UpdateSettings,
  stream: (RevisionOptions & { getStreamIdentifier(): StreamIdentifier | undefined }) | undefined,
  deprecatedIdentifier?: StreamIdentifier,
): GroupDefinition {
  return {
    source: streamSource(stream ? stream.getStreamIdentifier() : deprecatedIdentifier),
    group,
    startFrom: stream ? streamStartOf(stream, settings) : deprecatedRevision(settings.getRevision()),
    settings: settingsOf(settings),
  };
}

/** The stream-or-$all oneof of Delete, GetInfo, Read and ReplayParked. */
export function sourceOf(hasAll: boolean, identifier: StreamIdentifier | undefined): EventSource {
  if (hasAll) return { kind: 'all' };
  return streamSource(identifier);
}

function streamSource(identifier: StreamIdentifier | undefined): EventSource {
  const stream = streamNameOf(identifier);
  if (stream === ALL_STREAM) return { kind: 'all' };
  return { kind: 'stream', stream };
}

interface RevisionOptions {
  hasRevision(): boolean;
  getRevision(): string;
  hasStart(): boolean;
  hasEnd(): boolean;
}

function streamStartOf(stream: RevisionOptions, settings: CreateSettings | UpdateSettings): StartFrom {
  if (stream.hasStart()) return { kind: 'start' };
  if (stream.hasEnd()) return { kind: 'end' };
  if (stream.hasRevision()) return deprecatedRevision(stream.getRevision());
  return deprecatedRevision(settings.getRevision());
}

function deprecatedRevision(revision: string): StartFrom {
  if (revision === '' || revision === '0') return { kind: 'start' };
  if (revision === UINT64_MAX || revision === '-1') return { kind: 'end' };
  return { kind: 'at', value: parseUint64(revision, 'revision') };
}

interface AllStartOptions {
  hasStart(): boolean;
  hasEnd(): boolean;
  hasPosition(): boolean;
  getPosition(): { getCommitPosition(): string } | undefined;
}

function allStartOf(all: AllStartOptions): StartFrom {
  if (all.hasEnd()) return { kind: 'end' };
  if (all.hasPosition()) {
    const commit = all.getPosition()!.getCommitPosition();
    if (commit === UINT64_MAX) return { kind: 'end' };
    const value = parseUint64(commit, 'commit_position');
    return value === 0 ? { kind: 'start' } : { kind: 'at', value };
  }
  return { kind: 'start' };
}

function filterOf(all: InstanceType<typeof persistentPb.CreateReq.AllOptions>): SourceFilter | undefined {
  if (!all.hasFilter()) return undefined;
  const options = all.getFilter()!;
  const expression = options.hasStreamIdentifier() ? options.getStreamIdentifier() : options.getEventType();
  if (!expression) throw invalidArgument('filter needs a stream identifier or event type expression');
  const filter: SourceFilter = { on: options.hasStreamIdentifier() ? 'stream' : 'event_type' };
  // As EventStoreDB: a regex, when given, is the filter and the prefixes are ignored.
  const prefixes = expression.getPrefixList();
  const regex = expression.getRegex();
  if (regex.length === 0 && prefixes.length > 0) filter.prefixes = prefixes;
  if (regex.length > 0) {
    try {
      new RegExp(regex);
    } catch {
      throw invalidArgument(`filter regex is not valid: '${regex}'`);
    }
    filter.regex = regex;
  }
  return filter;
}

interface SettingsMessage {
  getResolveLinks(): boolean;
  getExtraStatistics(): boolean;
  getMaxRetryCount(): number;
  getMinCheckpointCount(): number;
  getMaxCheckpointCount(): number;
  getMaxSubscriberCount(): number;
  getLiveBufferSize(): number;
  getReadBatchSize(): number;
  getHistoryBufferSize(): number;
  getNamedConsumerStrategy(): number;
  hasMessageTimeoutMs(): boolean;
  getMessageTimeoutMs(): number;
  hasMessageTimeoutTicks(): boolean;
  getMessageTimeoutTicks(): string;
  hasCheckpointAfterMs(): boolean;
  getCheckpointAfterMs(): number;
  hasCheckpointAfterTicks(): boolean;
  getCheckpointAfterTicks(): string;
  getConsumerStrategy?(): string;
}

function settingsOf(message: SettingsMessage): GroupSettings {
  const settings: GroupSettings = {
    resolveLinkTos: message.getResolveLinks(),
    extraStatistics: message.getExtraStatistics(),
    messageTimeoutMs: durationMs(message.hasMessageTimeoutMs(), message.getMessageTimeoutMs(), message.hasMessageTimeoutTicks(), message.getMessageTimeoutTicks()),
    maxRetryCount: message.getMaxRetryCount(),
    checkPointAfterMs: durationMs(message.hasCheckpointAfterMs(), message.getCheckpointAfterMs(), message.hasCheckpointAfterTicks(), message.getCheckpointAfterTicks()),
    checkPointLowerBound: message.getMinCheckpointCount(),
    checkPointUpperBound: message.getMaxCheckpointCount(),
    maxSubscriberCount: message.getMaxSubscriberCount(),
    liveBufferSize: message.getLiveBufferSize(),
    readBatchSize: message.getReadBatchSize(),
    historyBufferSize: message.getHistoryBufferSize(),
    consumerStrategy: strategyOf(message),
  };
  return settings;
}

/** Create and Update fail as EventStoreDB fails them: PersistentSubscriptionFailed with the reason. */
function checked(definition: GroupDefinition): GroupDefinition {
  const problem = settingsProblem(definition.settings);
  if (problem) throw persistentSubscriptionFailed(sourceName(definition.source), definition.group, problem);
  return definition;
}

export function persistentSubscriptionFailed(stream: string, group: string, reason: string) {
  return rpcError(grpc.status.FAILED_PRECONDITION, `Subscription group ${group} on stream ${stream} failed: '${reason}'`, {
    exception: 'persistent-subscription-failed',
    'stream-name': stream,
    'group-name': group,
    reason,
  });
}

class UnknownStrategyError extends Error {
  constructor(readonly strategy: string) {
    super(`Consumer strategy ${strategy} does not exist.`);
  }
}

function strategyOf(message: SettingsMessage): ConsumerStrategyName {
  const named = message.getConsumerStrategy?.() ?? '';
  if (named.length > 0) {
    const found = CONSUMER_STRATEGIES.find((strategy) => strategy.toLowerCase() === named.toLowerCase());
    if (!found) throw new UnknownStrategyError(named);
    return found;
  }
  const strategy = NAMED_STRATEGIES[message.getNamedConsumerStrategy()];
  if (!strategy) throw new UnknownStrategyError(String(message.getNamedConsumerStrategy()));
  return strategy;
}

function durationMs(hasMs: boolean, ms: number, hasTicks: boolean, ticks: string): number {
  if (hasMs) return ms;
  if (hasTicks) return Math.floor(parseUint64(ticks, 'ticks') / TICKS_PER_MS);
  return 0;
}
