import { jsonEvent, START, type Position } from '@eventstore/db-client';
import { describe, expect, it } from 'vitest';
import { useTestEventStore } from '../../helpers/event-store.js';
import { LagScanner, measureGroupLag, type LagQuery } from '../../../src/observability/group-lag.js';

const NOTIFICATIONS: LagQuery['filter'] = { on: 'event_type', prefixes: ['lag.notified'] };
const EVERYTHING: LagQuery['filter'] = { on: 'event_type', prefixes: ['lag.'] };

/** What the server reports of a group that last read `known` (none: it starts at the start). */
function queryOf(group: string, filter: LagQuery['filter'], known: Position | undefined, inFlight = 0): LagQuery {
  return {
    group,
    filter,
    info: {
      stats: { lastKnownEventPosition: known, readBufferCount: 0, retryBufferCount: 0, totalInFlightMessages: inFlight },
      settings: { startFrom: START },
    } as unknown as LagQuery['info'],
  };
}

describe('the lag scanner behind the subscription_lag metric', () => {
  const env = useTestEventStore();
  let stream = 0;

  /** Appends events of these types to a new stream; the position of the last one. */
  async function append(...types: string[]): Promise<Position> {
    const result = await env.client.appendToStream(
      `lag-${++stream}`,
      types.map((type) => jsonEvent({ type, data: { type } })),
    );
    return result.position!;
  }

  it("counts the group's events after its last known one, plus those in flight, as the CLI does, and the events written since its last read", async () => {
    const known = await append('lag.notified', 'lag.other');
    await append('lag.notified', 'lag.other', 'lag.notified');
    const scanner = new LagScanner(env.client, { maxAgeMs: 0 });
    const query = queryOf('notifications', NOTIFICATIONS, known, 1);

    const counted = await scanner.lag(query);
    expect(counted).toEqual({ events: 3, atLeast: false });
    expect((await measureGroupLag(env.client, [query])).get('notifications')).toEqual(counted);

    await append('lag.notified', 'lag.notified', 'lag.other');
    expect(await scanner.lag(query)).toEqual({ events: 5, atLeast: false });
    expect((await measureGroupLag(env.client, [query])).get('notifications')).toEqual({ events: 5, atLeast: false });
  });

  it('serves groups of other filters and starts from one window, one starting before the window too', async () => {
    const early = await append('lag.other');
    const late = await append('lag.notified', 'lag.other');
    await append('lag.notified');
    const scanner = new LagScanner(env.client, { maxAgeMs: 0 });

    expect(await scanner.lag(queryOf('late', EVERYTHING, late))).toEqual({ events: 1, atLeast: false });
    expect(await scanner.lag(queryOf('early', EVERYTHING, early))).toEqual({ events: 3, atLeast: false });
    expect(await scanner.lag(queryOf('late notifications', NOTIFICATIONS, late))).toEqual({ events: 1, atLeast: false });
  });

  it('reports a group further behind than its cap as at least the events it counted', async () => {
    const known = await append('lag.other');
    await append(...Array.from({ length: 8 }, () => 'lag.notified'));
    const scanner = new LagScanner(env.client, { cap: 5, maxAgeMs: 0 });

    const first = await scanner.lag(queryOf('behind', NOTIFICATIONS, known));
    expect(first.atLeast).toBe(true);
    expect(first.events).toBeGreaterThanOrEqual(5);
    // Read on to the head, the window holds the newest five: still at least, never more than written.
    const next = await scanner.lag(queryOf('behind', NOTIFICATIONS, known));
    expect(next).toEqual({ events: 5, atLeast: true });
  });

  it('answers at least what one read found within its time budget, and the next reads go on from there to the exact count', async () => {
    const known = await append('lag.other');
    await append(...Array.from({ length: 6 }, () => 'lag.notified'));
    // A budget of 0: each read takes one new event and stops (a read behind a slow, busy reader).
    const scanner = new LagScanner(env.client, { maxAgeMs: 0, readBudgetMs: 0 });
    const query = queryOf('slow', NOTIFICATIONS, known);

    const first = await scanner.lag(query);
    expect(first.atLeast).toBe(true);
    expect(first.events).toBeGreaterThanOrEqual(1);
    expect(first.events).toBeLessThan(6);
    const counts = [first.events];
    for (let refresh = 0; refresh < 10 && counts.at(-1)! < 6; refresh++) counts.push((await scanner.lag(query)).events);
    // Never more than written, never backwards, and there in the end.
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    expect(counts.at(-1)).toBe(6);
    expect((await measureGroupLag(env.client, [query])).get('slow')).toEqual({ events: 6, atLeast: false });
  });

  it('is 0 for a group that has read everything and holds nothing', async () => {
    const known = await append('lag.notified');
    const scanner = new LagScanner(env.client, { maxAgeMs: 0 });
    expect(await scanner.lag(queryOf('idle', NOTIFICATIONS, known))).toEqual({ events: 0, atLeast: false });
  });
});
