import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import {
  binaryEvent,
  jsonEvent,
  MaxAppendSizeExceededError,
  NO_STREAM,
  STREAM_EXISTS,
  WrongExpectedVersionError,
  type EventStoreDBClient,
} from '@eventstore/db-client';
import { startEventStoreServer } from '../../../src/esdb-server/index.js';
import { EventStoreDBClient as Client } from '@eventstore/db-client';
import { useTestEventStore } from '../../helpers/event-store.js';
import { collect, orderEvents } from './support.js';

// The client uses BatchAppend when the server advertises it, and Append when a call carries
// credentials (ignored on an insecure connection): both paths must behave the same.
const paths = [
  { name: 'BatchAppend', options: {} },
  { name: 'Append', options: { credentials: { username: 'admin', password: 'changeit' } } },
] as const;

const esdb = useTestEventStore();

describe.each(paths)('appending through $name', ({ options }) => {
  const stream = () => `order-${randomUUID()}`;

  it('appends with expected revision any to a new stream and reports the next revision and position', async () => {
    const name = stream();
    const result = await esdb.client.appendToStream(name, orderEvents(3), { ...options });
    expect(result.success).toBe(true);
    expect(result.nextExpectedRevision).toBe(2n);
    expect(result.position!.commit).toBeGreaterThan(0n);
    const read = await collect(esdb.client.readStream(name));
    expect(read.map((e) => e.event!.revision)).toEqual([0n, 1n, 2n]);
  });

  it('appends with no_stream only when the stream does not exist', async () => {
    const name = stream();
    await esdb.client.appendToStream(name, orderEvents(1), { ...options, expectedRevision: NO_STREAM });
    const error = await esdb.client.appendToStream(name, orderEvents(1), { ...options, expectedRevision: NO_STREAM }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WrongExpectedVersionError);
    expect(error).toMatchObject({ streamName: name, expectedVersion: 'no_stream', actualVersion: 0n });
  });

  it('appends with stream_exists only when the stream exists', async () => {
    const name = stream();
    const error = await esdb.client.appendToStream(name, orderEvents(1), { ...options, expectedRevision: STREAM_EXISTS }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WrongExpectedVersionError);
    expect(error).toMatchObject({ streamName: name, expectedVersion: 'stream_exists', actualVersion: 'no_stream' });
    await esdb.client.appendToStream(name, orderEvents(1), { ...options });
    const result = await esdb.client.appendToStream(name, orderEvents(1), { ...options, expectedRevision: STREAM_EXISTS });
    expect(result.nextExpectedRevision).toBe(1n);
  });

  it('appends with an exact expected revision and rejects a stale one with the actual revision', async () => {
    const name = stream();
    await esdb.client.appendToStream(name, orderEvents(2), { ...options });
    const result = await esdb.client.appendToStream(name, orderEvents(1), { ...options, expectedRevision: 1n });
    expect(result.nextExpectedRevision).toBe(2n);
    const error = await esdb.client.appendToStream(name, orderEvents(1), { ...options, expectedRevision: 1n }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WrongExpectedVersionError);
    expect(error).toMatchObject({ streamName: name, expectedVersion: 1n, actualVersion: 2n });
    expect(await collect(esdb.client.readStream(name))).toHaveLength(3);
  });

  it('treats a retried append with the same event ids and expected revision as done, writing nothing twice', async () => {
    const name = stream();
    const events = orderEvents(3);
    const first = await esdb.client.appendToStream(name, events, { ...options, expectedRevision: NO_STREAM });
    const retry = await esdb.client.appendToStream(name, events, { ...options, expectedRevision: NO_STREAM });
    expect(retry).toEqual(first);
    const read = await collect(esdb.client.readStream(name));
    expect(read.map((e) => e.event!.id)).toEqual(events.map((e) => e.id));
  });

  it('stores JSON data and JSON metadata and gives them back parsed', async () => {
    const name = stream();
    const event = jsonEvent({ type: 'order.placed', data: { orderId: 'o-1', lines: [1, 2] }, metadata: { $correlationId: 'c-1' } });
    await esdb.client.appendToStream(name, event, { ...options });
    const [read] = await collect(esdb.client.readStream(name));
    expect(read!.event).toMatchObject({ id: event.id, type: 'order.placed', isJson: true, data: { orderId: 'o-1', lines: [1, 2] }, metadata: { $correlationId: 'c-1' } });
  });

  it('stores binary data and binary metadata byte for byte', async () => {
    const name = stream();
    const data = Uint8Array.from([0, 255, 1, 254, 10, 13]);
    const metadata = Uint8Array.from([7, 0, 7, 128]);
    await esdb.client.appendToStream(name, binaryEvent({ type: 'blob', data, metadata }), { ...options });
    const [read] = await collect(esdb.client.readStream(name));
    expect(read!.event!.isJson).toBe(false);
    expect(Buffer.from(read!.event!.data as Uint8Array)).toEqual(Buffer.from(data));
    expect(Buffer.from(read!.event!.metadata as Uint8Array)).toEqual(Buffer.from(metadata));
  });

  it('sets the created time on the server when the event is written', async () => {
    const name = stream();
    const before = Date.now();
    await esdb.client.appendToStream(name, orderEvents(1), { ...options });
    const after = Date.now();
    const [read] = await collect(esdb.client.readStream(name));
    const created = read!.event!.created.getTime();
    expect(created).toBeGreaterThanOrEqual(before - 1);
    expect(created).toBeLessThanOrEqual(after + 1);
  });

  it('refuses to append to a system projection stream with an access denied error', async () => {
    const error = await esdb.client.appendToStream('$ce-order', orderEvents(1), { ...options }).catch((e: unknown) => e);
    expect(error).toMatchObject({ type: 'access-denied' });
  });
});

describe('the maximum append size', () => {
  let small: Awaited<ReturnType<typeof startEventStoreServer>>;
  let smallClient: EventStoreDBClient;
  beforeAll(async () => {
    small = await startEventStoreServer({ memory: true, port: 0, maxAppendSize: 1024, insecure: true });
    smallClient = Client.connectionString(small.connectionString);
  });
  afterAll(async () => {
    await smallClient.dispose();
    await small.close();
  });

  it.each(paths)('rejects a larger append through $name with MaxAppendSizeExceededError and writes none of it', async ({ options }) => {
    const name = `order-${randomUUID()}`;
    const big = jsonEvent({ type: 'big', data: { blob: 'x'.repeat(600) } });
    const error = await smallClient.appendToStream(name, [big, jsonEvent({ type: 'big', data: { blob: 'y'.repeat(600) } })], { ...options }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MaxAppendSizeExceededError);
    expect(error).toMatchObject({ maxAppendSize: 1024 });
    expect(await collect(smallClient.readStream(name)).catch((e: unknown) => e)).toMatchObject({ type: 'stream-not-found' });
    const ok = await smallClient.appendToStream(name, big, { ...options });
    expect(ok.nextExpectedRevision).toBe(0n);
  });
});
