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
import { appendNumbered, eventually, numberOf, RecordingConsumer, type Received } from './support.js';

const esdb = useTestEventStore();

const streamName = () => `order-${randomUUID()}`;

async function group(stream: string, settings: Partial<PersistentSubscriptionToStreamSettings>): Promise<void> {
  await esdb.client.createPersistentSubscriptionToStream(stream, 'g', persistentSubscriptionToStreamSettingsFromDefaults({ startFrom: START, ...settings }));
}

const info = (stream: string) => esdb.client.getPersistentSubscriptionToStreamInfo(stream, 'g');

async function readParked(stream: string): Promise<{ data: string; metadata: { Reason: string } }[]> {
  const parked: { data: string; metadata: { Reason: string } }[] = [];
  for await (const resolved of esdb.client.readStream(`$persistentsubscription-${stream}::g-parked`)) {
    const event = resolved.event!;
    parked.push({ data: Buffer.from(event.data as Uint8Array).toString('utf8'), metadata: event.metadata as { Reason: string } });
  }
  return parked;
}

describe('where a group starts', () => {
  it('from the start, from a revision, and from the end of a stream', async () => {
    const stream = streamName();
    await appendNumbered(esdb.client, stream, 0, 5);
    await esdb.client.createPersistentSubscriptionToStream(stream, 'start', persistentSubscriptionToStreamSettingsFromDefaults({ startFrom: START }));
    await esdb.client.createPersistentSubscriptionToStream(stream, 'rev', persistentSubscriptionToStreamSettingsFromDefaults({ startFrom: BigInt(3) }));
    await esdb.client.createPersistentSubscriptionToStream(stream, 'end', persistentSubscriptionToStreamSettingsFromDefaults({ startFrom: END }));
    const consumers = ['start', 'rev', 'end'].map((name) => new RecordingConsumer(esdb.client.subscribeToPersistentSubscriptionToStream(stream, name)));
    await appendNumbered(esdb.client, stream, 5, 2);
    await eventually(() => consumers[0]!.received.length === 7 && consumers[1]!.received.length === 4 && consumers[2]!.received.length === 2);
    expect(consumers.map((consumer) => consumer.numbers())).toEqual([
      [0, 1, 2, 3, 4, 5, 6],
      [3, 4, 5, 6],
      [5, 6],
    ]);
    for (const consumer of consumers) await consumer.stop();
  });

  it('a group to $all from a position starts at that position', async () => {
    const prefix = `pos${randomUUID().slice(0, 6)}-`;
    const first = await appendNumbered(esdb.client, `${prefix}a`, 0, 1);
    await appendNumbered(esdb.client, `${prefix}b`, 1, 2);
    const name = `g-${randomUUID().slice(0, 6)}`;
    await esdb.client.createPersistentSubscriptionToAll(
      name,
      persistentSubscriptionToAllSettingsFromDefaults({ startFrom: { commit: first.position!.commit + 1n, prepare: first.position!.prepare + 1n } }),
      { filter: streamNameFilter({ prefixes: [prefix] }) },
    );
    const consumer = new RecordingConsumer(esdb.client.subscribeToPersistentSubscriptionToAll(name));
    await eventually(() => consumer.received.length === 2);
    expect(consumer.numbers()).toEqual([1, 2]);
    await consumer.stop();
  });
});

describe('acknowledging', () => {
  it('acks several events at once; acked events are never delivered again and are checkpointed', async () => {
    const stream = streamName();
    await group(stream, { messageTimeout: 200, checkPointAfter: 20, checkPointLowerBound: 1 });
    await appendNumbered(esdb.client, stream, 0, 4);
    const consumer = new RecordingConsumer(esdb.client.subscribeToPersistentSubscriptionToStream(stream, 'g'), 'hold');
    await eventually(() => consumer.received.length === 4);
    await consumer.ack(...consumer.received);
    await eventually(async () => (await info(stream)).stats.lastCheckpointedEventRevision === 3n);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(consumer.received).toHaveLength(4);
    const stats = (await info(stream)).stats;
    expect(stats.totalItems).toBe(4n);
    expect(stats.outstandingMessagesCount).toBe(0);
    await consumer.stop();
  });

  it('reports in-flight messages and free slots of each connection', async () => {
    const stream = streamName();
    await group(stream, {});
    await appendNumbered(esdb.client, stream, 0, 3);
    const consumer = new RecordingConsumer(esdb.client.subscribeToPersistentSubscriptionToStream(stream, 'g', { bufferSize: 5 }), 'hold');
    await eventually(() => consumer.received.length === 3);
    const connection = (await info(stream)).connections[0]!;
    expect(connection.inFlightMessages).toBe(3);
    expect(connection.availableSlots).toBe(2);
    expect(connection.totalItems).toBe(3n);
    expect(connection.connectionName.length).toBeGreaterThan(0);
    expect((await info(stream)).stats.lastKnownEventRevision).toBe(2n);
    await consumer.stop();
  });
});

