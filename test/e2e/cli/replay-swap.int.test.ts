// The replay engine's swap: refused while the live projection has applied an event the rebuilt
// copy has not (its work would be lost), accepted once the copy has caught up.
import { join } from 'node:path';
import { FORWARDS, START } from '@eventstore/db-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import orderSummary from '../../../projections/order-summary.js';
import { applyToProjection } from '../../../src/readmodels/apply-projection.js';
import { locationOf, toEventEnvelope } from '../../../src/readmodels/event-envelope.js';
import { readModelFileIn, type ReadModelStore } from '../../../src/readmodels/read-model-store.js';
import { clientEventSource, ProjectionRebuild } from '../../../src/replay/rebuild.js';
import { swapIntoLive } from '../../../src/replay/swap.js';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { liveRows, makeDataDir, tableRows } from './live-projections.js';
import { createOrder, pay, seedOrder } from './seed-orders.js';
import { openTestReadModels } from '../../helpers/read-models.js';

let store: TestEventStore;
let data: ReturnType<typeof makeDataDir>;

/** Live processing, as the projection's group does it, of everything in the store so far. */
async function applyLive(live: ReadModelStore): Promise<void> {
  for await (const resolved of store.client.readAll({ direction: FORWARDS, fromPosition: START })) {
    const event = resolved.event;
    if (!event?.streamId.startsWith('order-')) continue;
    await applyToProjection(live, orderSummary, locationOf(event), toEventEnvelope(event));
  }
}

beforeAll(async () => {
  store = await startTestEventStore();
  data = makeDataDir();
});

afterAll(async () => {
  await store?.close();
  data?.remove();
});

describe('swapping a rebuilt projection in', () => {
  it('is refused while live processing is ahead of the copy, and lands once the copy caught up', async () => {
    await seedOrder(store.client, 'sw-1', [createOrder(1000)]);
    const copyFile = join(data.dataDir, 'copy.db');
    const copy = await openTestReadModels(copyFile);
    const rebuild = new ProjectionRebuild(orderSummary, copy);
    await rebuild.prepare();
    await rebuild.run(clientEventSource(store.client));

    // Meanwhile the live projection processed a payment the copy has not read.
    await seedOrder(store.client, 'sw-1', [pay(1000)]);
    const live = await openTestReadModels(readModelFileIn(data.dataDir));
    await live.migrate(orderSummary.schema);
    await applyLive(live);
    await live.close();
    const liveBefore = liveRows(data.dataDir, 'order_summary');
    expect(liveBefore).toEqual([expect.objectContaining({ order_id: 'sw-1', status: 'PAID', paid_amount: 1000 })]);

    const refused = await swapIntoLive({ liveFile: readModelFileIn(data.dataDir), copyFile, projection: orderSummary, position: rebuild.position, events: rebuild.counts.read });
    expect(refused).toEqual({ kind: 'live-ahead', streams: 1, examples: ['order-sw-1@3'] });
    expect(liveRows(data.dataDir, 'order_summary')).toEqual(liveBefore);

    await rebuild.run(clientEventSource(store.client));
    expect(tableRows(copyFile, 'order_summary')).toEqual(liveBefore);
    const swapped = await swapIntoLive({ liveFile: readModelFileIn(data.dataDir), copyFile, projection: orderSummary, position: rebuild.position, events: rebuild.counts.read });
    expect(swapped).toEqual({ kind: 'swapped', rows: { order_summary: 1 } });
    expect(liveRows(data.dataDir, 'order_summary')).toEqual(liveBefore);
    expect(tableRows(readModelFileIn(data.dataDir), 'projection_replays')).toEqual([
      expect.objectContaining({ projection: 'order-summary', position: String(rebuild.position), events: rebuild.counts.read }),
    ]);
    await copy.close();
  });
});
