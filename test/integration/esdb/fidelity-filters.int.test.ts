// Server-side filters on $all, as EventStoreDB applies them, for every kind (prefixes and regex,
// on stream names and on event types, excludeSystemEvents): on catch-up subscriptions, on
// persistent subscriptions to $all and on filtered reads. Under every filter EventStoreDB's
// DefaultAllFilter holds too: the epoch events and the $all groups' own checkpoints and parked
// messages never match. Filtered subscriptions keep sending checkpoints.
//
// The 6.x client's readAll takes no filter (it always sends NoFilter, on EventStoreDB too), so
// filtered reads are pinned here through the client's own generated gRPC stubs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import {
  eventTypeFilter,
  excludeSystemEvents,
  jsonEvent,
  persistentSubscriptionToAllSettingsFromDefaults,
  START,
  streamNameFilter,
  type Filter,
} from '@eventstore/db-client';
import streamsGrpc from '@eventstore/db-client/generated/streams_grpc_pb.js';
import streamsPb from '@eventstore/db-client/generated/streams_pb.js';
import sharedPb from '@eventstore/db-client/generated/shared_pb.js';
import { useTestEventStore } from '../../helpers/event-store.js';
import { eventually, record } from './support.js';
import { RecordingConsumer } from '../persistent/support.js';

const esdb = useTestEventStore();
let raw: InstanceType<typeof streamsGrpc.StreamsClient>;
beforeAll(() => {
  raw = new streamsGrpc.StreamsClient(`127.0.0.1:${esdb.store.server.port}`, grpc.credentials.createInsecure());
});
afterAll(() => raw.close());

/** A world of its own in the shared store: two streams, three event types, and a metadata event. */
async function seed() {
  const tag = randomUUID().replace(/-/g, '').slice(0, 10);
  const alpha = `alpha${tag}-1`;
  const beta = `beta${tag}-1`;
  await esdb.client.appendToStream(alpha, [jsonEvent({ type: `apple${tag}`, data: {} }), jsonEvent({ type: `banana${tag}`, data: {} })]);
  await esdb.client.appendToStream(beta, [jsonEvent({ type: `apple${tag}`, data: {} }), jsonEvent({ type: `cherry${tag}`, data: {} })]);
  await esdb.client.setStreamMetadata(alpha, { maxCount: 100 });
  return { tag, alpha, beta, seen: (event: { streamId: string; type: string }) => `${event.streamId.replace(tag, '')}:${event.type.replace(tag, '')}` };
}

type Kind = { name: string; filter: (tag: string) => Filter; expected: string[] };
const KINDS: Kind[] = [
  { name: 'event type prefixes', filter: (tag) => eventTypeFilter({ prefixes: [`apple${tag}`, `cherry${tag}`] }), expected: ['alpha-1:apple', 'beta-1:apple', 'beta-1:cherry'] },
  { name: 'event type regex', filter: (tag) => eventTypeFilter({ regex: `^banana${tag}$` }), expected: ['alpha-1:banana'] },
  { name: 'stream name prefixes', filter: (tag) => streamNameFilter({ prefixes: [`beta${tag}`] }), expected: ['beta-1:apple', 'beta-1:cherry'] },
  { name: 'stream name regex', filter: (tag) => streamNameFilter({ regex: `^(\\$\\$)?alpha${tag}-` }), expected: ['alpha-1:apple', 'alpha-1:banana', '$$alpha-1:$metadata'] },
];

const mine = (tag: string) => (label: { streamId: string }) => label.streamId.includes(tag);

