import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { BACKWARDS, END, type EventStoreDBClient } from '@eventstore/db-client';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { collect, eventually, orderEvents } from './support.js';

let store: TestEventStore;
let client: EventStoreDBClient;
beforeAll(async () => {
  store = await startTestEventStore();
  client = store.client;
});
afterAll(() => store.close());

const newStream = () => `order-${randomUUID()}`;
const revisions = (events: { event?: { revision: bigint } }[]) => events.map((e) => Number(e.event!.revision));

describe('stream metadata', () => {
  it('gives back what was set, with custom keys, and its position as metastreamRevision', async () => {
    const stream = newStream();
    const written = await client.setStreamMetadata(stream, { maxCount: 5, custom: { tenant: 't-1' } } as never);
    const read = await client.getStreamMetadata(stream);
    expect(read.metadata).toMatchObject({ maxCount: 5, custom: { tenant: 't-1' } });
    expect(read.metastreamRevision).toBe(written.position!.commit);
  });

  it('is empty for a stream that never had any', async () => {
    const stream = newStream();
    expect(await client.getStreamMetadata(stream)).toEqual({ streamName: stream });
  });

  it('keeps only the newest maxCount events readable, forwards and backwards', async () => {
    const stream = newStream();
    await client.appendToStream(stream, orderEvents(10));
    await client.setStreamMetadata(stream, { maxCount: 3 });
    expect(revisions(await collect(client.readStream(stream)))).toEqual([7, 8, 9]);
    expect(revisions(await collect(client.readStream(stream, { direction: BACKWARDS, fromRevision: END })))).toEqual([9, 8, 7]);
  });

  it('hides the events before truncateBefore', async () => {
    const stream = newStream();
    await client.appendToStream(stream, orderEvents(6));
    await client.setStreamMetadata(stream, { truncateBefore: 4 });
    expect(revisions(await collect(client.readStream(stream)))).toEqual([4, 5]);
  });

  it('hides the events older than maxAge seconds', async () => {
    const stream = newStream();
    await client.appendToStream(stream, orderEvents(2));
    await client.setStreamMetadata(stream, { maxAge: 1 });
    const fresh = await collect(client.readStream(stream));
    expect(fresh.length === 2 || fresh.length === 0).toBe(true);
    await eventually(async () => ((await collect(client.readStream(stream).on('error', () => undefined)).catch(() => [])).length === 0 ? true : undefined), 4_000);
    await client.appendToStream(stream, orderEvents(1));
    expect(revisions(await collect(client.readStream(stream)))).toEqual([2]);
  });

  it('follows the newest metadata when it changes', async () => {
    const stream = newStream();
    await client.appendToStream(stream, orderEvents(5));
    await client.setStreamMetadata(stream, { maxCount: 1 });
    await client.setStreamMetadata(stream, { maxCount: 2 });
    expect(revisions(await collect(client.readStream(stream)))).toEqual([3, 4]);
  });
});
