// Deleting a stream that never existed, as EventStoreDB (23.x) answers it: a soft delete is a
// WrongExpectedVersion whatever the expected revision (`any` included); a stream that has only
// metadata "implicitly exists" and deletes; a tombstone of a missing stream succeeds.
// (The 6.x client cannot send STREAM_EXISTS on a delete: it fails serialising the request.)
import { describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { ANY, NO_STREAM, StreamDeletedError, WrongExpectedVersionError } from '@eventstore/db-client';
import { useTestEventStore } from '../../helpers/event-store.js';
import { collect, orderEvents } from './support.js';

const esdb = useTestEventStore();
const newStream = () => `order-${randomUUID()}`;

describe('soft-deleting a stream that never existed', () => {
  it.each([
    ['the default (any)', undefined, -2n],
    ['ANY', ANY, -2n],
    ['NO_STREAM', NO_STREAM, -1n],
    ['a revision', 0n, 0n],
  ] as const)('fails with WrongExpectedVersionError expecting %s', async (_name, expectedRevision, expectedVersion) => {
    const stream = newStream();
    const error = await esdb.client.deleteStream(stream, expectedRevision === undefined ? {} : { expectedRevision }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WrongExpectedVersionError);
    expect(error).toMatchObject({ streamName: stream, expectedVersion, actualVersion: 'no_stream' });
    expect((error as Error).message).toContain('Delete failed due to WrongExpectedVersion');
  });

  it('leaves the stream writable as a new stream', async () => {
    const stream = newStream();
    await esdb.client.deleteStream(stream).catch(() => undefined);
    const result = await esdb.client.appendToStream(stream, orderEvents(1), { expectedRevision: NO_STREAM });
    expect(result.nextExpectedRevision).toBe(0n);
  });

  it('succeeds expecting NO_STREAM when the stream implicitly exists through its metadata', async () => {
    const stream = newStream();
    await esdb.client.setStreamMetadata(stream, { cacheControl: 10 });
    await expect(esdb.client.deleteStream(stream, { expectedRevision: NO_STREAM })).resolves.toBeDefined();
  });

  it('still succeeds for a stream that was soft-deleted before', async () => {
    const stream = newStream();
    await esdb.client.appendToStream(stream, orderEvents(2));
    await esdb.client.deleteStream(stream);
    await expect(esdb.client.deleteStream(stream)).resolves.toBeDefined();
  });
});

describe('tombstoning a stream that never existed', () => {
  it.each([
    ['ANY', ANY],
    ['NO_STREAM', NO_STREAM],
  ] as const)('succeeds expecting %s, and the stream then reads as deleted', async (_name, expectedRevision) => {
    const stream = newStream();
    await expect(esdb.client.tombstoneStream(stream, { expectedRevision })).resolves.toBeDefined();
    await expect(collect(esdb.client.readStream(stream))).rejects.toBeInstanceOf(StreamDeletedError);
  });

  it('fails with WrongExpectedVersionError expecting a revision', async () => {
    const stream = newStream();
    await expect(esdb.client.tombstoneStream(stream, { expectedRevision: 0n })).rejects.toBeInstanceOf(WrongExpectedVersionError);
  });
});
