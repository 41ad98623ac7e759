import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  EventStoreDBClient,
  PINNED,
  START,
  persistentSubscriptionToAllSettingsFromDefaults,
  persistentSubscriptionToStreamSettingsFromDefaults,
  streamNameFilter,
} from '@eventstore/db-client';
import { startCli } from '../../helpers/cli.js';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { appendNumbered, eventually, numberOf, RecordingConsumer } from './support.js';

const stores: TestEventStore[] = [];
let dataDir: string | undefined;
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  dataDir = undefined;
});

async function first(): Promise<TestEventStore> {
  const store = await startTestEventStore({ durable: true });
  dataDir = store.dataDir;
  stores.push(store);
  return store;
}

/** Stops the server (keeping its folder: the test removes it) and starts another on the same data. */
async function reopen(previous: TestEventStore): Promise<TestEventStore> {
  stores.splice(stores.indexOf(previous), 1);
  await previous.client.dispose();
  await previous.server.close();
  const store = await startTestEventStore({ dataDir });
  stores.push(store);
  return store;
}

describe('a server restarted on the same data', () => {
  it('keeps its groups and resumes a stream group after its checkpoint, without losing or re-sending acked events', async () => {
    const store = await first();
    const settings = persistentSubscriptionToStreamSettingsFromDefaults({
      startFrom: START,
      checkPointAfter: 20,
      checkPointLowerBound: 1,
      maxRetryCount: 4,
      consumerStrategyName: PINNED,
    });
    await store.client.createPersistentSubscriptionToStream('order-1', 'g', settings);
    await appendNumbered(store.client, 'order-1', 0, 10);
    const consumer = new RecordingConsumer(store.client.subscribeToPersistentSubscriptionToStream('order-1', 'g'), async (event, self) => {
      if (numberOf(event) < 5) await self.subscription.ack(event);
    });
    await eventually(() => consumer.received.length === 10);
    await eventually(async () => (await store.client.getPersistentSubscriptionToStreamInfo('order-1', 'g')).stats.lastCheckpointedEventRevision === 4n);

    const restarted = await reopen(store);
    const info = await restarted.client.getPersistentSubscriptionToStreamInfo('order-1', 'g');
    expect(info.settings).toEqual(settings);
    expect(info.stats.lastCheckpointedEventRevision).toBe(4n);
    await appendNumbered(restarted.client, 'order-1', 10, 2);
    const resumed = new RecordingConsumer(restarted.client.subscribeToPersistentSubscriptionToStream('order-1', 'g'));
    await eventually(() => resumed.received.length === 7);
    expect(resumed.numbers()).toEqual([5, 6, 7, 8, 9, 10, 11]);
    await resumed.stop();
  });

  it('resumes a group to $all with its filter, and keeps its parked messages for replay', async () => {
    const store = await first();
    await store.client.createPersistentSubscriptionToAll(
      'all-group',
      persistentSubscriptionToAllSettingsFromDefaults({ startFrom: START, checkPointAfter: 20, checkPointLowerBound: 1 }),
      { filter: streamNameFilter({ prefixes: ['invoice-'] }) },
    );
    await appendNumbered(store.client, 'invoice-1', 0, 3);
    await appendNumbered(store.client, 'order-9', 100, 3);
    const consumer = new RecordingConsumer(store.client.subscribeToPersistentSubscriptionToAll('all-group'), async (event, self) => {
      if (numberOf(event) === 1) await self.subscription.nack('park', 'broken', event);
      else await self.subscription.ack(event);
    });
    await eventually(() => consumer.received.length === 3);
    await eventually(async () => {
      const info = await store.client.getPersistentSubscriptionToAllInfo('all-group');
      return info.stats.parkedMessageCount === 1n && info.stats.lastCheckpointedEventPosition !== undefined && info.stats.outstandingMessagesCount === 0;
    });
    await eventually(async () => {
      const info = await store.client.getPersistentSubscriptionToAllInfo('all-group');
      return info.stats.lastCheckpointedEventPosition!.commit >= info.stats.lastKnownEventPosition!.commit;
    });

    const restarted = await reopen(store);
    await appendNumbered(restarted.client, 'order-9', 103, 1);
    await appendNumbered(restarted.client, 'invoice-2', 3, 1);
    const resumed = new RecordingConsumer(restarted.client.subscribeToPersistentSubscriptionToAll('all-group'));
    await eventually(() => resumed.received.length === 1);
    expect(resumed.numbers()).toEqual([3]);

    expect((await restarted.client.getPersistentSubscriptionToAllInfo('all-group')).stats.parkedMessageCount).toBe(1n);
    await restarted.client.replayParkedMessagesToAll('all-group');
    await eventually(() => resumed.received.length === 2);
    expect(numberOf(resumed.received[1]!)).toBe(1);
    await resumed.stop();
  });

  it('redelivers after a restart the events that were delivered but not acked', async () => {
    const store = await first();
    await store.client.createPersistentSubscriptionToStream(
      'order-2',
      'g',
      persistentSubscriptionToStreamSettingsFromDefaults({ startFrom: START, checkPointAfter: 20, checkPointLowerBound: 1 }),
    );
    await appendNumbered(store.client, 'order-2', 0, 4);
    const consumer = new RecordingConsumer(store.client.subscribeToPersistentSubscriptionToStream('order-2', 'g'), 'hold');
    await eventually(() => consumer.received.length === 4);
    await consumer.ack(consumer.received[0]!, consumer.received[2]!);
    await eventually(async () => (await store.client.getPersistentSubscriptionToStreamInfo('order-2', 'g')).stats.lastCheckpointedEventRevision === 0n);

    const restarted = await reopen(store);
    const resumed = new RecordingConsumer(restarted.client.subscribeToPersistentSubscriptionToStream('order-2', 'g'));
    await eventually(() => resumed.received.length === 3);
    // 2 was acked after the checkpoint, so EventStoreDB's at-least-once delivery sends it again
    expect(resumed.numbers()).toEqual([1, 2, 3]);
    await resumed.stop();
  });

  it('ends the calls of connected consumers when the server closes', async () => {
    const store = await first();
    await store.client.createPersistentSubscriptionToStream('order-3', 'g', persistentSubscriptionToStreamSettingsFromDefaults({ startFrom: START }));
    const consumer = new RecordingConsumer(store.client.subscribeToPersistentSubscriptionToStream('order-3', 'g'), 'hold');
    await appendNumbered(store.client, 'order-3', 0, 2);
    await eventually(() => consumer.received.length === 2);
    const started = Date.now();
    await store.server.close();
    expect(Date.now() - started).toBeLessThan(1_500);
    await eventually(() => consumer.errors.length > 0 || consumer.ended);
  });
});

