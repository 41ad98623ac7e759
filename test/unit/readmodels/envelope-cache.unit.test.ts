import { describe, expect, it } from 'vitest';
import { cachedEnvelopes } from '../../../src/readmodels/envelope-cache.js';
import { asRecorded, paidAndShipped } from '../projections/envelopes.js';


describe('envelopes shared by the projection groups of one runner', () => {
  it('parses an event once however many groups receive it, and gives the same envelope as parsing it alone', () => {
    const parse = cachedEnvelopes();
    const created = paidAndShipped('o-1')[0]!;
    const first = parse(asRecorded(created));
    expect(parse(asRecorded(created))).toBe(first);
    expect(first).toMatchObject({ type: created.type, id: created.id, streamId: created.streamId, revision: created.revision });
  });

  it('never hands one event the envelope of another written with the same id elsewhere', () => {
    const parse = cachedEnvelopes();
    const created = paidAndShipped('o-1')[0]!;
    const a = parse(asRecorded(created, 'order-a'));
    const b = parse(asRecorded(created, 'order-b'));
    expect(a.streamId).toBe('order-a');
    expect(b.streamId).toBe('order-b');
  });

  it('forgets the oldest envelopes beyond its capacity and parses them again', () => {
    const parse = cachedEnvelopes(2);
    const [e0, e1, e2] = paidAndShipped('o-1');
    const first = parse(asRecorded(e0!));
    parse(asRecorded(e1!));
    parse(asRecorded(e2!));
    const again = parse(asRecorded(e0!));
    expect(again).not.toBe(first);
    expect(again).toEqual(first);
  });

  it('keeps fewer envelopes when their data is large: large orders never fill it to its count', () => {
    // Room for about two events of this size by bytes, against a count of 4,096.
    const [created] = paidAndShipped('o-1');
    const large = (streamId: string) => {
      const recorded = asRecorded(created!, streamId);
      return { ...recorded, data: { ...(recorded.data as object), note: 'x'.repeat(10_000) } } as typeof recorded;
    };
    const parse = cachedEnvelopes(4_096, 25_000);
    const events = ['order-a', 'order-b', 'order-c'].map(large);
    const first = parse(events[0]!);
    const second = parse(events[1]!);
    parse(events[2]!);
    expect(parse(events[1]!)).toBe(second);
    expect(parse(events[0]!)).not.toBe(first);
  });
});