describe('retrying', () => {
  it('redelivers a nacked (retry) event with a growing retryCount, then parks it after maxRetryCount', async () => {
    const stream = streamName();
    await group(stream, { maxRetryCount: 2 });
    await appendNumbered(esdb.client, stream, 0, 1);
    const consumer = new RecordingConsumer(esdb.client.subscribeToPersistentSubscriptionToStream(stream, 'g'), async (event, self) => {
      await self.subscription.nack('retry', 'try again', event);
    });
    await eventually(async () => (await info(stream)).stats.parkedMessageCount === 1n);
    expect(consumer.received.map((event) => event.retryCount)).toEqual([0, 1, 2]);
    const parked = await readParked(stream);
    expect(parked).toEqual([{ data: `0@${stream}`, metadata: expect.objectContaining({ Reason: 'Reached retry count of 2' }) }]);
    await consumer.stop();
  });

  it('redelivers an event not acked within messageTimeout, and parks it when retries run out', async () => {
    const stream = streamName();
    await group(stream, { messageTimeout: 100, maxRetryCount: 1 });
    await appendNumbered(esdb.client, stream, 0, 1);
    const consumer = new RecordingConsumer(esdb.client.subscribeToPersistentSubscriptionToStream(stream, 'g'), 'hold');
    await eventually(() => consumer.received.length === 2);
    expect(consumer.received.map((event) => event.retryCount)).toEqual([0, 1]);
    await eventually(async () => (await info(stream)).stats.parkedMessageCount === 1n);
    expect(consumer.received).toHaveLength(2);
    expect((await readParked(stream))[0]!.metadata.Reason).toBe('Reached retry count of 1');
    await consumer.stop();
  });

  it('with maxRetryCount 0 parks an event at its first timeout', async () => {
    const stream = streamName();
    await group(stream, { messageTimeout: 50, maxRetryCount: 0 });
    await appendNumbered(esdb.client, stream, 0, 1);
    const consumer = new RecordingConsumer(esdb.client.subscribeToPersistentSubscriptionToStream(stream, 'g'), 'hold');
    await eventually(async () => (await info(stream)).stats.parkedMessageCount === 1n);
    expect(consumer.received.map((event) => event.retryCount)).toEqual([0]);
    await consumer.stop();
  });

  it('hands the unacked events of a consumer that goes away to another consumer', async () => {
    const stream = streamName();
    await group(stream, {});
    const dying = new RecordingConsumer(esdb.client.subscribeToPersistentSubscriptionToStream(stream, 'g', { bufferSize: 10 }), async (event, self) => {
      if (numberOf(event) < 2) await self.subscription.ack(event);
    });
    await eventually(async () => (await info(stream)).connections.length === 1);
    await appendNumbered(esdb.client, stream, 0, 5);
    await eventually(() => dying.received.length === 5);
    const survivor = new RecordingConsumer(esdb.client.subscribeToPersistentSubscriptionToStream(stream, 'g'));
    await eventually(async () => (await info(stream)).connections.length === 2);
    await dying.stop();
    await eventually(() => survivor.received.length === 3);
    expect(survivor.numbers()).toEqual([2, 3, 4]);
    expect(survivor.received.every((event) => event.retryCount === 1)).toBe(true);
    await survivor.stop();
  });
});