describe('catch-up subscriptions to $all', () => {
  it.each(KINDS)('deliver exactly the events matching $name', async ({ filter, expected }) => {
    const world = await seed();
    const subscription = esdb.client.subscribeToAll({ fromPosition: START, filter: filter(world.tag) });
    const seen = record(subscription);
    await seen.caughtUp();
    await subscription.unsubscribe();
    expect(seen.events.map((e) => world.seen(e.event!))).toEqual(expected);
  });

  it('exclude system events with excludeSystemEvents, the epoch and metadata events included', async () => {
    const world = await seed();
    const subscription = esdb.client.subscribeToAll({ fromPosition: START, filter: excludeSystemEvents() });
    const seen = record(subscription);
    await seen.caughtUp();
    await subscription.unsubscribe();
    expect(seen.events.every((e) => !e.event!.type.startsWith('$'))).toBe(true);
    expect(seen.events.filter((e) => mine(world.tag)(e.event!)).map((e) => world.seen(e.event!))).toEqual([
      'alpha-1:apple',
      'alpha-1:banana',
      'beta-1:apple',
      'beta-1:cherry',
    ]);
  });

  it('never match the epoch event, even with a filter on system streams', async () => {
    const subscription = esdb.client.subscribeToAll({ fromPosition: START, filter: streamNameFilter({ prefixes: ['$'] }) });
    const seen = record(subscription);
    await seen.caughtUp();
    await subscription.unsubscribe();
    expect(seen.events.some((e) => e.event!.streamId === '$epoch-information')).toBe(false);
    expect(seen.events.some((e) => e.event!.type === '$metadata')).toBe(true);
  });

  it('keep sending checkpoints while nothing matches, at growing positions', async () => {
    await seed();
    const checkpoints: bigint[] = [];
    const subscription = esdb.client.subscribeToAll({
      fromPosition: START,
      filter: eventTypeFilter({ prefixes: [`nothing-${randomUUID()}`], maxSearchWindow: 2, checkpointInterval: 1, checkpointReached: (_s, position) => void checkpoints.push(position.commit) }),
    });
    const seen = record(subscription);
    await seen.caughtUp();
    await eventually(() => (checkpoints.length >= 2 ? true : undefined));
    await subscription.unsubscribe();
    expect(seen.events).toEqual([]);
    expect(checkpoints).toEqual([...checkpoints].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
  });
});

describe('persistent subscriptions to $all', () => {
  const deliveredTo = async (world: Awaited<ReturnType<typeof seed>>, options: { filter?: Filter }, count: number) => {
    const group = `filters-${randomUUID().slice(0, 8)}`;
    await esdb.client.createPersistentSubscriptionToAll(group, persistentSubscriptionToAllSettingsFromDefaults({ startFrom: START }), options);
    const consumer = new RecordingConsumer(esdb.client.subscribeToPersistentSubscriptionToAll(group));
    try {
      await eventually(() => (consumer.received.filter((e) => mine(world.tag)(e.event!)).length >= count ? true : undefined), 10_000);
      return consumer.received.map((e) => e.event!);
    } finally {
      await consumer.stop();
      await esdb.client.deletePersistentSubscriptionToAll(group);
    }
  };

  it.each(KINDS)('deliver exactly the events matching $name', async ({ filter, expected }) => {
    const world = await seed();
    const delivered = await deliveredTo(world, { filter: filter(world.tag) }, expected.length);
    expect(delivered.map(world.seen)).toEqual(expected);
  });

  it('without a filter get every event but the epoch, as EventStoreDB', async () => {
    const world = await seed();
    const delivered = await deliveredTo(world, {}, 5);
    expect(delivered.some((event) => event.streamId === '$epoch-information')).toBe(false);
    expect(delivered.filter(mine(world.tag)).map(world.seen)).toEqual(['alpha-1:apple', 'alpha-1:banana', 'beta-1:apple', 'beta-1:cherry', '$$alpha-1:$metadata']);
  });
});

describe('filtered reads of $all (Streams.Read with a filter and a count)', () => {
  type Expression = InstanceType<typeof streamsPb.ReadReq.Options.FilterOptions.Expression>;
  const read = (on: 'stream' | 'type', expression: Expression, count = 100) =>
    new Promise<string[]>((resolve, reject) => {
      const filter = new streamsPb.ReadReq.Options.FilterOptions().setCount(new sharedPb.Empty()).setCheckpointintervalmultiplier(1);
      if (on === 'stream') filter.setStreamIdentifier(expression);
      else filter.setEventType(expression);
      const options = new streamsPb.ReadReq.Options()
        .setAll(new streamsPb.ReadReq.Options.AllOptions().setStart(new sharedPb.Empty()))
        .setCount(String(count))
        .setFilter(filter)
        .setUuidOption(new streamsPb.ReadReq.Options.UUIDOption().setString(new sharedPb.Empty()));
      const seen: string[] = [];
      const call = raw.read(new streamsPb.ReadReq().setOptions(options));
      call.on('data', (reply: InstanceType<typeof streamsPb.ReadResp>) => {
        const event = reply.getEvent()?.getEvent();
        if (event) seen.push(`${Buffer.from(event.getStreamIdentifier()!.getStreamName_asU8()).toString()}:${event.getMetadataMap().get('type')}`);
      });
      call.on('end', () => resolve(seen));
      call.on('error', reject);
    });
  const expression = (prefixes: string[], regex = '') => new streamsPb.ReadReq.Options.FilterOptions.Expression().setPrefixList(prefixes).setRegex(regex);

  it('match event types by prefix and by regex', async () => {
    const { tag } = await seed();
    expect(await read('type', expression([`apple${tag}`]))).toEqual([`alpha${tag}-1:apple${tag}`, `beta${tag}-1:apple${tag}`]);
    expect(await read('type', expression([], `^(banana|cherry)${tag}$`))).toEqual([`alpha${tag}-1:banana${tag}`, `beta${tag}-1:cherry${tag}`]);
  });

  it('match stream names by prefix and by regex', async () => {
    const { tag } = await seed();
    expect(await read('stream', expression([`beta${tag}`]))).toEqual([`beta${tag}-1:apple${tag}`, `beta${tag}-1:cherry${tag}`]);
    expect(await read('stream', expression([], `^alpha${tag}`))).toEqual([`alpha${tag}-1:apple${tag}`, `alpha${tag}-1:banana${tag}`]);
  });

  it('count matched events, not scanned ones', async () => {
    const { tag } = await seed();
    expect(await read('type', expression([`apple${tag}`, `cherry${tag}`]), 2)).toEqual([`alpha${tag}-1:apple${tag}`, `beta${tag}-1:apple${tag}`]);
  });

  it('take the regex and ignore the prefixes when both are given, as EventStoreDB', async () => {
    const { tag } = await seed();
    expect(await read('type', expression([`apple${tag}`], `^cherry${tag}$`))).toEqual([`beta${tag}-1:cherry${tag}`]);
  });
});
