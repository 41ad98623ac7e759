import { beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { BACKWARDS, END, FORWARDS, jsonEvent, START, StreamNotFoundError } from '@eventstore/db-client';
import { useTestEventStore } from '../../helpers/event-store.js';
import { collect, orderEvents } from './support.js';

const esdb = useTestEventStore();

const revisions = (events: { event?: { revision: bigint } }[]) => events.map((e) => Number(e.event!.revision));

describe('reading a stream', () => {
  let stream: string;
  beforeAll(async () => {
    stream = `order-${randomUUID()}`;
    await esdb.client.appendToStream(stream, orderEvents(10));
  });

  it('reads every event forwards in revision order', async () => {
    expect(revisions(await collect(esdb.client.readStream(stream)))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('reads backwards from the end', async () => {
    expect(revisions(await collect(esdb.client.readStream(stream, { direction: BACKWARDS, fromRevision: END })))).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
  });

  it('reads forwards from a revision, inclusive, up to maxCount events', async () => {
    expect(revisions(await collect(esdb.client.readStream(stream, { fromRevision: 4n, maxCount: 3 })))).toEqual([4, 5, 6]);
  });

  it('reads backwards from a revision, inclusive', async () => {
    expect(revisions(await collect(esdb.client.readStream(stream, { direction: BACKWARDS, fromRevision: 2n })))).toEqual([2, 1, 0]);
  });

  it('reads nothing forwards from past the end', async () => {
    expect(await collect(esdb.client.readStream(stream, { fromRevision: 10n }))).toEqual([]);
  });

  it('reads a stream longer than one server page completely and in order', async () => {
    const long = `order-${randomUUID()}`;
    await esdb.client.appendToStream(long, orderEvents(1_300));
    const read = await collect(esdb.client.readStream(long));
    expect(revisions(read)).toEqual(Array.from({ length: 1_300 }, (_, i) => i));
  });

  it('reads large events (pages by bytes, READ_PAGE_BYTES) completely and in order, forwards, backwards and in $all', async () => {
    const large = `order-${randomUUID()}`;
    const padding = 'x'.repeat(64 * 1024);
    for (let i = 0; i < 100; i++) await esdb.client.appendToStream(large, jsonEvent({ type: 'order.created', data: { i, padding } }));
    const numbers = (read: { event?: { data: unknown } }[]) => read.map((e) => (e.event!.data as { i: number }).i);
    expect(numbers(await collect(esdb.client.readStream(large)))).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(numbers(await collect(esdb.client.readStream(large, { direction: BACKWARDS, fromRevision: END, maxCount: 70 })))).toEqual(Array.from({ length: 70 }, (_, i) => 99 - i));
    const all = await collect(esdb.client.readAll({ direction: FORWARDS, fromPosition: START }));
    expect(numbers(all.filter((e) => e.event?.streamId === large))).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('gives back non-ASCII stream names, event types and data intact', async () => {
    const unicode = `commande-été-${randomUUID()}-注文`;
    await esdb.client.appendToStream(unicode, jsonEvent({ type: 'commande.créée-✓', data: { note: 'crème brûlée 🍮' } }));
    const [read] = await collect(esdb.client.readStream(unicode));
    expect(read!.event).toMatchObject({ streamId: unicode, type: 'commande.créée-✓', data: { note: 'crème brûlée 🍮' } });
  });

  it('fails with StreamNotFoundError naming a stream that was never written', async () => {
    const missing = `order-${randomUUID()}`;
    const error = await collect(esdb.client.readStream(missing)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamNotFoundError);
    expect(error).toMatchObject({ streamName: missing });
  });

  it('gives each event its position in $all, growing with the revision', async () => {
    const read = await collect(esdb.client.readStream(stream));
    const positions = read.map((e) => e.event!.position!.commit);
    expect([...positions].sort((a, b) => (a < b ? -1 : 1))).toEqual(positions);
    expect(new Set(positions).size).toBe(positions.length);
  });
});

describe('reading $all', () => {
  let written: string[];
  beforeAll(async () => {
    written = [];
    for (let i = 0; i < 3; i++) {
      const events = orderEvents(2);
      await esdb.client.appendToStream(`order-${randomUUID()}`, events);
      written.push(...events.map((e) => e.id));
    }
  });

  it('reads forwards from the start with growing positions, including what was written', async () => {
    const read = await collect(esdb.client.readAll({ direction: FORWARDS, fromPosition: START }));
    const positions = read.map((e) => e.event!.position!.commit);
    for (let i = 1; i < positions.length; i++) expect(positions[i]!).toBeGreaterThan(positions[i - 1]!);
    const ids = read.map((e) => e.event!.id);
    expect(ids.filter((id) => written.includes(id))).toEqual(written);
  });

  it('reads backwards from the end, newest first', async () => {
    const read = await collect(esdb.client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: written.length }));
    expect(read.map((e) => e.event!.id)).toEqual([...written].reverse());
  });

  it('reads forwards from a position, inclusive, and backwards from it, exclusive', async () => {
    const all = await collect(esdb.client.readAll());
    const middle = all[Math.floor(all.length / 2)]!.event!.position!;
    const after = await collect(esdb.client.readAll({ fromPosition: middle, maxCount: 2 }));
    expect(after[0]!.event!.position).toEqual(middle);
    const before = await collect(esdb.client.readAll({ fromPosition: middle, direction: BACKWARDS, maxCount: 1 }));
    expect(before[0]!.event!.position!.commit).toBeLessThan(middle.commit);
  });

  it('gives the commit position of every read event', async () => {
    const read = await collect(esdb.client.readAll({ maxCount: 3 }));
    for (const event of read) expect(event.commitPosition).toBe(event.event!.position!.commit);
  });
});

describe('reading system projection streams with resolveLinkTos', () => {
  const category = `cart${randomUUID().replace(/-/g, '')}`;
  const stream = `${category}-1`;
  const type = `cart.opened.${randomUUID()}`;
  const correlationId = randomUUID();
  beforeAll(async () => {
    await esdb.client.appendToStream(stream, [
      jsonEvent({ type, data: { n: 0 }, metadata: { $correlationId: correlationId } }),
      jsonEvent({ type, data: { n: 1 }, metadata: { $correlationId: correlationId } }),
    ]);
  });

  it.each([
    ['$ce- (by category)', () => `$ce-${category}`],
    ['$et- (by event type)', () => `$et-${type}`],
    ['$bc- (by correlation id)', () => `$bc-${correlationId}`],
  ])('resolves the links of %s to the original events', async (_name, linkStream) => {
    const read = await collect(esdb.client.readStream(linkStream(), { resolveLinkTos: true }));
    expect(read.map((e) => [e.event!.streamId, e.event!.revision, e.link!.revision])).toEqual([
      [stream, 0n, 0n],
      [stream, 1n, 1n],
    ]);
    expect(read.map((e) => (e.event!.data as { n: number }).n)).toEqual([0, 1]);
  });

  it('gives the link events themselves without resolveLinkTos', async () => {
    const read = await collect(esdb.client.readStream(`$ce-${category}`));
    expect(read.map((e) => [e.event!.type, Buffer.from(e.event!.data as Uint8Array).toString()])).toEqual([
      ['$>', `0@${stream}`],
      ['$>', `1@${stream}`],
    ]);
  });

  it('lists a new stream once in $streams, linking to its first event', async () => {
    const read = await collect(esdb.client.readStream('$streams', { resolveLinkTos: true, direction: BACKWARDS, fromRevision: END }));
    const mine = read.filter((e) => e.event?.streamId === stream);
    expect(mine.map((e) => e.event!.revision)).toEqual([0n]);
  });
});
