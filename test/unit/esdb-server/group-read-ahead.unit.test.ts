import { describe, expect, it } from 'vitest';
import type { EventLog, ResolvedEvent } from '../../../src/esdb-server/log/types.js';
import { MessageQueue, type Message } from '../../../src/esdb-server/persistent/message-queue.js';
import { READ_AHEAD_BYTES, SubscriptionGroup, type ConsumerHandle } from '../../../src/esdb-server/persistent/subscription-group.js';
import type { EventSource } from '../../../src/esdb-server/persistent/definition.js';
import { appendSized, groupDefinition, groupHarness } from './group-fixtures.js';

/** ~64 KB of data an event, as a large order is (~56 KB). */
const EVENT_BYTES = 64 * 1024;
const COUNT = 400;

let log: EventLog | undefined;
let group: SubscriptionGroup | undefined;
const harness = groupHarness();

const largeEvents = (stream: string) => appendSized(log!, stream, COUNT, EVENT_BYTES);

const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

describe("a persistent subscription group's read-ahead", () => {
  for (const source of [{ kind: 'stream', stream: 'orders' }, { kind: 'all' }] satisfies EventSource[]) {
    it(`keeps at most ${READ_AHEAD_BYTES / 1024 / 1024} MB of large events buffered on ${source.kind === 'all' ? '$all' : 'a stream'}, whatever historyBufferSize allows, and still delivers every event in order`, async () => {
      log = harness.openLog();
      await largeEvents('orders');
      group = harness.openGroup(groupDefinition(source), log);
      await settle();
      const buffered = group.stats().readBufferCount;
      expect(buffered).toBeGreaterThan(0);
      expect(buffered * EVENT_BYTES).toBeLessThanOrEqual(READ_AHEAD_BYTES);
      expect(buffered).toBeLessThan(COUNT);

      // A consumer acking each event as it comes: the buffer refills as it drains, to the end.
      const received: number[] = [];
      const pending: string[] = [];
      const handle: ConsumerHandle | string = group.subscribe(
        {
          deliver(event: ResolvedEvent) {
            pending.push(event.event!.id);
            // On $all the group also sees the store's own streams.
            if (event.event!.stream === 'orders') received.push((JSON.parse(Buffer.from(event.event!.data).toString('utf8')) as { n: number }).n);
          },
          drop() {},
        },
        10,
        'test',
        'test',
      );
      if (typeof handle === 'string') throw new Error(handle);
      for (let round = 0; round < 2_000 && received.length < COUNT; round++) {
        handle.ack(pending.splice(0));
        await new Promise((resolve) => setImmediate(resolve));
        expect(group.stats().readBufferCount * EVENT_BYTES).toBeLessThanOrEqual(READ_AHEAD_BYTES);
      }
      expect(received).toEqual(Array.from({ length: COUNT }, (_, i) => i));
    });
  }
});

describe('MessageQueue bytes', () => {
  const message = (seq: number, bytes: number): Message => ({
    event: { event: { data: new Uint8Array(bytes), metadata: new Uint8Array(2) }, position: seq } as ResolvedEvent,
    id: `m${seq}`,
    retryCount: 0,
    seq,
    key: seq,
    prevKey: undefined,
  });

  it('counts the data and metadata of what it holds through push, insertOrdered, shift, retain and clear', () => {
    const queue = new MessageQueue();
    queue.push(message(1, 10));
    queue.push(message(3, 30));
    queue.insertOrdered(message(2, 20));
    expect(queue.bytes).toBe(66);
    expect(queue.shift()!.seq).toBe(1);
    expect(queue.bytes).toBe(54);
    queue.retain((m) => m.seq !== 3);
    expect(queue.bytes).toBe(22);
    queue.clear();
    expect(queue.bytes).toBe(0);
  });
});
