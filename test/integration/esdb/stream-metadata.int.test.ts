import { describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { BACKWARDS, END } from '@eventstore/db-client';
import { useTestEventStore } from '../../helpers/event-store.js';
import { collect, eventually, orderEvents } from './support.js';

const esdb = useTestEventStore();

const newStream = () => `order-${randomUUID()}`;
const revisions = (events: { event?: { revision: bigint } }[]) => events.map((e) => Number(e.event!.revision));

describe('stream metadata', () => {
  it('gives back what was set, with custom keys, and its position as metastreamRevision', async () => {
    const stream = newStream();
    const written = await esdb.client.setStreamMetadata(stream, { maxCount: 5, custom: { tenant: 't-1' } } as never);
    const read = await esdb.client.getStreamMetadata(stream);
    expect(read.metadata).toMatchObject({ maxCount: 5, custom: { tenant: 't-1' } });
    expect(read.metastreamRevision).toBe(written.position!.commit);
  });

  it('is empty for a stream that never had any', async () => {
    const stream = newStream();
    expect(await esdb.client.getStreamMetadata(stream)).toEqual({ streamName: stream });
  });

  it('keeps only the newest maxCount events readable, forwards and backwards', async () => {
    const stream = newStream();
    await esdb.client.appendToStream(stream, orderEvents(10));
    await esdb.client.setStreamMetadata(stream, { maxCount: 3 });
    expect(revisions(await collect(esdb.client.readStream(stream)))).toEqual([7, 8, 9]);
    expect(revisions(await collect(esdb.client.readStream(stream, { direction: BACKWARDS, fromRevision: END })))).toEqual([9, 8, 7]);
  });

  it('hides the events before truncateBefore', async () => {
    const stream = newStream();
    await esdb.client.appendToStream(stream, orderEvents(6));
    await esdb.client.setStreamMetadata(stream, { truncateBefore: 4 });
    expect(revisions(await collect(esdb.client.readStream(stream)))).toEqual([4, 5]);
  });

  it('hides the events older than maxAge seconds', async () => {
    const stream = newStream();
    await esdb.client.appendToStream(stream, orderEvents(2));
    await esdb.client.setStreamMetadata(stream, { maxAge: 1 });
    const fresh = await collect(esdb.client.readStream(stream));
    expect(fresh.length === 2 || fresh.length === 0).toBe(true);
    await eventually(async () => ((await collect(esdb.client.readStream(stream).on('error', () => undefined)).catch(() => [])).length === 0 ? true : undefined), 4_000);
    await esdb.client.appendToStream(stream, orderEvents(1));
    expect(revisions(await collect(esdb.client.readStream(stream)))).toEqual([2]);
  });

  it('follows the newest metadata when it changes', async () => {
    const stream = newStream();
    await esdb.client.appendToStream(stream, orderEvents(5));
    await esdb.client.setStreamMetadata(stream, { maxCount: 1 });
    await esdb.client.setStreamMetadata(stream, { maxCount: 2 });
    expect(revisions(await collect(esdb.client.readStream(stream)))).toEqual([3, 4]);
  });
});
