// The embedded store on a full disk, through the unmodified client: appends are refused with
// RESOURCE_EXHAUSTED "storage full" (nothing written), reads go on, and a persistent group's
// own writes are not lost: a park asked while the disk is full lands once space is free, and
// the group's checkpoint then moves past it.
import { jsonEvent, persistentSubscriptionToStreamSettingsFromDefaults, START, type EventStoreDBClient } from '@eventstore/db-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { eventually, mountTmpfs, sleep, type Tmpfs } from '../../e2e/faults/support.js';

describe('the embedded store on a full disk', () => {
  let disk: Tmpfs;
  let store: TestEventStore;
  let client: EventStoreDBClient;

  beforeAll(async () => {
    disk = mountTmpfs(32);
    store = await startTestEventStore({ dataDir: disk.dir });
    client = store.client;
  });

  afterAll(async () => {
    await store?.close();
    disk?.unmount();
  });

  it('refuses appends with storage full, keeps reading, and appends again once space is free', async () => {
    await client.appendToStream('disk-full-appends', jsonEvent({ type: 'before', data: { n: 0 } }));
    disk.fill();
    let refused: unknown;
    for (let i = 0; i < 2_000 && !refused; i++) {
      await client.appendToStream('disk-full-appends', jsonEvent({ type: 'during', data: { n: i, pad: 'x'.repeat(2_000) } })).catch((error: unknown) => (refused = error));
    }
    expect(refused, 'no append was refused on a full disk').toBeInstanceOf(Error);
    expect((refused as { code?: number }).code).toBe(8); // RESOURCE_EXHAUSTED
    expect((refused as Error).message).toMatch(/storage full/i);
    const read = [];
    for await (const resolved of client.readStream('disk-full-appends', { maxCount: 1 })) read.push(resolved.event?.type);
    expect(read).toEqual(['before']);

    disk.free();
    await eventually('an append succeeds again', async () => (await client.appendToStream('disk-full-appends', jsonEvent({ type: 'after', data: {} }))).success);
  });

  it("parks a message asked for while the disk is full once space is free, and checkpoints past it", { timeout: 60_000 }, async () => {
    const stream = 'disk-full-park';
    const group = 'disk-full-park-group';
    await client.appendToStream(stream, jsonEvent({ type: 'to-park', data: {} }));
    await client.createPersistentSubscriptionToStream(stream, group, persistentSubscriptionToStreamSettingsFromDefaults({ startFrom: START, checkPointAfter: 100, checkPointLowerBound: 1 }));
    const subscription = client.subscribeToPersistentSubscriptionToStream(stream, group);
    try {
      const delivered = await new Promise<Parameters<typeof subscription.nack>[2]>((resolve) => subscription.once('data', resolve));
      disk.fill();
      await subscription.nack('park', 'parked while the disk is full', delivered);
      await sleep(1_500);
      const during = await client.getPersistentSubscriptionToStreamInfo(stream, group);
      expect(during.stats.parkedMessageCount).toBe(0n);

      disk.free();
      await eventually('the park lands', async () => (await client.getPersistentSubscriptionToStreamInfo(stream, group)).stats.parkedMessageCount === 1n, 15_000);
      await eventually('the checkpoint moves past the parked message', async () => (await client.getPersistentSubscriptionToStreamInfo(stream, group)).stats.lastCheckpointedEventRevision === 0n, 15_000);
    } finally {
      await subscription.unsubscribe();
    }
  });
});