describe('a server killed with -9', () => {
  it('keeps the checkpoints and parked messages it acknowledged, and redelivers only what was not done', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'order-store-ps-kill-'));
    const server = startCli(['eventstore', '--port', '0', '--data', dataDir]);
    const connectionString = await eventually(() => server.output().stdout.trim().split('\n')[0] || undefined, { timeout: 15_000 });
    const client = EventStoreDBClient.connectionString(connectionString);
    try {
      await client.createPersistentSubscriptionToStream(
        'order-4',
        'g',
        persistentSubscriptionToStreamSettingsFromDefaults({ startFrom: START, checkPointAfter: 20, checkPointLowerBound: 1 }),
      );
      await appendNumbered(client, 'order-4', 0, 10);
      const consumer = new RecordingConsumer(client.subscribeToPersistentSubscriptionToStream('order-4', 'g'), async (event, self) => {
        if (numberOf(event) === 5) await self.subscription.nack('park', 'broken', event);
        else if (numberOf(event) < 7) await self.subscription.ack(event);
      });
      await eventually(async () => {
        const stats = (await client.getPersistentSubscriptionToStreamInfo('order-4', 'g')).stats;
        return stats.lastCheckpointedEventRevision === 6n && stats.parkedMessageCount === 1n;
      });
      expect(consumer.received).toHaveLength(10);
    } finally {
      server.child.kill('SIGKILL');
      await server.done;
      await client.dispose();
    }

    const restarted = await startTestEventStore({ dataDir });
    stores.push(restarted);
    const info = await restarted.client.getPersistentSubscriptionToStreamInfo('order-4', 'g');
    expect(info.stats.lastCheckpointedEventRevision).toBe(6n);
    expect(info.stats.parkedMessageCount).toBe(1n);
    const resumed = new RecordingConsumer(restarted.client.subscribeToPersistentSubscriptionToStream('order-4', 'g'));
    await eventually(() => resumed.received.length === 3);
    expect(resumed.numbers()).toEqual([7, 8, 9]);
    await restarted.client.replayParkedMessagesToStream('order-4', 'g');
    await eventually(() => resumed.received.length === 4);
    expect(numberOf(resumed.received[3]!)).toBe(5);
    await resumed.stop();
  });
});
