// The service's connection decodes the client's event bytes with Node's decoder: what it appends
// to a real (embedded) store reads back exactly, through an unpatched reading path as well.
import { randomUUID } from 'node:crypto';
import { jsonEvent } from '@eventstore/db-client';
import { afterAll, describe, expect, it } from 'vitest';
import { connectEventStore } from '../../../src/eventstore/connection.js';
import { installedBytesAsU8, nativeBytesAsU8 } from '../../../src/eventstore/protobuf-bytes.js';
import { useTestEventStore } from '../../helpers/event-store.js';

const store = useTestEventStore();

describe('the service connection and event bytes', () => {
  const opened: Array<{ dispose(): Promise<void> }> = [];
  afterAll(async () => {
    for (const client of opened) await client.dispose();
  });

  it("installs Node's decoder on the client's protobuf, and appends read back byte for byte", async () => {
    const client = connectEventStore(store.store.connectionString);
    opened.push(client);
    expect(installedBytesAsU8()).toBe(nativeBytesAsU8);

    const stream = `bytes-${randomUUID()}`;
    const data = { text: 'héllo 🧾 wörld', lines: Array.from({ length: 500 }, (_, i) => ({ sku: `SKU-${i}`, qty: i })) };
    const metadata = { $correlationId: randomUUID(), note: 'ünïcode' };
    await client.appendToStream(stream, [jsonEvent({ type: 'bytes.checked', data, metadata })]);

    const read = [];
    for await (const resolved of store.client.readStream(stream)) read.push(resolved.event);
    expect(read).toHaveLength(1);
    expect(read[0]!.data).toEqual(data);
    expect(read[0]!.metadata).toEqual(metadata);
  });
});
