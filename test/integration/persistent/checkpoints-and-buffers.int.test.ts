import { describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import {
  END,
  START,
  persistentSubscriptionToAllSettingsFromDefaults,
  persistentSubscriptionToStreamSettingsFromDefaults,
  streamNameFilter,
  type PersistentSubscriptionToStreamSettings,
} from '@eventstore/db-client';
import { useTestEventStore } from '../../helpers/event-store.js';
import { appendNumbered, eventually, numberOf, RecordingConsumer } from './support.js';

const esdb = useTestEventStore();

const streamName = () => `order-${randomUUID()}`;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function group(stream: string, settings: Partial<PersistentSubscriptionToStreamSettings>): Promise<void> {
  await esdb.client.createPersistentSubscriptionToStream(stream, 'g', persistentSubscriptionToStreamSettingsFromDefaults({ startFrom: START, ...settings }));
}

const stats = async (stream: string) => (await esdb.client.getPersistentSubscriptionToStreamInfo(stream, 'g')).stats;

async function holdingConsumer(stream: string, count: number): Promise<RecordingConsumer> {
  const consumer = new RecordingConsumer(esdb.client.subscribeToPersistentSubscriptionToStream(stream, 'g', { bufferSize: 100 }), 'hold');
  await eventually(() => consumer.received.length === count);
  return consumer;
}

describe('checkpoints', () => {
  it('waits for checkPointLowerBound done messages before checkpointing after checkPointAfter', async () => {
    const stream = streamName();
    await group(stream, { checkPointAfter: 30, checkPointLowerBound: 5, checkPointUpperBound: 100 });
    await appendNumbered(esdb.client, stream, 0, 6);
    const consumer = await holdingConsumer(stream, 6);
    await consumer.ack(...consumer.received.slice(0, 3));
    await pause(200);
    expect((await stats(stream)).lastCheckpointedEventRevision).toBeUndefined();
    await consumer.ack(...consumer.received.slice(3, 5));
    await eventually(async () => (await stats(stream)).lastCheckpointedEventRevision === 4n);
    await consumer.stop();
  });

  it('checkpoints at once when checkPointUpperBound messages are done, without waiting for checkPointAfter', async () => {
    const stream = streamName();
    await group(stream, { checkPointAfter: 60_000, checkPointLowerBound: 1, checkPointUpperBound: 3 });
    await appendNumbered(esdb.client, stream, 0, 6);
    const consumer = await holdingConsumer(stream, 6);
    await consumer.ack(...consumer.received.slice(0, 3));
    await eventually(async () => (await stats(stream)).lastCheckpointedEventRevision === 2n);
    await consumer.ack(...consumer.received.slice(3, 5));
    await pause(200);
    expect((await stats(stream)).lastCheckpointedEventRevision).toBe(2n);
    await consumer.ack(consumer.received[5]!);
    await eventually(async () => (await stats(stream)).lastCheckpointedEventRevision === 5n);
    await consumer.stop();
  });

  it('never checkpoints past an event that is not acked yet', async () => {
    const stream = streamName();
    await group(stream, { checkPointAfter: 20, checkPointLowerBound: 1 });
    await appendNumbered(esdb.client, stream, 0, 5);
    const consumer = await holdingConsumer(stream, 5);
    const [e0, e1, e2, e3, e4] = consumer.received;
    await consumer.ack(e0!, e1!, e3!, e4!);
    await eventually(async () => (await stats(stream)).lastCheckpointedEventRevision === 1n);
    await pause(150);
    expect((await stats(stream)).lastCheckpointedEventRevision).toBe(1n);
    await consumer.ack(e2!);
    await eventually(async () => (await stats(stream)).lastCheckpointedEventRevision === 4n);
    await consumer.stop();
  });

  it('keeps checkpoints in a readable system stream: a revision for a stream, a position for $all', async () => {
    const stream = streamName();
    await group(stream, { checkPointAfter: 20, checkPointLowerBound: 1 });
    await appendNumbered(esdb.client, stream, 0, 3);
    const consumer = new RecordingConsumer(esdb.client.subscribeToPersistentSubscriptionToStream(stream, 'g'));
    await eventually(async () => (await stats(stream)).lastCheckpointedEventRevision === 2n);
    const [last] = await collect(esdb.client.readStream(`$persistentsubscription-${stream}::g-checkpoint`, { direction: 'backwards', fromRevision: END, maxCount: 1 }));
    expect(last).toBe(2);
    await consumer.stop();

    const prefix = `cp${randomUUID().slice(0, 6)}-`;
    const name = `g-${randomUUID().slice(0, 6)}`;
    await esdb.client.createPersistentSubscriptionToAll(name, persistentSubscriptionToAllSettingsFromDefaults({ checkPointAfter: 20, checkPointLowerBound: 1 }), {
      filter: streamNameFilter({ prefixes: [prefix] }),
    });
    const appended = await appendNumbered(esdb.client, `${prefix}1`, 0, 1);
    const allConsumer = new RecordingConsumer(esdb.client.subscribeToPersistentSubscriptionToAll(name));
    await eventually(async () => {
      const position = (await esdb.client.getPersistentSubscriptionToAllInfo(name)).stats.lastCheckpointedEventPosition;
      return position !== undefined && position.commit >= appended.position!.commit;
    });
    const [checkpoint] = await collect(esdb.client.readStream(`$persistentsubscription-$all::${name}-checkpoint`, { direction: 'backwards', fromRevision: END, maxCount: 1 }));
    expect(checkpoint).toMatch(/^C:\d+\/P:\d+$/);
    await allConsumer.stop();
  });
});

async function collect(events: AsyncIterable<{ event?: { data: unknown } }>): Promise<unknown[]> {
  const data: unknown[] = [];
  for await (const resolved of events) data.push(resolved.event?.data);
  return data;
}

describe('buffers', () => {
  it('reads history in readBatchSize batches and buffers at most historyBufferSize events', async () => {
    const stream = streamName();
    await appendNumbered(esdb.client, stream, 0, 100);
    await group(stream, { historyBufferSize: 10, readBatchSize: 5 });
    await eventually(async () => (await stats(stream)).lastKnownEventRevision === 9n);
    await pause(100);
    const buffered = await stats(stream);
    expect(buffered.lastKnownEventRevision).toBe(9n);
    expect(buffered.readBufferCount).toBe(10);
    expect((await esdb.client.getPersistentSubscriptionToStreamInfo(stream, 'g')).status).toBe('Behind');

    const consumer = new RecordingConsumer(esdb.client.subscribeToPersistentSubscriptionToStream(stream, 'g', { bufferSize: 7 }));
    await eventually(() => consumer.received.length === 100);
    expect(consumer.numbers()).toEqual(Array.from({ length: 100 }, (_, i) => i));
    await eventually(async () => (await esdb.client.getPersistentSubscriptionToStreamInfo(stream, 'g')).status === 'Live');
    await consumer.stop();
  });

  it('buffers at most liveBufferSize live events, and falls behind when more arrive unconsumed', async () => {
    const stream = streamName();
    await group(stream, { startFrom: END, liveBufferSize: 5, historyBufferSize: 10, readBatchSize: 2 });
    await appendNumbered(esdb.client, stream, 0, 3);
    await eventually(async () => (await stats(stream)).liveBufferCount === 3n);
    expect((await esdb.client.getPersistentSubscriptionToStreamInfo(stream, 'g')).status).toBe('Live');

    await appendNumbered(esdb.client, stream, 3, 20);
    await eventually(async () => (await esdb.client.getPersistentSubscriptionToStreamInfo(stream, 'g')).status === 'Behind');
    await pause(50);
    const behind = await stats(stream);
    expect(behind.readBufferCount).toBeLessThanOrEqual(10);
    expect(behind.liveBufferCount).toBe(0n);

    const consumer = new RecordingConsumer(esdb.client.subscribeToPersistentSubscriptionToStream(stream, 'g'));
    await eventually(() => consumer.received.length === 23);
    expect(consumer.numbers()).toEqual(Array.from({ length: 23 }, (_, i) => i));
    await consumer.stop();
  });
});

describe('statistics and links', () => {
  it('measures push-to-ack latency per connection only with extraStatistics', async () => {
    const withStats = streamName();
    const withoutStats = streamName();
    await group(withStats, { extraStatistics: true });
    await group(withoutStats, { extraStatistics: false });
    for (const stream of [withStats, withoutStats]) await appendNumbered(esdb.client, stream, 0, 5);
    const consumers = [withStats, withoutStats].map((stream) => new RecordingConsumer(esdb.client.subscribeToPersistentSubscriptionToStream(stream, 'g')));
    await eventually(() => consumers.every((consumer) => consumer.received.length === 5));
    await eventually(async () => (await stats(withStats)).outstandingMessagesCount === 0);
    const measured = (await esdb.client.getPersistentSubscriptionToStreamInfo(withStats, 'g')).connections[0]!.extraStatistics!;
    for (const key of ['mean', 'median', 'fastest', 'quintile 3', '99%', 'highest'] as const) expect(measured.get(key)).toBeTypeOf('bigint');
    expect(measured.get('highest')! >= measured.get('fastest')!).toBe(true);
    expect((await esdb.client.getPersistentSubscriptionToStreamInfo(withoutStats, 'g')).connections[0]!.extraStatistics).toBeUndefined();
    for (const consumer of consumers) await consumer.stop();
  });

  it('resolves the links of a category stream with resolveLinkTos, and delivers the links themselves without', async () => {
    const category = `cat${randomUUID().replace(/-/g, '').slice(0, 8)}`;
    await appendNumbered(esdb.client, `${category}-1`, 0, 2);
    await appendNumbered(esdb.client, `${category}-2`, 2, 1);
    await esdb.client.createPersistentSubscriptionToStream(`$ce-${category}`, 'resolved', persistentSubscriptionToStreamSettingsFromDefaults({ startFrom: START, resolveLinkTos: true }));
    await esdb.client.createPersistentSubscriptionToStream(`$ce-${category}`, 'links', persistentSubscriptionToStreamSettingsFromDefaults({ startFrom: START, resolveLinkTos: false }));
    const resolved = new RecordingConsumer(esdb.client.subscribeToPersistentSubscriptionToStream(`$ce-${category}`, 'resolved'));
    const links = new RecordingConsumer(esdb.client.subscribeToPersistentSubscriptionToStream(`$ce-${category}`, 'links'));
    await eventually(() => resolved.received.length === 3 && links.received.length === 3);
    expect(resolved.numbers()).toEqual([0, 1, 2]);
    expect(resolved.received.map((event) => event.event!.streamId)).toEqual([`${category}-1`, `${category}-1`, `${category}-2`]);
    expect(resolved.received.every((event) => event.link?.streamId === `$ce-${category}`)).toBe(true);
    expect(links.received.map((event) => event.event!.type)).toEqual(['$>', '$>', '$>']);
    // acks (by link id) are taken: nothing is redelivered and the group checkpoints at the end
    await eventually(async () => (await esdb.client.getPersistentSubscriptionToStreamInfo(`$ce-${category}`, 'resolved')).stats.outstandingMessagesCount === 0);
    expect(resolved.received.every((event) => numberOf(event) >= 0)).toBe(true);
    await resolved.stop();
    await links.stop();
  });
});
