import { describe, expect, it } from 'vitest';
import type { EventLog, ResolvedEvent } from '../../../src/esdb-server/log/types.js';
import { IN_FLIGHT_BYTES } from '../../../src/esdb-server/persistent/consumer-strategy.js';
import type { GroupDefinition } from '../../../src/esdb-server/persistent/definition.js';
import { SubscriptionGroup, type ConsumerHandle } from '../../../src/esdb-server/persistent/subscription-group.js';
import { appendSized, groupDefinition, groupHarness } from './group-fixtures.js';

/** ~64 KB of data an event, as a large order is (~56 KB). */
const LARGE = 64 * 1024;

let log: EventLog | undefined;
let group: SubscriptionGroup | undefined;
const harness = groupHarness();

const definition = (strategy: GroupDefinition['settings']['consumerStrategy']) => groupDefinition({ kind: 'stream', stream: 'orders' }, strategy);
const append = (count: number, bytes: number) => appendSized(log!, 'orders', count, bytes);

const turn = () => new Promise((resolve) => setImmediate(resolve));
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

/** A consumer with room for `bufferSize` events that acks only when told. */
function consumer(bufferSize: number) {
  const received: number[] = [];
  const unacked: string[] = [];
  const handle: ConsumerHandle | string = group!.subscribe(
    {
      deliver(event: ResolvedEvent) {
        unacked.push(event.event!.id);
        received.push((JSON.parse(Buffer.from(event.event!.data).toString('utf8')) as { n: number }).n);
      },
      drop() {},
    },
    bufferSize,
    'test',
    'test',
  );
  if (typeof handle === 'string') throw new Error(handle);
  return { received, unacked, ackAll: () => handle.ack(unacked.splice(0)) };
}

describe("a persistent subscription consumer's bytes in flight", () => {
  for (const strategy of ['RoundRobin', 'Pinned'] as const) {
    it(`(${strategy}) stay within ${IN_FLIGHT_BYTES / 2 ** 20} MB of large events whatever its buffer size allows, and every event still arrives exactly once, in order`, async () => {
      log = harness.openLog();
      const count = 400;
      await append(count, LARGE);
      group = harness.openGroup(definition(strategy), log);
      const worker = consumer(500);
      const mostInFlight = Math.ceil(IN_FLIGHT_BYTES / LARGE);
      let deepest = 0;
      for (let round = 0; round < 2_000 && worker.received.length < count; round++) {
        await settle();
        deepest = Math.max(deepest, worker.unacked.length);
        expect(worker.unacked.length).toBeLessThanOrEqual(mostInFlight);
        worker.ackAll();
        await turn();
      }
      // The bound was reached (it is what held the events back), not merely never approached.
      expect(deepest).toBe(mostInFlight);
      expect(worker.received).toEqual(Array.from({ length: count }, (_, i) => i));
    });
  }

  it('still sends an event larger than the whole budget, one at a time', async () => {
    log = harness.openLog();
    await append(3, IN_FLIGHT_BYTES + 1024);
    group = harness.openGroup(definition('RoundRobin'), log);
    const worker = consumer(10);
    for (let round = 0; round < 100 && worker.received.length < 3; round++) {
      await settle();
      expect(worker.unacked.length).toBeLessThanOrEqual(1);
      worker.ackAll();
    }
    expect(worker.received).toEqual([0, 1, 2]);
  });

  it('leave small events to the buffer size alone', async () => {
    log = harness.openLog();
    await append(600, 1024);
    group = harness.openGroup(definition('RoundRobin'), log);
    const worker = consumer(500);
    await settle();
    expect(worker.unacked.length).toBe(500);
  });
});
