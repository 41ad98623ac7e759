import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '@eventstore/db-client';
import { cachedEnvelopes } from '../../../src/readmodels/envelope-cache.js';
import type { EventEnvelope } from '../../../src/readmodels/event-envelope.js';
import { paidAndShipped } from '../projections/envelopes.js';

// A fresh object per call, as each subscription group receives its own copy of an event.
function recorded(envelope: EventEnvelope, streamId = envelope.streamId): RecordedEvent {
  return {
    streamId,
    id: envelope.id,
    revision: BigInt(envelope.revision),
    type: envelope.type,
    data: envelope.data,
    metadata: {},
    isJson: true,
    created: envelope.recordedAt,
    position: { commit: BigInt(envelope.revision), prepare: BigInt(envelope.revision) },
  } as unknown as RecordedEvent;
}

describe('envelopes shared by the projection groups of one runner', () => {
  it('parses an event once however many groups receive it, and gives the same envelope as parsing it alone', () => {
    const parse = cachedEnvelopes();
    const created = paidAndShipped('o-1')[0]!;
    const first = parse(recorded(created));
    expect(parse(recorded(created))).toBe(first);
    expect(first).toMatchObject({ type: created.type, id: created.id, streamId: created.streamId, revision: created.revision });
  });

  it('never hands one event the envelope of another written with the same id elsewhere', () => {
    const parse = cachedEnvelopes();
    const created = paidAndShipped('o-1')[0]!;
    const a = parse(recorded(created, 'order-a'));
    const b = parse(recorded(created, 'order-b'));
    expect(a.streamId).toBe('order-a');
    expect(b.streamId).toBe('order-b');
  });

  it('forgets the oldest envelopes beyond its capacity and parses them again', () => {
    const parse = cachedEnvelopes(2);
    const [e0, e1, e2] = paidAndShipped('o-1');
    const first = parse(recorded(e0!));
    parse(recorded(e1!));
    parse(recorded(e2!));
    const again = parse(recorded(e0!));
    expect(again).not.toBe(first);
    expect(again).toEqual(first);
  });
});
