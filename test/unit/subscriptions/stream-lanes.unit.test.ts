import { describe, expect, it } from 'vitest';
import { StreamLanes, type LaneEntry, type Turn } from '../../../src/subscriptions/stream-lanes.js';

/** Whether `ready` has resolved by the end of this turn, and with what. */
async function state(entry: LaneEntry): Promise<Turn | 'waiting'> {
  return Promise.race([entry.ready, new Promise<'waiting'>((resolve) => setImmediate(() => resolve('waiting')))]);
}

describe('stream lanes', () => {
  it("an event waits for its stream's previous event to settle, not for another stream's", async () => {
    const lanes = new StreamLanes(60_000, () => undefined);
    const a1 = lanes.enter('order-a', 'a1');
    const a2 = lanes.enter('order-a', 'a2');
    const b1 = lanes.enter('order-b', 'b1');
    expect(await state(a1)).toBe('go');
    expect(await state(b1)).toBe('go');
    expect(await state(a2)).toBe('waiting');
    lanes.settle(a1, 'done');
    expect(await state(a2)).toBe('go');
  });

  it('an event nacked for a retry keeps its place until its redelivery settles, however many retries it takes', async () => {
    const lanes = new StreamLanes(60_000, () => undefined);
    const first = lanes.enter('order-a', 'e1');
    const next = lanes.enter('order-a', 'e2');
    lanes.settle(first, 'retry');
    expect(await state(next)).toBe('waiting');
    const again = lanes.enter('order-a', 'e1');
    expect(await state(again)).toBe('go');
    lanes.settle(again, 'retry');
    const third = lanes.enter('order-a', 'e1');
    expect(await state(next)).toBe('waiting');
    lanes.settle(third, 'done');
    expect(await state(next)).toBe('go');
  });

  it('a redelivery that does not come within the hold lets the stream go on, and says so', async () => {
    const givenUp: string[] = [];
    const lanes = new StreamLanes(20, (entry) => givenUp.push(entry.id));
    const first = lanes.enter('order-a', 'e1');
    const next = lanes.enter('order-a', 'e2');
    lanes.settle(first, 'retry');
    expect(await next.ready).toBe('go');
    expect(givenUp).toEqual(['e1']);
  });

  it("events behind one left to the server's redelivery are left too", async () => {
    const lanes = new StreamLanes(60_000, () => undefined);
    const first = lanes.enter('order-a', 'e1');
    const next = lanes.enter('order-a', 'e2');
    lanes.settle(first, 'retry');
    lanes.abandonAll();
    expect(await next.ready).toBe('abandoned');
    lanes.settle(next, 'abandoned');
    // A new event of the stream starts afresh once they are gone.
    expect(await state(lanes.enter('order-a', 'e3'))).toBe('go');
  });
});
