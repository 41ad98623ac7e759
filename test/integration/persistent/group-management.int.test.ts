import { describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import {
  DISPATCH_TO_SINGLE,
  END,
  PersistentSubscriptionDoesNotExistError,
  PersistentSubscriptionDroppedError,
  PersistentSubscriptionExistsError,
  PersistentSubscriptionMaximumSubscribersReachedError,
  PINNED,
  START,
  jsonEvent,
  persistentSubscriptionToAllSettingsFromDefaults,
  persistentSubscriptionToStreamSettingsFromDefaults,
  streamNameFilter,
  eventTypeFilter,
} from '@eventstore/db-client';
import { useTestEventStore } from '../../helpers/event-store.js';
import { appendNumbered, eventually, RecordingConsumer } from './support.js';

const esdb = useTestEventStore();

const streamName = () => `order-${randomUUID()}`;
const groupName = () => `group-${randomUUID().slice(0, 8)}`;

describe('creating and reading back groups', () => {
  it('reports every setting of a group to a stream as it was created', async () => {
    const stream = streamName();
    const settings = persistentSubscriptionToStreamSettingsFromDefaults({
      startFrom: BigInt(3),
      resolveLinkTos: true,
      extraStatistics: true,
      messageTimeout: 1234,
      maxRetryCount: 7,
      checkPointAfter: 456,
      checkPointLowerBound: 3,
      checkPointUpperBound: 30,
      maxSubscriberCount: 4,
      liveBufferSize: 40,
      readBatchSize: 9,
      historyBufferSize: 60,
      consumerStrategyName: PINNED,
    });
    await esdb.client.createPersistentSubscriptionToStream(stream, 'g', settings);
    const info = await esdb.client.getPersistentSubscriptionToStreamInfo(stream, 'g');
    expect(info.eventSource).toBe(stream);
    expect(info.groupName).toBe('g');
    expect(info.settings).toEqual(settings);
    expect(info.connections).toEqual([]);
  });

  it('reports start and end of a stream group as START and END', async () => {
    const stream = streamName();
    await esdb.client.createPersistentSubscriptionToStream(stream, 'from-start', persistentSubscriptionToStreamSettingsFromDefaults({ startFrom: START }));
    await esdb.client.createPersistentSubscriptionToStream(stream, 'from-end', persistentSubscriptionToStreamSettingsFromDefaults({ startFrom: END }));
    expect((await esdb.client.getPersistentSubscriptionToStreamInfo(stream, 'from-start')).settings.startFrom).toBe(START);
    expect((await esdb.client.getPersistentSubscriptionToStreamInfo(stream, 'from-end')).settings.startFrom).toBe(END);
  });

  it('reports the settings and start position of a group to $all', async () => {
    const group = groupName();
    const settings = persistentSubscriptionToAllSettingsFromDefaults({
      startFrom: { commit: 5n, prepare: 5n },
      consumerStrategyName: DISPATCH_TO_SINGLE,
      messageTimeout: 2000,
    });
    await esdb.client.createPersistentSubscriptionToAll(group, settings, { filter: streamNameFilter({ prefixes: ['invoice-'] }) });
    const info = await esdb.client.getPersistentSubscriptionToAllInfo(group);
    expect(info.eventSource).toBe('$all');
    expect(info.settings).toEqual(settings);
  });

  it('refuses a second group with the same name on the same stream', async () => {
    const stream = streamName();
    await esdb.client.createPersistentSubscriptionToStream(stream, 'g', persistentSubscriptionToStreamSettingsFromDefaults());
    const error = await esdb.client.createPersistentSubscriptionToStream(stream, 'g', persistentSubscriptionToStreamSettingsFromDefaults()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PersistentSubscriptionExistsError);
    expect((error as PersistentSubscriptionExistsError).streamName).toBe(stream);
    expect((error as PersistentSubscriptionExistsError).groupName).toBe('g');
    // the same group name on another stream is a different group
    await esdb.client.createPersistentSubscriptionToStream(streamName(), 'g', persistentSubscriptionToStreamSettingsFromDefaults());
  });

  it('refuses a second group with the same name on $all', async () => {
    const group = groupName();
    await esdb.client.createPersistentSubscriptionToAll(group, persistentSubscriptionToAllSettingsFromDefaults());
    await expect(esdb.client.createPersistentSubscriptionToAll(group, persistentSubscriptionToAllSettingsFromDefaults())).rejects.toBeInstanceOf(
      PersistentSubscriptionExistsError,
    );
  });

  it('rejects settings EventStoreDB rejects: a read batch as large as the history buffer', async () => {
    const stream = streamName();
    await expect(
      esdb.client.createPersistentSubscriptionToStream(stream, 'g', persistentSubscriptionToStreamSettingsFromDefaults({ readBatchSize: 50, historyBufferSize: 50 })),
    ).rejects.toThrow(/ReadBatchSize may not be greater than or equal to BufferSize/);
    await expect(esdb.client.getPersistentSubscriptionToStreamInfo(stream, 'g')).rejects.toBeInstanceOf(PersistentSubscriptionDoesNotExistError);
  });
});

describe('groups that do not exist', () => {
  it('fail getInfo, update, delete, replay and subscribe with PersistentSubscriptionDoesNotExistError', async () => {
    const stream = streamName();
    const settings = persistentSubscriptionToStreamSettingsFromDefaults();
    const failures = await Promise.all([
      esdb.client.getPersistentSubscriptionToStreamInfo(stream, 'missing').catch((e: unknown) => e),
      esdb.client.updatePersistentSubscriptionToStream(stream, 'missing', settings).catch((e: unknown) => e),
      esdb.client.deletePersistentSubscriptionToStream(stream, 'missing').catch((e: unknown) => e),
      esdb.client.replayParkedMessagesToStream(stream, 'missing').catch((e: unknown) => e),
      esdb.client.getPersistentSubscriptionToAllInfo('missing').catch((e: unknown) => e),
      esdb.client.deletePersistentSubscriptionToAll('missing').catch((e: unknown) => e),
    ]);
    for (const failure of failures) expect(failure).toBeInstanceOf(PersistentSubscriptionDoesNotExistError);
    expect((failures[0] as PersistentSubscriptionDoesNotExistError).streamName).toBe(stream);
    expect((failures[0] as PersistentSubscriptionDoesNotExistError).groupName).toBe('missing');

    const consumer = new RecordingConsumer(esdb.client.subscribeToPersistentSubscriptionToStream(stream, 'missing'));
    await eventually(() => consumer.errors.length > 0);
    expect(consumer.errors[0]).toBeInstanceOf(PersistentSubscriptionDoesNotExistError);
  });
});

describe('listing groups', () => {
  it('lists the groups of one stream, of $all, and of everything', async () => {
    const stream = streamName();
    const allGroup = groupName();
    await esdb.client.createPersistentSubscriptionToStream(stream, 'a', persistentSubscriptionToStreamSettingsFromDefaults());
    await esdb.client.createPersistentSubscriptionToStream(stream, 'b', persistentSubscriptionToStreamSettingsFromDefaults({ startFrom: START }));
    await esdb.client.createPersistentSubscriptionToAll(allGroup, persistentSubscriptionToAllSettingsFromDefaults());

    const forStream = await esdb.client.listPersistentSubscriptionsToStream(stream);
    expect(forStream.map((info) => info.groupName).sort()).toEqual(['a', 'b']);
    expect(forStream.every((info) => info.eventSource === stream)).toBe(true);

    const forAll = await esdb.client.listPersistentSubscriptionsToAll();
    expect(forAll.map((info) => info.groupName)).toContain(allGroup);
    expect(forAll.every((info) => info.eventSource === '$all')).toBe(true);

    const everything = await esdb.client.listAllPersistentSubscriptions();
    const keys = everything.map((info) => `${info.eventSource}/${info.groupName}`);
    expect(keys).toEqual(expect.arrayContaining([`${stream}/a`, `${stream}/b`, `$all/${allGroup}`]));
  });

  it('fails listing a stream without groups with PersistentSubscriptionDoesNotExistError', async () => {
    await expect(esdb.client.listPersistentSubscriptionsToStream(streamName())).rejects.toBeInstanceOf(PersistentSubscriptionDoesNotExistError);
  });
});

describe('filters of groups to $all', () => {
  it('delivers only events whose stream matches the stream-name filter', async () => {
    const group = groupName();
    const prefix = `inv${randomUUID().slice(0, 6)}-`;
    await esdb.client.createPersistentSubscriptionToAll(group, persistentSubscriptionToAllSettingsFromDefaults({ startFrom: END }), {
      filter: streamNameFilter({ prefixes: [prefix] }),
    });
    const consumer = new RecordingConsumer(esdb.client.subscribeToPersistentSubscriptionToAll(group));
    await appendNumbered(esdb.client, `${prefix}1`, 0, 2);
    await appendNumbered(esdb.client, streamName(), 100, 3);
    await appendNumbered(esdb.client, `${prefix}2`, 2, 2);
    await eventually(() => consumer.received.length === 4);
    expect(consumer.numbers()).toEqual([0, 1, 2, 3]);
    expect(consumer.received.every((event) => event.event!.streamId.startsWith(prefix))).toBe(true);
    await consumer.stop();
  });

  it('delivers only events whose type matches the event-type regex filter', async () => {
    const group = groupName();
    const type = `Shipped${randomUUID().slice(0, 6)}`;
    await esdb.client.createPersistentSubscriptionToAll(group, persistentSubscriptionToAllSettingsFromDefaults({ startFrom: END }), {
      filter: eventTypeFilter({ regex: `^${type}$` }),
    });
    const consumer = new RecordingConsumer(esdb.client.subscribeToPersistentSubscriptionToAll(group));
    const stream = streamName();
    await esdb.client.appendToStream(stream, [
      jsonEvent({ type: 'Placed', data: { n: 0 } }),
      jsonEvent({ type, data: { n: 1 } }),
      jsonEvent({ type: `${type}Not`, data: { n: 2 } }),
      jsonEvent({ type, data: { n: 3 } }),
    ]);
    await eventually(() => consumer.received.length === 2);
    expect(consumer.numbers()).toEqual([1, 3]);
    await consumer.stop();
  });
});

describe('limits on consumers', () => {
  it('refuses a consumer beyond maxSubscriberCount with MaximumSubscribersReachedError', async () => {
    const stream = streamName();
    await esdb.client.createPersistentSubscriptionToStream(stream, 'g', persistentSubscriptionToStreamSettingsFromDefaults({ maxSubscriberCount: 2 }));
    const first = new RecordingConsumer(esdb.client.subscribeToPersistentSubscriptionToStream(stream, 'g'));
    const second = new RecordingConsumer(esdb.client.subscribeToPersistentSubscriptionToStream(stream, 'g'));
    await eventually(async () => (await esdb.client.getPersistentSubscriptionToStreamInfo(stream, 'g')).connections.length === 2);
    const third = new RecordingConsumer(esdb.client.subscribeToPersistentSubscriptionToStream(stream, 'g'));
    await eventually(() => third.errors.length > 0);
    expect(third.errors[0]).toBeInstanceOf(PersistentSubscriptionMaximumSubscribersReachedError);
    expect(first.errors).toEqual([]);
    expect(second.errors).toEqual([]);
    await first.stop();
    await second.stop();
  });
});

describe('updating and deleting groups with live consumers', () => {
  it('drops consumers on update, applies the new settings, and a new consumer resumes without losing events', async () => {
    const stream = streamName();
    await esdb.client.createPersistentSubscriptionToStream(
      stream,
      'g',
      persistentSubscriptionToStreamSettingsFromDefaults({ startFrom: START, checkPointAfter: 20, checkPointLowerBound: 1 }),
    );
    await appendNumbered(esdb.client, stream, 0, 5);
    const before = new RecordingConsumer(esdb.client.subscribeToPersistentSubscriptionToStream(stream, 'g'));
    await eventually(() => before.received.length === 5);
    await eventually(async () => (await esdb.client.getPersistentSubscriptionToStreamInfo(stream, 'g')).stats.lastCheckpointedEventRevision === 4n);

    await esdb.client.updatePersistentSubscriptionToStream(stream, 'g', persistentSubscriptionToStreamSettingsFromDefaults({ startFrom: START, maxRetryCount: 3 }));
    await eventually(() => before.errors.length > 0);
    expect(before.errors[0]).toBeInstanceOf(PersistentSubscriptionDroppedError);
    expect((await esdb.client.getPersistentSubscriptionToStreamInfo(stream, 'g')).settings.maxRetryCount).toBe(3);

    await appendNumbered(esdb.client, stream, 5, 3);
    const after = new RecordingConsumer(esdb.client.subscribeToPersistentSubscriptionToStream(stream, 'g'));
    await eventually(() => after.received.length === 3);
    expect(after.numbers()).toEqual([5, 6, 7]);
    await after.stop();
  });

  it('drops consumers on delete, removes the group, and a group created again starts afresh', async () => {
    const stream = streamName();
    await appendNumbered(esdb.client, stream, 0, 3);
    const settings = persistentSubscriptionToStreamSettingsFromDefaults({ startFrom: START, checkPointAfter: 20, checkPointLowerBound: 1 });
    await esdb.client.createPersistentSubscriptionToStream(stream, 'g', settings);
    const consumer = new RecordingConsumer(esdb.client.subscribeToPersistentSubscriptionToStream(stream, 'g'), async (event, self) => {
      if ((event.event!.data as { n: number }).n === 2) await self.subscription.nack('park', 'bad', event);
      else await self.subscription.ack(event);
    });
    await eventually(async () => (await esdb.client.getPersistentSubscriptionToStreamInfo(stream, 'g')).stats.parkedMessageCount === 1n);
    await eventually(async () => (await esdb.client.getPersistentSubscriptionToStreamInfo(stream, 'g')).stats.lastCheckpointedEventRevision === 2n);

    await esdb.client.deletePersistentSubscriptionToStream(stream, 'g');
    await eventually(() => consumer.errors.length > 0);
    expect(consumer.errors[0]).toBeInstanceOf(PersistentSubscriptionDroppedError);
    await expect(esdb.client.getPersistentSubscriptionToStreamInfo(stream, 'g')).rejects.toBeInstanceOf(PersistentSubscriptionDoesNotExistError);

    await esdb.client.createPersistentSubscriptionToStream(stream, 'g', settings);
    const info = await esdb.client.getPersistentSubscriptionToStreamInfo(stream, 'g');
    expect(info.stats.parkedMessageCount).toBe(0n);
    const again = new RecordingConsumer(esdb.client.subscribeToPersistentSubscriptionToStream(stream, 'g'));
    await eventually(() => again.received.length === 3);
    expect(again.numbers()).toEqual([0, 1, 2]);
    await again.stop();
  });

  it('keeps the filter of a group to $all through an update of its settings', async () => {
    const group = groupName();
    const prefix = `upd${randomUUID().slice(0, 6)}-`;
    await esdb.client.createPersistentSubscriptionToAll(group, persistentSubscriptionToAllSettingsFromDefaults({ startFrom: END }), {
      filter: streamNameFilter({ prefixes: [prefix] }),
    });
    await esdb.client.updatePersistentSubscriptionToAll(group, persistentSubscriptionToAllSettingsFromDefaults({ startFrom: END, maxRetryCount: 2 }));
    expect((await esdb.client.getPersistentSubscriptionToAllInfo(group)).settings.maxRetryCount).toBe(2);
    const consumer = new RecordingConsumer(esdb.client.subscribeToPersistentSubscriptionToAll(group));
    await eventually(async () => (await esdb.client.getPersistentSubscriptionToAllInfo(group)).connections.length === 1);
    await appendNumbered(esdb.client, streamName(), 100, 2);
    await appendNumbered(esdb.client, `${prefix}1`, 0, 2);
    await eventually(() => consumer.received.length === 2);
    expect(consumer.numbers()).toEqual([0, 1]);
    await consumer.stop();
  });

  it('deletes a group to $all and drops its consumers', async () => {
    const group = groupName();
    await esdb.client.createPersistentSubscriptionToAll(group, persistentSubscriptionToAllSettingsFromDefaults());
    const consumer = new RecordingConsumer(esdb.client.subscribeToPersistentSubscriptionToAll(group));
    await eventually(async () => (await esdb.client.getPersistentSubscriptionToAllInfo(group)).connections.length === 1);
    await esdb.client.deletePersistentSubscriptionToAll(group);
    await eventually(() => consumer.errors.length > 0);
    expect(consumer.errors[0]).toBeInstanceOf(PersistentSubscriptionDroppedError);
    expect((await esdb.client.listAllPersistentSubscriptions()).some((info) => info.groupName === group)).toBe(false);
  });

  it('restarting the subsystem drops consumers and keeps every group and its position', async () => {
    const stream = streamName();
    await esdb.client.createPersistentSubscriptionToStream(
      stream,
      'g',
      persistentSubscriptionToStreamSettingsFromDefaults({ startFrom: START, checkPointAfter: 20, checkPointLowerBound: 1 }),
    );
    await appendNumbered(esdb.client, stream, 0, 2);
    const consumer = new RecordingConsumer(esdb.client.subscribeToPersistentSubscriptionToStream(stream, 'g'));
    await eventually(() => consumer.received.length === 2);
    await eventually(async () => (await esdb.client.getPersistentSubscriptionToStreamInfo(stream, 'g')).stats.lastCheckpointedEventRevision === 1n);
    await esdb.client.restartPersistentSubscriptionSubsystem();
    await eventually(() => consumer.errors.length > 0 || consumer.ended);

    await appendNumbered(esdb.client, stream, 2, 2);
    const again = new RecordingConsumer(esdb.client.subscribeToPersistentSubscriptionToStream(stream, 'g'));
    await eventually(() => again.received.length === 2);
    expect(again.numbers()).toEqual([2, 3]);
    await again.stop();
  });
});
