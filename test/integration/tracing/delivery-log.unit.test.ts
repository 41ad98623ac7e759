// The store's record of recent deliveries is bounded and says what the trace page shows.
import { describe, expect, it } from 'vitest';
import { DeliveryLog } from '../../../src/esdb-server/persistent/delivery-log.js';
import { handlingAnnotations } from '../../../src/esdb-server/http/trace-tree.js';

describe('the delivery log and its annotations', () => {
  it('keeps the newest events of a group only, forgetting the oldest first', () => {
    const log = new DeliveryLog(3);
    for (const id of ['a', 'b', 'c', 'd']) log.delivered(id, 1_000);
    expect(log.size).toBe(3);
    expect(log.get('a')).toBeUndefined();
    expect(log.get('d')).toMatchObject({ deliveries: 1, outcome: 'in flight' });
  });

  it('counts redeliveries and times the last one', () => {
    const log = new DeliveryLog();
    log.delivered('e', 1_010);
    log.settled('e', 'retry', 1_030);
    log.delivered('e', 1_100);
    log.settled('e', 'acked', 1_104);
    const record = log.get('e')!;
    expect(record).toEqual({ firstDeliveredAt: 1_010, lastDeliveredAt: 1_100, deliveries: 2, settledAt: 1_104, outcome: 'acked' });
    expect(handlingAnnotations(1_000, [{ group: 'g.handler.whatsapp', ...record }], 2_000)).toEqual([
      { label: 'g.handler.whatsapp', value: 'sent +10 ms, handled in 4 ms, 2 deliveries', outcome: 'acked' },
    ]);
  });

  it('orders groups by when they got the event, and says which are still in flight or parked', () => {
    const annotations = handlingAnnotations(
      1_000,
      [
        { group: 'late', firstDeliveredAt: 1_500, lastDeliveredAt: 1_500, deliveries: 1, settledAt: undefined, outcome: 'in flight' },
        { group: 'early', firstDeliveredAt: 1_002, lastDeliveredAt: 1_002, deliveries: 1, settledAt: 1_009, outcome: 'park' },
      ],
      3_000,
    );
    expect(annotations.map((a) => [a.label, a.value])).toEqual([
      ['early', 'sent +2 ms, parked in 7 ms'],
      ['late', 'sent +500 ms, in flight for 1.50 s'],
    ]);
  });
});
