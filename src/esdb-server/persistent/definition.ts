// What a persistent subscription group is: its event source, where it starts and its settings.
// Plain data, so a definition can be stored as JSON in `$persistentSubscriptionConfig`.

export type ConsumerStrategyName = 'RoundRobin' | 'DispatchToSingle' | 'Pinned' | 'PinnedByCorrelation';

export const CONSUMER_STRATEGIES: readonly ConsumerStrategyName[] = ['RoundRobin', 'DispatchToSingle', 'Pinned', 'PinnedByCorrelation'];

export interface SourceFilter {
  on: 'stream' | 'event_type';
  prefixes?: string[];
  regex?: string;
}

export type EventSource = { kind: 'stream'; stream: string } | { kind: 'all'; filter?: SourceFilter };

/** For a stream a revision, for $all a position; `at` is inclusive. */
export type StartFrom = { kind: 'start' } | { kind: 'end' } | { kind: 'at'; value: number };

export interface GroupSettings {
  resolveLinkTos: boolean;
  extraStatistics: boolean;
  /** 0: messages never time out. */
  messageTimeoutMs: number;
  maxRetryCount: number;
  checkPointAfterMs: number;
  checkPointLowerBound: number;
  checkPointUpperBound: number;
  /** 0: unbounded. */
  maxSubscriberCount: number;
  liveBufferSize: number;
  readBatchSize: number;
  historyBufferSize: number;
  consumerStrategy: ConsumerStrategyName;
}

export interface GroupDefinition {
  source: EventSource;
  group: string;
  startFrom: StartFrom;
  settings: GroupSettings;
}

export const ALL_STREAM = '$all';

export function sourceName(source: EventSource): string {
  return source.kind === 'all' ? ALL_STREAM : source.stream;
}

/** `<stream>::<group>`, EventStoreDB's subscription id, used in its system stream names. */
export function subscriptionId(source: EventSource, group: string): string {
  return `${sourceName(source)}::${group}`;
}

export function checkpointStreamOf(source: EventSource, group: string): string {
  return `$persistentsubscription-${subscriptionId(source, group)}-checkpoint`;
}

export function parkedStreamOf(source: EventSource, group: string): string {
  return `$persistentsubscription-${subscriptionId(source, group)}-parked`;
}

/** Why a definition cannot work; undefined when it can. Mirrors EventStoreDB's own checks. */
export function settingsProblem(settings: GroupSettings): string | undefined {
  const counts: [keyof GroupSettings, number][] = [
    ['messageTimeoutMs', settings.messageTimeoutMs],
    ['maxRetryCount', settings.maxRetryCount],
    ['checkPointAfterMs', settings.checkPointAfterMs],
    ['checkPointLowerBound', settings.checkPointLowerBound],
    ['checkPointUpperBound', settings.checkPointUpperBound],
    ['maxSubscriberCount', settings.maxSubscriberCount],
  ];
  for (const [name, value] of counts) {
    if (!Number.isInteger(value) || value < 0) return `${name} must be a non-negative integer`;
  }
  const sizes: [keyof GroupSettings, number][] = [
    ['liveBufferSize', settings.liveBufferSize],
    ['readBatchSize', settings.readBatchSize],
    ['historyBufferSize', settings.historyBufferSize],
  ];
  for (const [name, value] of sizes) {
    if (!Number.isInteger(value) || value <= 0) return `${name} must be a positive integer`;
  }
  if (settings.readBatchSize >= settings.historyBufferSize) return 'readBatchSize may not be greater than or equal to historyBufferSize';
  if (settings.checkPointLowerBound > settings.checkPointUpperBound) return 'checkPointLowerBound may not be greater than checkPointUpperBound';
  return undefined;
}
