// Subscriptions keep a bounded number of events in flight: a slow handler holds at most its
// maxInFlight events, however many are waiting, and the server sends no more than that.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { defineHandler } from '../../../src/subscriptions/handler.js';
import { eventually, OrderWriter } from '../workers/order-writer.js';
import { runnerFixture } from '../workers/worker-helpers.js';

const MAX_IN_FLIGHT = 4;
const EVENTS = 30;

const fixture = runnerFixture('file');

describe('events in flight', () => {
  it(`never hands a handler more than its maxInFlight events at once, with ${EVENTS} waiting`, async () => {
    const waiting: Array<() => void> = [];
    let running = 0;
    let mostAtOnce = 0;
    let handled = 0;
    const slow = defineHandler({
      name: 'slow-bounded',
      handles: ['order.created'],
      options: { maxInFlight: MAX_IN_FLIGHT, timeoutMs: 60_000 },
      handle: async () => {
        running++;
        mostAtOnce = Math.max(mostAtOnce, running);
        await new Promise<void>((release) => waiting.push(release));
        running--;
        handled++;
      },
    });
    const { runner } = await fixture.start({ handlers: [slow] });
    const writer = new OrderWriter(fixture.store.client);
    for (let index = 0; index < EVENTS; index++) await writer.create(randomUUID());

    const consumer = runner.consumers[0]!;
    await eventually(() => waiting.length === MAX_IN_FLIGHT);
    // Release one event at a time: the pipeline stays full the whole way, so any overflow would show.
    for (let released = 0; released < EVENTS; released++) {
      await eventually(() => waiting.length > 0);
      expect(consumer.inFlight).toBeLessThanOrEqual(MAX_IN_FLIGHT);
      const info = await fixture.store.client.getPersistentSubscriptionToAllInfo(consumer.group);
      expect(info.connections[0]?.inFlightMessages ?? 0).toBeLessThanOrEqual(MAX_IN_FLIGHT);
      waiting.shift()!();
    }
    await eventually(() => handled === EVENTS);
    expect(mostAtOnce).toBe(MAX_IN_FLIGHT);
  });
});
