import { describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import {
  END,
  eventTypeFilter,
  excludeSystemEvents,
  jsonEvent,
  START,
  streamNameFilter,
  type Position,
} from '@eventstore/db-client';
import { useTestEventStore } from '../../helpers/event-store.js';
import { collect, eventually, orderEvents, record } from './support.js';

const esdb = useTestEventStore();

const newStream = () => `order-${randomUUID()}`;
const dataN = (events: { event?: { data: unknown } }[]) => events.map((e) => (e.event!.data as { n: number }).n);

describe('subscribing to a stream', () => {
  it('delivers the history from the start, then live events, each exactly once and in order', async () => {
    const stream = newStream();
    await esdb.client.appendToStream(stream, orderEvents(3));
    const subscription = esdb.client.subscribeToStream(stream, { fromRevision: START });
    const seen = record(subscription);
    await seen.until(3);
    await esdb.client.appendToStream(stream, orderEvents(2));
    const events = await seen.until(5);
    await subscription.unsubscribe();
    expect(events.map((e) => e.event!.revision)).toEqual([0n, 1n, 2n, 3n, 4n]);
  });

  it('delivers from end only what is appended after subscribing', async () => {
    const stream = newStream();
    await esdb.client.appendToStream(stream, orderEvents(3));
    const subscription = esdb.client.subscribeToStream(stream, { fromRevision: END });
    const seen = record(subscription);
    await seen.confirmed();
    await esdb.client.appendToStream(stream, orderEvents(1));
    const events = await seen.until(1);
    await subscription.unsubscribe();
    expect(events.map((e) => e.event!.revision)).toEqual([3n]);
  });

  it('delivers from a revision the events after it (the revision is the last one processed)', async () => {
    const stream = newStream();
    await esdb.client.appendToStream(stream, orderEvents(5));
    const subscription = esdb.client.subscribeToStream(stream, { fromRevision: 2n });
    const seen = record(subscription);
    const events = await seen.until(2);
    await subscription.unsubscribe();
    expect(events.map((e) => e.event!.revision)).toEqual([3n, 4n]);
  });

  it('waits on a stream that does not exist yet and delivers its first event', async () => {
    const stream = newStream();
    const subscription = esdb.client.subscribeToStream(stream);
    const seen = record(subscription);
    await seen.caughtUp();
    await esdb.client.appendToStream(stream, orderEvents(1));
    const events = await seen.until(1);
    await subscription.unsubscribe();
    expect(events.map((e) => e.event!.revision)).toEqual([0n]);
  });

  it('loses and repeats nothing when appends race with the catch-up hand-over', async () => {
    const stream = newStream();
    await esdb.client.appendToStream(stream, orderEvents(600));
    const subscription = esdb.client.subscribeToStream(stream, { fromRevision: START });
    const seen = record(subscription);
    // Concurrent writers while the subscription is still catching up and after it went live.
    await Promise.all(Array.from({ length: 20 }, () => esdb.client.appendToStream(stream, orderEvents(10))));
    const events = await seen.until(800);
    await esdb.client.appendToStream(stream, orderEvents(5));
    await seen.until(805);
    await subscription.unsubscribe();
    expect(seen.events.map((e) => Number(e.event!.revision))).toEqual(Array.from({ length: 805 }, (_, i) => i));
    expect(events.length).toBeGreaterThanOrEqual(800);
  });

  it('delivers everything in order to a subscriber that stops reading for a while (the server waits for it)', async () => {
    const stream = newStream();
    const blob = 'x'.repeat(2_000);
    // In appends of ~1 MB each: EventStoreDB's maximum append size is 1 MiB.
    for (let i = 0; i < 6; i++) await esdb.client.appendToStream(stream, Array.from({ length: 500 }, () => jsonEvent({ type: 'big', data: { blob } })));
    const subscription = esdb.client.subscribeToStream(stream, { fromRevision: START });
    // Nothing consumes yet: ~6 MB cannot fit in the transport's windows, so the server must wait.
    await esdb.client.appendToStream(stream, orderEvents(100));
    const revisions: number[] = [];
    for await (const event of subscription) {
      revisions.push(Number(event.event!.revision));
      if (revisions.length === 3_100) break;
    }
    expect(revisions).toEqual(Array.from({ length: 3_100 }, (_, i) => i));
  });

  it('resolves link events of a category stream when asked to', async () => {
    const category = `tab${randomUUID().replace(/-/g, '')}`;
    await esdb.client.appendToStream(`${category}-a`, orderEvents(1));
    const subscription = esdb.client.subscribeToStream(`$ce-${category}`, { resolveLinkTos: true });
    const seen = record(subscription);
    await seen.until(1);
    await esdb.client.appendToStream(`${category}-b`, orderEvents(1));
    const events = await seen.until(2);
    await subscription.unsubscribe();
    expect(events.map((e) => e.event!.streamId)).toEqual([`${category}-a`, `${category}-b`]);
    expect(events.map((e) => e.link!.revision)).toEqual([0n, 1n]);
  });

  it('fails with StreamDeletedError when the stream is tombstoned', async () => {
    const stream = newStream();
    await esdb.client.appendToStream(stream, orderEvents(1));
    await esdb.client.tombstoneStream(stream);
    const subscription = esdb.client.subscribeToStream(stream);
    const seen = record(subscription);
    const failure = await eventually(() => seen.failure);
    expect(failure).toMatchObject({ type: 'stream-deleted', streamName: stream });
  });
});

describe('subscribing to $all', () => {
  it('delivers history from the start then live events, in position order without duplicates', async () => {
    const stream = newStream();
    await esdb.client.appendToStream(stream, orderEvents(3));
    const subscription = esdb.client.subscribeToAll({ fromPosition: START, filter: streamNameFilter({ prefixes: [stream] }) });
    const seen = record(subscription);
    await seen.until(3);
    await Promise.all([esdb.client.appendToStream(stream, orderEvents(2)), esdb.client.appendToStream(stream, orderEvents(2))]);
    const events = await seen.until(7);
    await subscription.unsubscribe();
    const positions = events.map((e) => e.event!.position!.commit);
    for (let i = 1; i < positions.length; i++) expect(positions[i]!).toBeGreaterThan(positions[i - 1]!);
    expect(events.map((e) => e.event!.revision)).toEqual([0n, 1n, 2n, 3n, 4n, 5n, 6n]);
  });

  it('delivers from end only events appended after subscribing', async () => {
    await esdb.client.appendToStream(newStream(), orderEvents(2));
    const subscription = esdb.client.subscribeToAll({ fromPosition: END });
    const seen = record(subscription);
    await seen.confirmed();
    const stream = newStream();
    await esdb.client.appendToStream(stream, orderEvents(1));
    const events = await seen.until(1);
    await subscription.unsubscribe();
    expect(events[0]!.event!.streamId).toBe(stream);
  });

  it('delivers from a position the events after it', async () => {
    const stream = newStream();
    const first = await esdb.client.appendToStream(stream, orderEvents(1));
    await esdb.client.appendToStream(stream, orderEvents(2));
    const subscription = esdb.client.subscribeToAll({ fromPosition: first.position!, filter: streamNameFilter({ prefixes: [stream] }) });
    const seen = record(subscription);
    const events = await seen.until(2);
    await subscription.unsubscribe();
    expect(events.map((e) => e.event!.revision)).toEqual([1n, 2n]);
  });

  it('filters on the stream name with a regex', async () => {
    const tag = randomUUID().replace(/-/g, '');
    await esdb.client.appendToStream(`wanted${tag}-1`, orderEvents(1));
    await esdb.client.appendToStream(`other${tag}-1`, orderEvents(1));
    await esdb.client.appendToStream(`wanted${tag}-2`, orderEvents(1));
    const subscription = esdb.client.subscribeToAll({ filter: streamNameFilter({ regex: `^wanted${tag}-` }) });
    const seen = record(subscription);
    const events = await seen.until(2);
    await seen.caughtUp();
    await subscription.unsubscribe();
    expect(events.map((e) => e.event!.streamId)).toEqual([`wanted${tag}-1`, `wanted${tag}-2`]);
  });

  it('filters on event type prefixes', async () => {
    const tag = randomUUID();
    const stream = newStream();
    await esdb.client.appendToStream(stream, [
      jsonEvent({ type: `a.${tag}`, data: { n: 0 } }),
      jsonEvent({ type: `b.${tag}`, data: { n: 1 } }),
      jsonEvent({ type: `a.${tag}`, data: { n: 2 } }),
    ]);
    const subscription = esdb.client.subscribeToAll({ filter: eventTypeFilter({ prefixes: [`a.${tag}`] }) });
    const seen = record(subscription);
    const events = await seen.until(2);
    await seen.caughtUp();
    await subscription.unsubscribe();
    expect(dataN(events)).toEqual([0, 2]);
  });

  it('excludes system events ($metadata and other $-types) with excludeSystemEvents', async () => {
    const stream = newStream();
    await esdb.client.appendToStream(stream, orderEvents(1));
    await esdb.client.setStreamMetadata(stream, { maxCount: 10 });
    await esdb.client.appendToStream(stream, orderEvents(1));
    const subscription = esdb.client.subscribeToAll({ filter: excludeSystemEvents() });
    const seen = record(subscription);
    await seen.caughtUp();
    await subscription.unsubscribe();
    expect(seen.events.length).toBeGreaterThanOrEqual(2);
    expect(seen.events.filter((e) => e.event!.type.startsWith('$'))).toEqual([]);
    const all = await collect(esdb.client.readAll());
    expect(all.some((e) => e.event!.type === '$metadata')).toBe(true);
  });

  it('reports a checkpoint every checkpointInterval x maxSearchWindow scanned events even when none match', async () => {
    const stream = newStream();
    await esdb.client.appendToStream(stream, orderEvents(50));
    const checkpoints: Position[] = [];
    const subscription = esdb.client.subscribeToAll({
      filter: streamNameFilter({
        prefixes: [`nothing-matches-${randomUUID()}`],
        maxSearchWindow: 5,
        checkpointInterval: 2,
        checkpointReached: (_subscription, position) => {
          checkpoints.push(position);
        },
      }),
    });
    const seen = record(subscription);
    await seen.caughtUp();
    const head = (await collect(esdb.client.readAll({ direction: 'backwards', fromPosition: END, maxCount: 1 })))[0]!.event!.position.commit;
    // Live too: 10 more scanned events make one more checkpoint.
    const before = checkpoints.length;
    await esdb.client.appendToStream(stream, orderEvents(10));
    await eventually(() => (checkpoints.length > before ? true : undefined));
    await subscription.unsubscribe();
    expect(seen.events).toEqual([]);
    expect(before).toBeGreaterThanOrEqual(Math.floor(Number(head) / 10));
    for (let i = 1; i < checkpoints.length; i++) expect(checkpoints[i]!.commit - checkpoints[i - 1]!.commit).toBe(10n);
  });

  it('fails a subscription with an invalid regex with an error instead of hanging', async () => {
    const subscription = esdb.client.subscribeToAll({ filter: streamNameFilter({ regex: '([' }) });
    const seen = record(subscription);
    const failure = await eventually(() => seen.failure);
    expect(String((failure as Error).message)).toContain('regex');
  });
});
