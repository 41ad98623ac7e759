// What the store's thread posts to its writer thread (writer-channel.ts): each appended event's
// bytes in one buffer of the message's own, transferred, never the larger buffers they were
// views of (a structured clone copies a view's whole buffer).
import { describe, expect, it } from 'vitest';
import { packed } from '../../../src/esdb-server/log/writer-channel.js';
import type { Operation } from '../../../src/esdb-server/log/log-writer.js';

const slab = Buffer.alloc(8192, 7);
const view = (text: string, at: number) => {
  const bytes = Buffer.from(text);
  bytes.copy(slab, at);
  return slab.subarray(at, at + bytes.length);
};

describe('the operations posted to the writer thread', () => {
  it('carry the same bytes, in one transferred buffer of exactly their size, leaving the caller\'s as they were', () => {
    const operations: Operation[] = [
      { kind: 'append', stream: 'order-1', expected: 'any', events: [{ id: 'a', type: 'order.created', contentType: 'application/json', data: view('{"a":1}', 0), metadata: view('{"m":"x"}', 100) }] },
      { kind: 'delete', stream: 'order-2', expected: 'any' },
      { kind: 'append', stream: 'order-3', expected: 'no_stream', events: [{ id: 'b', type: 't', contentType: 'application/octet-stream', data: view('zz', 200), metadata: new Uint8Array(0) }] },
    ];
    const { operations: posted, transfer } = packed(operations);
    expect(transfer).toHaveLength(1);
    expect(transfer[0]!.byteLength).toBe(7 + 9 + 2);
    const appended = posted.flatMap((operation) => (operation.kind === 'append' ? operation.events : []));
    expect(appended.map((event) => Buffer.from(event.data).toString())).toEqual(['{"a":1}', 'zz']);
    expect(appended.map((event) => Buffer.from(event.metadata).toString())).toEqual(['{"m":"x"}', '']);
    expect(appended.every((event) => event.data.buffer === transfer[0] && event.metadata.buffer === transfer[0])).toBe(true);
    expect(posted[1]).toBe(operations[1]);
    const streams = (list: Operation[]) => list.map((operation) => ('stream' in operation ? [operation.kind, operation.stream] : [operation.kind]));
    expect(streams(posted)).toEqual(streams(operations));
    // The caller's events still view the slab.
    const original = operations[0]!.kind === 'append' ? operations[0]!.events[0]! : undefined;
    expect(original?.data.buffer).toBe(slab.buffer);
    // Transferred through a real port, the bytes arrive and the buffer leaves this side.
    const { port1, port2 } = new MessageChannel();
    port1.postMessage({ operations: posted }, transfer);
    expect(transfer[0]!.byteLength).toBe(0);
    port1.close();
    port2.close();
  });

  it('posts operations without appended bytes as they are', () => {
    const operations: Operation[] = [{ kind: 'tombstone', stream: 'order-4', expected: 'any' }];
    expect(packed(operations)).toEqual({ operations, transfer: [] });
  });
});
