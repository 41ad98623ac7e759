// A persistent subscription group's definition with the service's own buffer sizes
// (src/subscriptions/group-settings.ts), and events of a given size, for the group unit tests.
import { randomUUID } from 'node:crypto';
import { afterEach } from 'vitest';
import { openSqliteEventLog } from '../../../src/esdb-server/log/sqlite-event-log.js';
import type { EventLog } from '../../../src/esdb-server/log/types.js';
import type { EventSource, GroupDefinition } from '../../../src/esdb-server/persistent/definition.js';
import { SharedTail } from '../../../src/esdb-server/persistent/shared-tail.js';
import { SubscriptionGroup } from '../../../src/esdb-server/persistent/subscription-group.js';

/** Opens a test's in-memory event log and its group on it; both are closed after each test. */
export function groupHarness() {
  let log: EventLog | undefined;
  let group: SubscriptionGroup | undefined;
  afterEach(async () => {
    await group?.stop('shutdown', { checkpoint: false });
    await log?.close();
    group = log = undefined;
  });
  return {
    openLog: (): EventLog => (log = openSqliteEventLog({ file: ':memory:' })),
    openGroup: (definition: GroupDefinition, on: EventLog): SubscriptionGroup => (group = new SubscriptionGroup(definition, on, new SharedTail(on))),
  };
}

export function groupDefinition(source: EventSource, consumerStrategy: GroupDefinition['settings']['consumerStrategy'] = 'RoundRobin'): GroupDefinition {
  return {
    source,
    group: 'g',
    startFrom: { kind: 'start' },
    settings: {
      resolveLinkTos: false,
      extraStatistics: false,
      messageTimeoutMs: 0,
      maxRetryCount: 10,
      checkPointAfterMs: 60_000,
      checkPointLowerBound: 1_000,
      checkPointUpperBound: 10_000,
      maxSubscriberCount: 0,
      // 5,000 events of 64 KB would be 320 MB read ahead.
      liveBufferSize: 1_000,
      readBatchSize: 500,
      historyBufferSize: 5_000,
      consumerStrategy,
    },
  };
}

/** `count` events of `bytes` of data each on `stream`, numbered in their data (`{"n":i}`). */
export async function appendSized(log: EventLog, stream: string, count: number, bytes: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const data = Buffer.alloc(bytes, 32);
    data.write(`{"n":${i}}`);
    await log.append(stream, 'any', [{ id: randomUUID(), type: 'order.created', contentType: 'application/json', data, metadata: Buffer.from('{}') }]);
  }
}