describe('nacking', () => {
  it('park puts the event in the parked stream with the esdb.client reason and does not redeliver it', async () => {
    const stream = streamName();
    await group(stream, { messageTimeout: 100 });
    await appendNumbered(esdb.client, stream, 0, 3);
    const consumer = new RecordingConsumer(esdb.client.subscribeToPersistentSubscriptionToStream(stream, 'g'), async (event, self) => {
      if (numberOf(event) === 1) await self.subscription.nack('park', 'poison', event);
      else await self.subscription.ack(event);
    });
    await eventually(async () => (await info(stream)).stats.parkedMessageCount === 1n);
    const parked = await readParked(stream);
    expect(parked[0]!.data).toBe(`1@${stream}`);
    expect(parked[0]!.metadata.Reason).toBe("Client explicitly NAK'ed message.\npoison");
    // read with resolveLinkTos, the parked link gives the original event back
    const resolved = [];
    for await (const event of esdb.client.readStream(`$persistentsubscription-${stream}::g-parked`, { resolveLinkTos: true })) resolved.push(event);
    expect(resolved.map((event) => [event.event!.streamId, numberOf(event as Received), event.link!.type])).toEqual([[stream, 1, '$>']]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(consumer.numbers()).toEqual([0, 1, 2]);
    await consumer.stop();
  });

  it('skip and stop drop the event without parking or redelivering it', async () => {
    const stream = streamName();
    await group(stream, { messageTimeout: 100, checkPointAfter: 20, checkPointLowerBound: 1 });
    await appendNumbered(esdb.client, stream, 0, 3);
    const consumer = new RecordingConsumer(esdb.client.subscribeToPersistentSubscriptionToStream(stream, 'g'), async (event, self) => {
      if (numberOf(event) === 0) await self.subscription.nack('skip', 'not mine', event);
      else if (numberOf(event) === 1) await self.subscription.nack('stop', 'stop it', event);
      else await self.subscription.ack(event);
    });
    await eventually(async () => (await info(stream)).stats.lastCheckpointedEventRevision === 2n);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(consumer.numbers()).toEqual([0, 1, 2]);
    expect((await info(stream)).stats.parkedMessageCount).toBe(0n);
    await consumer.stop();
  });
});

describe('replaying parked messages', () => {
  async function parkAll(stream: string, count: number): Promise<RecordingConsumer> {
    await group(stream, {});
    await appendNumbered(esdb.client, stream, 0, count);
    const consumer = new RecordingConsumer(esdb.client.subscribeToPersistentSubscriptionToStream(stream, 'g'), async (event, self) => {
      if (event.retryCount === 0 && !event.link) await self.subscription.nack('park', 'later', event);
      else await self.subscription.ack(event);
    });
    await eventually(async () => (await info(stream)).stats.parkedMessageCount === BigInt(count));
    return consumer;
  }

  it('hands parked events back with retryCount 0, up to stopAt, then the rest', async () => {
    const stream = streamName();
    const consumer = await parkAll(stream, 3);
    await esdb.client.replayParkedMessagesToStream(stream, 'g', { stopAt: 2 });
    await eventually(() => consumer.received.length === 5);
    const replayed = consumer.received.slice(3);
    expect(replayed.map(numberOf)).toEqual([0, 1]);
    expect(replayed.every((event) => event.retryCount === 0)).toBe(true);
    await eventually(async () => (await info(stream)).stats.parkedMessageCount === 1n);

    await esdb.client.replayParkedMessagesToStream(stream, 'g');
    await eventually(() => consumer.received.length === 6);
    expect(numberOf(consumer.received[5]!)).toBe(2);
    await eventually(async () => (await info(stream)).stats.parkedMessageCount === 0n);
    await consumer.stop();
  });

  it('parks events of a group to $all in $persistentsubscription-$all::<group>-parked and replays them', async () => {
    const prefix = `park${randomUUID().slice(0, 6)}-`;
    const name = `g-${randomUUID().slice(0, 6)}`;
    await esdb.client.createPersistentSubscriptionToAll(name, persistentSubscriptionToAllSettingsFromDefaults({ startFrom: END }), {
      filter: streamNameFilter({ prefixes: [prefix] }),
    });
    const consumer = new RecordingConsumer(esdb.client.subscribeToPersistentSubscriptionToAll(name), async (event: Received, self) => {
      if (event.retryCount === 0 && !event.link) await self.subscription.nack('park', 'later', event);
      else await self.subscription.ack(event);
    });
    await eventually(async () => (await esdb.client.getPersistentSubscriptionToAllInfo(name)).connections.length === 1);
    await appendNumbered(esdb.client, `${prefix}1`, 0, 2);
    await eventually(async () => (await esdb.client.getPersistentSubscriptionToAllInfo(name)).stats.parkedMessageCount === 2n);
    const parked: string[] = [];
    for await (const resolved of esdb.client.readStream(`$persistentsubscription-$all::${name}-parked`)) {
      parked.push(Buffer.from(resolved.event!.data as Uint8Array).toString('utf8'));
    }
    expect(parked).toEqual([`0@${prefix}1`, `1@${prefix}1`]);

    await esdb.client.replayParkedMessagesToAll(name);
    await eventually(() => consumer.received.length === 4);
    expect(consumer.received.slice(2).map(numberOf)).toEqual([0, 1]);
    await eventually(async () => (await esdb.client.getPersistentSubscriptionToAllInfo(name)).stats.parkedMessageCount === 0n);
    await consumer.stop();
  });
});
