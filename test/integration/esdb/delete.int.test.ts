import { describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { NO_STREAM, StreamDeletedError, StreamNotFoundError, WrongExpectedVersionError } from '@eventstore/db-client';
import { useTestEventStore } from '../../helpers/event-store.js';
import { collect, orderEvents } from './support.js';

const esdb = useTestEventStore();

const newStream = () => `order-${randomUUID()}`;
const credentials = { username: 'admin', password: 'changeit' };

describe('soft delete', () => {
  it('makes the stream read as not found', async () => {
    const stream = newStream();
    await esdb.client.appendToStream(stream, orderEvents(2));
    const result = await esdb.client.deleteStream(stream);
    expect(result.position?.commit).toBeGreaterThan(0n);
    await expect(collect(esdb.client.readStream(stream))).rejects.toBeInstanceOf(StreamNotFoundError);
  });

  it('lets a later append continue the revisions, and only the new events are read', async () => {
    const stream = newStream();
    await esdb.client.appendToStream(stream, orderEvents(2));
    await esdb.client.deleteStream(stream);
    const result = await esdb.client.appendToStream(stream, orderEvents(1));
    expect(result.nextExpectedRevision).toBe(2n);
    const read = await collect(esdb.client.readStream(stream));
    expect(read.map((e) => e.event!.revision)).toEqual([2n]);
  });

  it('rejects a delete with a stale expected revision with WrongExpectedVersionError', async () => {
    const stream = newStream();
    await esdb.client.appendToStream(stream, orderEvents(3));
    const error = await esdb.client.deleteStream(stream, { expectedRevision: 0n }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WrongExpectedVersionError);
    expect(error).toMatchObject({ streamName: stream, expectedVersion: 0n, actualVersion: 2n });
    expect(await collect(esdb.client.readStream(stream))).toHaveLength(3);
  });

  it('rejects a delete expecting no stream on an existing stream', async () => {
    const stream = newStream();
    await esdb.client.appendToStream(stream, orderEvents(1));
    const error = await esdb.client.deleteStream(stream, { expectedRevision: NO_STREAM }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WrongExpectedVersionError);
  });
});

describe('tombstone', () => {
  it('makes reading the stream fail with StreamDeletedError', async () => {
    const stream = newStream();
    await esdb.client.appendToStream(stream, orderEvents(1));
    await esdb.client.tombstoneStream(stream);
    const error = await collect(esdb.client.readStream(stream)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamDeletedError);
    expect(error).toMatchObject({ streamName: stream });
  });

  it.each([
    ['BatchAppend', {}],
    ['Append', { credentials }],
  ])('makes an append through %s fail with StreamDeletedError', async (_path, options) => {
    const stream = newStream();
    await esdb.client.appendToStream(stream, orderEvents(1));
    await esdb.client.tombstoneStream(stream);
    const error = await esdb.client.appendToStream(stream, orderEvents(1), options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamDeletedError);
    expect(error).toMatchObject({ streamName: stream });
  });

  it('cannot be undone: deleting or tombstoning again fails with StreamDeletedError', async () => {
    const stream = newStream();
    await esdb.client.appendToStream(stream, orderEvents(1));
    await esdb.client.tombstoneStream(stream);
    await expect(esdb.client.deleteStream(stream)).rejects.toBeInstanceOf(StreamDeletedError);
    await expect(esdb.client.tombstoneStream(stream)).rejects.toBeInstanceOf(StreamDeletedError);
  });

  it('rejects a tombstone with a stale expected revision and keeps the stream', async () => {
    const stream = newStream();
    await esdb.client.appendToStream(stream, orderEvents(2));
    const error = await esdb.client.tombstoneStream(stream, { expectedRevision: 5n }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WrongExpectedVersionError);
    expect(error).toMatchObject({ expectedVersion: 5n, actualVersion: 1n });
    expect(await collect(esdb.client.readStream(stream))).toHaveLength(2);
  });
});
