// Persistent subscription settings are checked as EventStoreDB checks them, no more and no
// fewer: it refuses a read batch that does not fit the history buffer (PersistentSubscriptionFailed,
// with the reason), and takes every other combination. (An unknown strategy fails the same way,
// but the 6.x client cannot send one: it warns and sends RoundRobin.)
import { describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import {
  PersistentSubscriptionDoesNotExistError,
  PersistentSubscriptionFailedError,
  START,
  persistentSubscriptionToAllSettingsFromDefaults,
  persistentSubscriptionToStreamSettingsFromDefaults,
  streamNameFilter,
} from '@eventstore/db-client';
import { useTestEventStore } from '../../helpers/event-store.js';
import { appendNumbered, eventually, RecordingConsumer } from './support.js';

const esdb = useTestEventStore();
const streamName = () => `order-${randomUUID()}`;
const groupName = () => `group-${randomUUID().slice(0, 8)}`;

describe('settings EventStoreDB accepts', () => {
  it('takes checkPointUpperBound 1 with the default lower bound (10), and checkpoints after every acked event', async () => {
    const stream = streamName();
    const group = groupName();
    await appendNumbered(esdb.client, stream, 0, 3);
    await esdb.client.createPersistentSubscriptionToStream(stream, group, persistentSubscriptionToStreamSettingsFromDefaults({ startFrom: START, checkPointUpperBound: 1 }));
    const info = await esdb.client.getPersistentSubscriptionToStreamInfo(stream, group);
    expect(info.settings).toMatchObject({ checkPointLowerBound: 10, checkPointUpperBound: 1 });
    const consumer = new RecordingConsumer(esdb.client.subscribeToPersistentSubscriptionToStream(stream, group));
    try {
      await eventually(() => consumer.received.length === 3);
      await eventually(async () => (await esdb.client.getPersistentSubscriptionToStreamInfo(stream, group)).stats.lastCheckpointedEventRevision === 2n);
    } finally {
      await consumer.stop();
    }
  });

  it.each([
    ['a lower bound above the upper bound', { checkPointLowerBound: 100, checkPointUpperBound: 5 }],
    ['a live buffer of 1', { liveBufferSize: 1 }],
    ['a read batch of 1 in a history buffer of 2', { readBatchSize: 1, historyBufferSize: 2 }],
    ['no retries at all', { maxRetryCount: 0 }],
  ])('takes %s and delivers every event', async (_name, settings) => {
    const stream = streamName();
    const group = groupName();
    await appendNumbered(esdb.client, stream, 0, 25);
    await esdb.client.createPersistentSubscriptionToStream(stream, group, persistentSubscriptionToStreamSettingsFromDefaults({ startFrom: START, ...settings }));
    const consumer = new RecordingConsumer(esdb.client.subscribeToPersistentSubscriptionToStream(stream, group));
    try {
      await appendNumbered(esdb.client, stream, 25, 5);
      await eventually(() => consumer.received.length >= 30);
      expect(consumer.numbers()).toEqual(Array.from({ length: 30 }, (_, i) => i));
    } finally {
      await consumer.stop();
    }
  });

  it('takes the same combinations on update, for a group to $all too', async () => {
    const group = groupName();
    await esdb.client.createPersistentSubscriptionToAll(group, persistentSubscriptionToAllSettingsFromDefaults(), { filter: streamNameFilter({ prefixes: ['fidelity-'] }) });
    await esdb.client.updatePersistentSubscriptionToAll(group, persistentSubscriptionToAllSettingsFromDefaults({ checkPointUpperBound: 1 }));
    const info = await esdb.client.getPersistentSubscriptionToAllInfo(group);
    expect(info.settings).toMatchObject({ checkPointLowerBound: 10, checkPointUpperBound: 1 });
  });
});

describe('settings EventStoreDB refuses', () => {
  it.each([
    ['a read batch as large as the history buffer', { readBatchSize: 50, historyBufferSize: 50 }],
    ['a read batch larger than the history buffer', { readBatchSize: 100, historyBufferSize: 20 }],
  ])('refuses %s with PersistentSubscriptionFailedError and creates nothing', async (_name, settings) => {
    const stream = streamName();
    const group = groupName();
    const error = await esdb.client
      .createPersistentSubscriptionToStream(stream, group, persistentSubscriptionToStreamSettingsFromDefaults(settings))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PersistentSubscriptionFailedError);
    expect(error).toMatchObject({ streamName: stream, groupName: group, reason: 'ReadBatchSize may not be greater than or equal to BufferSize' });
    await expect(esdb.client.getPersistentSubscriptionToStreamInfo(stream, group)).rejects.toBeInstanceOf(PersistentSubscriptionDoesNotExistError);
  });

  it('refuses the same on update and keeps the group as it was', async () => {
    const stream = streamName();
    const group = groupName();
    await esdb.client.createPersistentSubscriptionToStream(stream, group, persistentSubscriptionToStreamSettingsFromDefaults({ readBatchSize: 20 }));
    const error = await esdb.client
      .updatePersistentSubscriptionToStream(stream, group, persistentSubscriptionToStreamSettingsFromDefaults({ readBatchSize: 600, historyBufferSize: 500 }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PersistentSubscriptionFailedError);
    expect((await esdb.client.getPersistentSubscriptionToStreamInfo(stream, group)).settings.readBatchSize).toBe(20);
  });
});
