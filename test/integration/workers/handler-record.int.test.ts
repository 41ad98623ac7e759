// A handler's last-step writes through context.record join the runner's commit of the turn with
// the record that the event was handled: committed together before the ack, once per event
// however often it is delivered, and a write that throws is retried and parked like any failure.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ReadModelStore } from '../../../src/readmodels/read-model-store.js';
import { groupName } from '../../../src/subscriptions/group-settings.js';
import { defineHandler } from '../../../src/subscriptions/handler.js';
import type { SubscriptionRunner } from '../../../src/subscriptions/runner.js';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { OrderWriter, eventually } from './order-writer.js';
import { readParked, startRunner } from './worker-helpers.js';
import { openTestReadModels } from '../../helpers/read-models.js';

let store: TestEventStore;
let readModels: ReadModelStore;
const runners: SubscriptionRunner[] = [];

const tally = defineHandler({
  name: 'tally',
  handles: ['order.created', 'payment.processed'],
  schema: 'CREATE TABLE IF NOT EXISTS tally (n INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL, order_id TEXT NOT NULL, type TEXT NOT NULL)',
  handle(event, context) {
    context.record(async (tx) => {
      await tx.run('INSERT INTO tally (event_id, order_id, type) VALUES (?, ?, ?)', event.id, event.data.orderId, event.type);
      if (event.type === 'payment.processed') throw new Error('the tally cannot count payments');
    });
  },
});

beforeEach(async () => {
  store = await startTestEventStore();
  readModels = await openTestReadModels();
});

afterEach(async () => {
  for (const runner of runners.splice(0)) await runner.stop();
  await readModels.close();
  await store.close();
});

const rows = () => readModels.all<{ event_id: string; type: string }>('SELECT event_id, type FROM tally ORDER BY n');
const handled = () => readModels.all<{ event_id: string }>("SELECT event_id FROM handled_events WHERE handler = 'tally'");

describe('context.record', () => {
  it('commits the rows with the handled record once per event, and a write that throws leaves nothing and is parked', async () => {
    const { runner } = await startRunner({ client: store.client, store: readModels, handlers: [tally] });
    runners.push(runner);
    const writer = new OrderWriter(store.client);
    await writer.create('r-1');
    await writer.pay('r-1', 2000);

    const parked = await eventually(async () => {
      const entries = await readParked(store.client, groupName('handler', 'tally'));
      return entries.length === 1 ? entries : undefined;
    });
    expect(parked[0]!.reason).toContain('the tally cannot count payments');
    // The creation counted once, with its handled record; the payment's row was rolled back with it.
    expect((await rows()).map((row) => row.type)).toEqual(['order.created']);
    expect((await handled()).map((row) => row.event_id)).toEqual([(await rows())[0]!.event_id]);

    // Every event delivered again (the group re-created from the start): nothing counts twice.
    await runner.stop();
    runners.splice(0);
    await store.client.deletePersistentSubscriptionToAll(groupName('handler', 'tally'));
    const again = await startRunner({ client: store.client, store: readModels, handlers: [tally] });
    runners.push(again.runner);
    await writer.create('r-2');
    // r-2 comes after r-1's events in $all: by the time it counts, r-1's creation came again.
    await eventually(async () => (await rows()).length === 2);
    expect((await rows()).map((row) => row.type)).toEqual(['order.created', 'order.created']);
    expect(await handled()).toHaveLength(2);
  });
});
