import { describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import {
  DISPATCH_TO_SINGLE,
  PINNED,
  ROUND_ROBIN,
  START,
  persistentSubscriptionToAllSettingsFromDefaults,
  persistentSubscriptionToStreamSettingsFromDefaults,
  streamNameFilter,
} from '@eventstore/db-client';
import { useTestEventStore } from '../../helpers/event-store.js';
import { appendNumbered, eventually, RecordingConsumer } from './support.js';

const esdb = useTestEventStore();

const streamName = () => `order-${randomUUID()}`;

async function connect(stream: string, count: number, bufferSize: number): Promise<RecordingConsumer[]> {
  const consumers = Array.from({ length: count }, () => new RecordingConsumer(esdb.client.subscribeToPersistentSubscriptionToStream(stream, 'g', { bufferSize }), 'hold'));
  await eventually(async () => (await esdb.client.getPersistentSubscriptionToStreamInfo(stream, 'g')).connections.length === count);
  return consumers;
}

describe('RoundRobin', () => {
  it.each([2, 3])('spreads events evenly over %i consumers', async (count) => {
    const stream = streamName();
    await esdb.client.createPersistentSubscriptionToStream(stream, 'g', persistentSubscriptionToStreamSettingsFromDefaults({ startFrom: START, consumerStrategyName: ROUND_ROBIN }));
    const consumers = await connect(stream, count, 20);
    await appendNumbered(esdb.client, stream, 0, count * 4);
    await eventually(() => consumers.every((consumer) => consumer.received.length === 4));
    // each event went to exactly one consumer
    const all = consumers.flatMap((consumer) => consumer.numbers()).sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: count * 4 }, (_, i) => i));
    for (const consumer of consumers) await consumer.stop();
  });
});

describe('DispatchToSingle', () => {
  it.each([2, 3])('sends to the first of %i consumers until its buffer is full, then to the next', async (count) => {
    const stream = streamName();
    await esdb.client.createPersistentSubscriptionToStream(
      stream,
      'g',
      persistentSubscriptionToStreamSettingsFromDefaults({ startFrom: START, consumerStrategyName: DISPATCH_TO_SINGLE }),
    );
    const consumers = await connect(stream, count, 3);
    await appendNumbered(esdb.client, stream, 0, 3 * count - 1);
    await eventually(() => consumers.reduce((sum, consumer) => sum + consumer.received.length, 0) === 3 * count - 1);
    // in the order the server took the consumers: the first filled up, then the next, ...
    const byFirstEvent = [...consumers].sort((a, b) => a.numbers()[0]! - b.numbers()[0]!);
    const expected = Array.from({ length: count }, (_, c) => Array.from({ length: 3 }, (_, i) => c * 3 + i).filter((n) => n < 3 * count - 1));
    expect(byFirstEvent.map((consumer) => consumer.numbers())).toEqual(expected);

    // once the first has room again, it gets the next event
    const first = byFirstEvent[0]!;
    await first.ack(...first.received);
    await appendNumbered(esdb.client, stream, 100, 1);
    await eventually(() => first.received.length === 4);
    expect(first.numbers()[3]).toBe(100);
    for (const consumer of consumers) await consumer.stop();
  });
});

describe('Pinned', () => {
  it.each([2, 3])('keeps every source stream on one of %i consumers', async (count) => {
    const prefix = `pin${randomUUID().slice(0, 6)}-`;
    const group = `g-${randomUUID().slice(0, 6)}`;
    await esdb.client.createPersistentSubscriptionToAll(group, persistentSubscriptionToAllSettingsFromDefaults({ consumerStrategyName: PINNED }), {
      filter: streamNameFilter({ prefixes: [prefix] }),
    });
    const consumers = Array.from({ length: count }, () => new RecordingConsumer(esdb.client.subscribeToPersistentSubscriptionToAll(group, { bufferSize: 50 })));
    await eventually(async () => (await esdb.client.getPersistentSubscriptionToAllInfo(group)).connections.length === count);
    const streams = Array.from({ length: 12 }, (_, i) => `${prefix}${i}`);
    for (let round = 0; round < 3; round++) {
      for (const stream of streams) await appendNumbered(esdb.client, stream, round, 1);
    }
    await eventually(() => consumers.reduce((sum, consumer) => sum + consumer.received.length, 0) === 36);
    const owners = new Map<string, Set<number>>();
    consumers.forEach((consumer, index) => {
      for (const event of consumer.received) {
        const owner = owners.get(event.event!.streamId) ?? new Set<number>();
        owner.add(index);
        owners.set(event.event!.streamId, owner);
      }
    });
    expect(owners.size).toBe(12);
    for (const owner of owners.values()) expect(owner.size).toBe(1);
    // the streams are shared out, not all pinned to one consumer
    expect(consumers.filter((consumer) => consumer.received.length > 0).length).toBeGreaterThan(1);
    for (const consumer of consumers) await consumer.stop();
  });

  it('holds back a stream whose consumer is full instead of sending it elsewhere', async () => {
    const stream = streamName();
    await esdb.client.createPersistentSubscriptionToStream(stream, 'g', persistentSubscriptionToStreamSettingsFromDefaults({ startFrom: START, consumerStrategyName: PINNED }));
    const consumers = await connect(stream, 2, 2);
    await appendNumbered(esdb.client, stream, 0, 4);
    await eventually(() => consumers.some((consumer) => consumer.received.length === 2));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const owner = consumers.find((consumer) => consumer.received.length === 2)!;
    const other = consumers.find((consumer) => consumer !== owner)!;
    expect(other.received).toEqual([]);
    await owner.ack(...owner.received);
    await eventually(() => owner.received.length === 4);
    expect(owner.numbers()).toEqual([0, 1, 2, 3]);
    for (const consumer of consumers) await consumer.stop();
  });
});
