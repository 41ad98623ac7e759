// `orders parked`: lists what a group parked, with the reason, and hands it back on --replay.
import { persistentSubscriptionToAllSettingsFromDefaults, START, streamNameFilter, type PersistentSubscriptionToAll } from '@eventstore/db-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { runCli } from '../../helpers/cli.js';
import { createOrder, pay, seedOrder, type SeededCommand } from './seed-orders.js';

const GROUP = 'order-store.projection.parking-test';
let store: TestEventStore;
let env: Record<string, string>;
let seeded: SeededCommand[];
let subscription: PersistentSubscriptionToAll;
const deliveries: Array<{ id: string; retryCount: number }> = [];
let poisonId: string;

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

beforeAll(async () => {
  store = await startTestEventStore();
  env = { ESDB_CONNECTION_STRING: store.connectionString };
  seeded = await seedOrder(store.client, 'ord-p', [createOrder(2500), pay(1000)]);
  poisonId = seeded[1]!.eventIds[0]!;
  await store.client.createPersistentSubscriptionToAll(GROUP, persistentSubscriptionToAllSettingsFromDefaults({ startFrom: START }), {
    filter: streamNameFilter({ prefixes: ['order-'] }),
  });
  subscription = store.client.subscribeToPersistentSubscriptionToAll(GROUP);
  subscription.on('data', (resolved) => {
    const event = resolved.event;
    if (!event) return;
    deliveries.push({ id: event.id, retryCount: resolved.retryCount });
    // The payment is the poison event: parked the first time, handled once handed back.
    const firstTime = deliveries.filter((delivery) => delivery.id === event.id).length === 1;
    if (event.id === poisonId && firstTime) void subscription.nack('park', 'payment provider said no', resolved);
    else void subscription.ack(resolved);
  });
  subscription.on('error', () => undefined);
  await until(() => deliveries.some((delivery) => delivery.id === poisonId), 'the poison event to be delivered');
});

afterAll(async () => {
  await subscription?.unsubscribe().catch(() => undefined);
  await store?.close();
});

describe('orders parked', () => {
  it('lists each parked event with the reason it was parked, found by the short group name', async () => {
    let listed: Array<Record<string, unknown>> = [];
    // Parking is written asynchronously after the nack.
    const deadline = Date.now() + 10_000;
    while (listed.length === 0 && Date.now() < deadline) {
      const result = await runCli(['parked', 'parking-test', '--json'], { env });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      listed = JSON.parse(result.stdout) as Array<Record<string, unknown>>;
    }
    expect(listed).toEqual([
      expect.objectContaining({ parkedNumber: 0, reason: expect.stringContaining('payment provider said no'), stream: 'order-ord-p', revision: 1, type: 'payment.processed', eventId: poisonId }),
    ]);
  });

  it('replays the parked events: the group receives the event again', async () => {
    const before = deliveries.filter((delivery) => delivery.id === poisonId).length;
    const result = await runCli(['parked', GROUP, '--replay'], { env });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`group ${GROUP} on $all: 1 parked event`);
    expect(result.stdout).toContain("reason: Client explicitly NAK'ed message. payment provider said no");
    expect(result.stdout).toContain(`replay of 1 parked event requested for group ${GROUP}`);
    await until(() => deliveries.filter((delivery) => delivery.id === poisonId).length > before, 'the parked event to be delivered again');
    // Once handed back and acked, nothing is left parked.
    const after = await runCli(['parked', GROUP], { env });
    expect(after.stdout.split('\n')[0]).toBe(`group ${GROUP} on $all: 0 parked events`);
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
