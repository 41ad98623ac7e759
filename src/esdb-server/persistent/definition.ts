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

/**
 * Why EventStoreDB refuses these settings; undefined when it takes them. EventStoreDB (23.x)
 * checks only that a read batch fits the history buffer (the PersistentSubscription constructor;
 * the strategy is checked where it is named): any other combination is accepted, e.g.
 * checkPointUpperBound 1 with the default lower bound 10. The group copes with the odd values
 * (see effectiveSizes in subscription-group.ts).
 */
export function settingsProblem(settings: GroupSettings): string | undefined {
  if (settings.readBatchSize >= settings.historyBufferSize) return 'ReadBatchSize may not be greater than or equal to BufferSize';
  return undefined;
}
