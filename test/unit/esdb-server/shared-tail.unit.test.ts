import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteEventLog } from '../../../src/esdb-server/log/sqlite-event-log.js';
import type { AllFilter, EventLog, ReadAllResult } from '../../../src/esdb-server/log/types.js';
import { SharedTail } from '../../../src/esdb-server/persistent/shared-tail.js';

const event = (type: string) => ({ id: randomUUID(), type, contentType: 'application/json', data: Buffer.from('{}'), metadata: Buffer.from('{}') });

const FILTERS: AllFilter[] = [
  { on: 'stream', prefixes: [''] },
  { on: 'stream', prefixes: ['order-'] },
  { on: 'event_type', prefixes: ['order.created', 'order.status_changed'] },
  { on: 'stream', regex: /^stock-/ },
  { on: 'event_type', prefixes: ['nothing.matches'] },
];

/** What a group keeps of a read: the events (by position) and where it goes on from. */
const seen = (result: ReadAllResult) => ({ positions: result.events.map((e) => e.position), ids: result.events.map((e) => e.event!.id), last: result.lastScannedPosition, endOfLog: result.endOfLog });

let log: EventLog;
afterEach(async () => {
  await log?.close();
});

async function appendMixed(count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const stream = i % 3 === 0 ? `order-${i % 7}` : i % 3 === 1 ? `stock-${i % 5}` : `$persistentsubscription-$all::g-checkpoint`;
    const type = i % 3 === 0 ? (i % 2 === 0 ? 'order.created' : 'order.status_changed') : i % 3 === 1 ? 'stock.reserved' : '$SubscriptionCheckpoint';
    await log.append(stream, 'any', [event(type)]);
  }
}

describe('the newest events of $all shared by the groups on $all', () => {
  it('gives every group what its own filtered read of the log gives, near the head', async () => {
    log = openSqliteEventLog({ file: ':memory:' });
    await appendMixed(60);
    const tail = new SharedTail(log);
    const head = log.headPosition();
    let served = 0;
    // Groups at different places near the head, reading as the group dispatch does, as more
    // events arrive between reads.
    for (const round of [0, 1, 2]) {
      for (const from of [head - 40, head - 10, head - 1, head, head + 1 + round]) {
        for (const filter of FILTERS) {
          for (const maxCount of [1, 3, 500]) {
            for (const window of [2, 4096]) {
              const shared = tail.readForwards(from, maxCount, filter, window);
              if (shared === undefined) continue;
              served++;
              const own = log.readAll({ from, direction: 'forwards', maxCount, resolveLinkTos: false, filter, maxSearchWindow: window });
              expect(seen(shared).ids, JSON.stringify({ from, filter: String(filter.prefixes ?? filter.regex), maxCount, window })).toEqual(seen(own).ids);
              expect(seen(shared).positions).toEqual(seen(own).positions);
              // Where the group goes on from: the same, or (at a full search window) no further.
              if (window > 100) expect(shared.lastScannedPosition).toBe(own.lastScannedPosition);
              if (window > 100) expect(shared.endOfLog).toBe(own.endOfLog);
            }
          }
        }
      }
      await appendMixed(7);
    }
    // The window starts where the first group read: every read from there on is served by it.
    expect(served).toBe(3 * 5 * FILTERS.length * 3 * 2);
  });

  it('hides what EventStoreDB hides from filtered reads of $all: the epoch and the $all groups\' checkpoints', async () => {
    log = openSqliteEventLog({ file: ':memory:' });
    await log.append('$persistentsubscription-$all::g-checkpoint', 'any', [event('$SubscriptionCheckpoint')]);
    await log.append('$persistentsubscription-$all::g-parked', 'any', [event('order.created')]);
    await log.append('order-1', 'any', [event('order.created')]);
    const read = new SharedTail(log).readForwards(0, 100, { on: 'stream', prefixes: [''] }, 4096)!;
    expect(read.events.map((e) => e.event!.stream)).toEqual(['order-1']);
  });

  it('leaves a group far behind the head, or behind the start of the window, to the log', async () => {
    log = openSqliteEventLog({ file: ':memory:' });
    await appendMixed(3000);
    const tail = new SharedTail(log);
    const head = log.headPosition();
    expect(tail.readForwards(1, 500, FILTERS[0]!, 4096)).toBeUndefined();
    const near = tail.readForwards(head - 5, 500, FILTERS[0]!, 4096)!;
    expect(near.events.map((e) => e.position)).toEqual([head - 5, head - 4, head - 3, head - 2, head - 1, head].filter((p) => log.readAll({ from: p, direction: 'forwards', maxCount: 1, resolveLinkTos: false, filter: FILTERS[0]! }).events[0]?.position === p));
    // Behind the start of the window (it began where the first group read): the log's read.
    expect(tail.readForwards(head - 100, 500, FILTERS[0]!, 4096)).toBeUndefined();
  });
});

describe('the window of newest events with large events', () => {
  it('gives every event once when they are more than its bytes bound holds, and the end only at the head', async () => {
    log = openSqliteEventLog({ file: ':memory:' });
    const tail = new SharedTail(log);
    const from = log.headPosition() + 1;
    // 40 events of 1 MB: more than the window keeps (16 MB).
    for (let i = 0; i < 40; i++) await log.append('order-big', 'any', [{ ...event('order.created'), data: Buffer.alloc(1024 * 1024, 32) }]);
    let cursor = from;
    const positions: number[] = [];
    for (let reads = 0; reads < 100; reads++) {
      const result = tail.readForwards(cursor, 500, FILTERS[0]!, 4096) ?? log.readAll({ from: cursor, direction: 'forwards', maxCount: 500, resolveLinkTos: false, filter: FILTERS[0]!, maxSearchWindow: 4096 });
      positions.push(...result.events.map((e) => e.position));
      if (result.lastScannedPosition !== undefined) cursor = result.lastScannedPosition + 1;
      if (result.endOfLog) break;
    }
    // Every event once, in order, and the end only at the head.
    expect(positions).toEqual(log.readAll({ from, direction: 'forwards', maxCount: 500, resolveLinkTos: false }).events.map((e) => e.position));
    expect(positions).toHaveLength(40);
  });
});
