// A new store's $all is never empty: as EventStoreDB, which writes its node's epoch into a
// database when it creates it, $all begins with a `$epoch-information` system event, and the
// first client event comes after it. Code that reads $all from the start sees it there.
import { describe, expect, it } from 'vitest';
import { BACKWARDS, END, jsonEvent, START } from '@eventstore/db-client';
import { startTestEventStore } from '../../helpers/event-store.js';
import { collect, record } from './support.js';

describe('a fresh store', () => {
  it('holds the epoch event in $all before anything was appended', async () => {
    const store = await startTestEventStore();
    try {
      const all = await collect(store.client.readAll({ fromPosition: START }));
      expect(all.map((e) => [e.event!.streamId, e.event!.type])).toEqual([['$epoch-information', '$epoch-information']]);
      const epoch = all[0]!.event!;
      expect(epoch.isJson).toBe(true);
      expect(epoch.data).toMatchObject({ epochNumber: 0, epochPosition: 0, prevEpochPosition: -1 });
      expect(epoch.revision).toBe(0n);
    } finally {
      await store.close();
    }
  });

  it('puts the first client event after it, in reads forwards, backwards and in a catch-up subscription', async () => {
    const store = await startTestEventStore();
    try {
      await store.client.appendToStream('order-first', jsonEvent({ type: 'order.created', data: {} }));
      const forwards = await collect(store.client.readAll({ fromPosition: START }));
      expect(forwards.map((e) => e.event!.streamId)).toEqual(['$epoch-information', 'order-first']);
      expect(forwards[1]!.event!.position!.commit).toBeGreaterThan(forwards[0]!.event!.position!.commit);
      const backwards = await collect(store.client.readAll({ fromPosition: END, direction: BACKWARDS }));
      expect(backwards.map((e) => e.event!.streamId)).toEqual(['order-first', '$epoch-information']);
      const subscription = store.client.subscribeToAll({ fromPosition: START });
      const seen = record(subscription);
      await seen.caughtUp();
      await subscription.unsubscribe();
      expect(seen.events.map((e) => e.event!.streamId)).toEqual(['$epoch-information', 'order-first']);
    } finally {
      await store.close();
    }
  });

  it('is created once: a store restarted on its data keeps one epoch event and every position', async () => {
    const first = await startTestEventStore({ durable: true });
    const dataDir = first.dataDir!;
    await first.client.appendToStream('order-kept', jsonEvent({ type: 'order.created', data: {} }));
    const before = (await collect(first.client.readAll())).map((e) => [e.event!.streamId, e.event!.position!.commit]);
    await first.client.dispose();
    await first.server.close();
    const again = await startTestEventStore({ dataDir });
    try {
      const after = (await collect(again.client.readAll())).map((e) => [e.event!.streamId, e.event!.position!.commit]);
      expect(after).toEqual(before);
      expect(after.filter(([stream]) => stream === '$epoch-information')).toHaveLength(1);
    } finally {
      await again.close();
      await first.close();
    }
  });
});
