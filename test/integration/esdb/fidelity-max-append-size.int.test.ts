// EventStoreDB's MaxAppendSize: 1,048,576 bytes by default, counted as its Event.SizeOnDisk
// (data + custom metadata + 2 bytes per event type character), refused with
// MaximumAppendSizeExceeded naming the size, through Append and BatchAppend alike.
import { describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { binaryEvent, MaxAppendSizeExceededError } from '@eventstore/db-client';
import { DEFAULT_MAX_APPEND_SIZE, startEventStoreServer } from '../../../src/esdb-server/index.js';
import { useTestEventStore } from '../../helpers/event-store.js';
import { collect } from './support.js';

const esdb = useTestEventStore();
const paths = [
  { name: 'BatchAppend', options: {} },
  { name: 'Append', options: { credentials: { username: 'admin', password: 'changeit' } } },
];
const TYPE = 'blob'; // 4 characters: 8 bytes

/** An event whose counted size is exactly `size` bytes. */
function eventOfSize(size: number, metadataBytes = 0) {
  return binaryEvent({ type: TYPE, data: Buffer.alloc(size - metadataBytes - TYPE.length * 2, 1), metadata: Buffer.alloc(metadataBytes, 2) });
}

describe('the default maximum append size', () => {
  it('is 1,048,576 bytes, as EventStoreDB', () => {
    expect(DEFAULT_MAX_APPEND_SIZE).toBe(1_048_576);
  });

  it.each(paths)('takes an append of exactly that size through $name (data, metadata and type counted)', async ({ options }) => {
    const stream = `order-${randomUUID()}`;
    const half = DEFAULT_MAX_APPEND_SIZE / 2;
    const result = await esdb.client.appendToStream(stream, [eventOfSize(half, 1000), eventOfSize(half, 10)], options);
    expect(result.nextExpectedRevision).toBe(1n);
  });

  it.each(paths)('refuses one byte more through $name with MaxAppendSizeExceededError naming the size, writing nothing', async ({ options }) => {
    const stream = `order-${randomUUID()}`;
    const half = DEFAULT_MAX_APPEND_SIZE / 2;
    const error = await esdb.client.appendToStream(stream, [eventOfSize(half, 1000), eventOfSize(half + 1, 10)], options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MaxAppendSizeExceededError);
    expect(error).toMatchObject({ maxAppendSize: 1_048_576 });
    expect(await collect(esdb.client.readStream(stream)).catch((e: unknown) => e)).toMatchObject({ type: 'stream-not-found' });
  });

  it("leaves room for the app's largest command: a body at BODY_LIMIT_BYTES (65536) with metadata", async () => {
    const stream = `order-${randomUUID()}`;
    await expect(esdb.client.appendToStream(stream, [eventOfSize(65_536 + 2_048, 2_048), eventOfSize(4_096, 2_048)])).resolves.toBeDefined();
  });
});

describe('startEventStoreServer maxAppendSize', () => {
  it('refuses a size that is not a positive integer', async () => {
    await expect(startEventStoreServer({ memory: true, maxAppendSize: 0 })).rejects.toThrow(/maxAppendSize must be a positive integer/);
    await expect(startEventStoreServer({ memory: true, maxAppendSize: 1.5 })).rejects.toThrow(/maxAppendSize must be a positive integer/);
  });
});
