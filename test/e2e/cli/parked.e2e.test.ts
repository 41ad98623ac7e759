// `orders parked`: lists what a group parked, with the reason, and hands it back on --replay.
import { persistentSubscriptionToAllSettingsFromDefaults, START, streamNameFilter, type PersistentSubscriptionToAll } from '@eventstore/db-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { runCli } from '../../helpers/cli.js';
import { createOrder, pay, seedOrder } from './seed-orders.js';

const GROUP = 'order-store.projection.parking-test';
let store: TestEventStore;
let env: Record<string, string>;
let subscription: PersistentSubscriptionToAll;
const deliveries: string[] = [];
let paymentId: string;
let creationId: string;

const deliveredTimes = (id: string) => deliveries.filter((delivered) => delivered === id).length;

async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function parkedList(): Promise<Array<Record<string, unknown>>> {
  const result = await runCli(['parked', 'parking-test', '--json'], { env });
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as Array<Record<string, unknown>>;
}

beforeAll(async () => {
  store = await startTestEventStore();
  env = { ESDB_CONNECTION_STRING: store.connectionString };
  const paid = await seedOrder(store.client, 'ord-p', [createOrder(2500), pay(1000)]);
  paymentId = paid[1]!.eventIds[0]!;
  const created = await seedOrder(store.client, 'ord-q', [createOrder(700)]);
  creationId = created[0]!.eventIds[0]!;
  await store.client.createPersistentSubscriptionToAll(GROUP, persistentSubscriptionToAllSettingsFromDefaults({ startFrom: START }), {
    filter: streamNameFilter({ prefixes: ['order-'] }),
  });
  subscription = store.client.subscribeToPersistentSubscriptionToAll(GROUP);
  subscription.on('data', (resolved) => {
    const event = resolved.event;
    if (!event) return;
    deliveries.push(event.id);
    // Two poison events: parked the first time, handled once handed back.
    if ((event.id === paymentId || event.id === creationId) && deliveredTimes(event.id) === 1) {
      void subscription.nack('park', event.id === paymentId ? 'payment provider said no' : 'customer unknown', resolved);
    } else {
      void subscription.ack(resolved);
    }
  });
  subscription.on('error', () => undefined);
  // Parking is written asynchronously after the nack.
  await until(async () => (await store.client.getPersistentSubscriptionToAllInfo(GROUP)).stats.parkedMessageCount === 2n, 'both events to be parked');
});

afterAll(async () => {
  await subscription?.unsubscribe().catch(() => undefined);
  await store?.close();
});

describe('orders parked', () => {
  it('lists each parked event with the reason it was parked, found by the short group name', async () => {
    expect(await parkedList()).toEqual([
      expect.objectContaining({ parkedNumber: 0, reason: expect.stringContaining('payment provider said no'), stream: 'order-ord-p', revision: 1, type: 'payment.processed', eventId: paymentId }),
      expect.objectContaining({ parkedNumber: 1, reason: expect.stringContaining('customer unknown'), stream: 'order-ord-q', revision: 0, type: 'order.created', eventId: creationId }),
    ]);
  });

  it('replays the parked events below --stop-at, then the rest: the group receives each again', async () => {
    const some = await runCli(['parked', GROUP, '--replay', '--stop-at', '1'], { env });
    expect(some.stderr).toBe('');
    expect(some.code).toBe(0);
    expect(some.stdout).toContain(`group ${GROUP} on $all: 2 parked events`);
    expect(some.stdout).toContain("reason: Client explicitly NAK'ed message. payment provider said no");
    expect(some.stdout).toContain(`replay of 1 parked event requested for group ${GROUP}`);
    await until(() => deliveredTimes(paymentId) === 2, 'the parked payment to be delivered again');
    // The server trims what it replayed from the parked stream once it has handed it back.
    await until(async () => (await parkedList()).length === 1, 'the replayed entry to leave the parked list');
    expect((await parkedList()).map((entry) => entry.eventId)).toEqual([creationId]);
    expect(deliveredTimes(creationId)).toBe(1);

    const rest = await runCli(['parked', GROUP, '--replay'], { env });
    expect(rest.code).toBe(0);
    expect(rest.stdout).toContain(`replay of 1 parked event requested for group ${GROUP}`);
    await until(() => deliveredTimes(creationId) === 2, 'the parked creation to be delivered again');
    await until(async () => (await parkedList()).length === 0, 'the parked list to empty');
  });

  it('refuses an unknown group and a malformed --stop-at in one line each', async () => {
    const unknown = await runCli(['parked', 'no-such-group'], { env });
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr.trim()).toBe(`orders: unknown subscription group 'no-such-group' (known: ${GROUP})`);
    const malformed = await runCli(['parked', GROUP, '--replay', '--stop-at', 'soon'], { env });
    expect(malformed.code).toBe(2);
    expect(malformed.stderr.trim()).toBe("orders: --stop-at must be a non-negative integer, got 'soon'");
  });
});
