// The replay engine's swap: refused while the live projection has applied an event the rebuilt
// copy has not (its work would be lost), accepted once the copy has caught up. On SQLite the copy
// is a file swapped into readmodels.db, on PostgreSQL a scratch schema swapped into the live one.
import { join } from 'node:path';
import { FORWARDS, START } from '@eventstore/db-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import orderSummary from '../../../projections/order-summary.js';
import { applyToProjection } from '../../../src/readmodels/apply-projection.js';
import { locationOf, toEventEnvelope } from '../../../src/readmodels/event-envelope.js';
import { readModelFileIn, type ReadModelStore } from '../../../src/readmodels/read-model-store.js';
import { clientEventSource, ProjectionRebuild } from '../../../src/replay/rebuild.js';
import { openScratchSchema, swapSchemaIntoLive, type ScratchSchema } from '../../../src/replay/postgres-replay.js';
import { swapIntoLive } from '../../../src/replay/swap.js';
import { PROJECTION_MEMBERS_DDL, RECORD_PROJECTION_VERSION_SQL } from '../../../src/subscriptions/projection-migration.js';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { liveRows, makeDataDir } from './live-projections.js';
import { createOrder, pay, seedOrder } from './seed-orders.js';
import { onPostgres, openTestReadModels, openTestReadModelsIn, readModelUrlFor, tableRowsAt } from '../../helpers/read-models.js';

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
    const scratch: ScratchSchema | undefined = onPostgres ? await openScratchSchema(await readModelUrlFor(data.dataDir), orderSummary.name) : undefined;
    const copy = scratch?.scratch ?? (await openTestReadModels(copyFile));
    const copyRows = () => tableRowsAt(scratch ? { schema: scratch.scratch.schema } : { file: copyFile }, 'order_summary');
    const swap = () =>
      scratch
        ? swapSchemaIntoLive(scratch, orderSummary, { position: rebuild.position, events: rebuild.counts.read, member: false })
        : swapIntoLive({ liveFile: readModelFileIn(data.dataDir), copyFile, projection: orderSummary, position: rebuild.position, events: rebuild.counts.read, member: false });
    const rebuild = new ProjectionRebuild(orderSummary, copy);
    await rebuild.prepare();
    await rebuild.run(clientEventSource(store.client));

    // Meanwhile the live projection processed a payment the copy has not read.
    await seedOrder(store.client, 'sw-1', [pay(1000)]);
    const live = await openTestReadModelsIn(data.dataDir);
    await live.migrate(orderSummary.schema);
    await applyLive(live);
    await live.close();
    const liveBefore = await liveRows(data.dataDir, 'order_summary');
    expect(liveBefore).toEqual([expect.objectContaining({ order_id: 'sw-1', status: 'PAID', paid_amount: 1000 })]);

    const refused = await swap();
    expect(refused).toEqual({ kind: 'live-ahead', streams: 1, examples: ['order-sw-1@3'] });
    expect(await liveRows(data.dataDir, 'order_summary')).toEqual(liveBefore);

    await rebuild.run(clientEventSource(store.client));
    expect(await copyRows()).toEqual(liveBefore);
    const swapped = await swap();
    expect(swapped).toEqual({ kind: 'swapped', rows: { order_summary: 1 }, member: false });
    expect(await liveRows(data.dataDir, 'order_summary')).toEqual(liveBefore);
    expect(await liveRows(data.dataDir, 'projection_replays')).toEqual([
      expect.objectContaining({ projection: 'order-summary', position: String(rebuild.position), events: rebuild.counts.read }),
    ]);
    if (scratch) await scratch.dispose();
    else await copy.close();
  });

  it("records the projection's version with the rows it swapped in, so the next start does not empty and rebuild them again", async () => {
    const versioned = { ...orderSummary, version: 3 };
    // A worker of an earlier definition left its rows marked version 1.
    const live = await openTestReadModelsIn(data.dataDir);
    await live.migrate(PROJECTION_MEMBERS_DDL);
    await live.run(RECORD_PROJECTION_VERSION_SQL, versioned.name, 1);
    await live.close();
    const copyFile = join(data.dataDir, 'copy-versioned.db');
    const scratch: ScratchSchema | undefined = onPostgres ? await openScratchSchema(await readModelUrlFor(data.dataDir), versioned.name) : undefined;
    const copy = scratch?.scratch ?? (await openTestReadModels(copyFile));
    const rebuild = new ProjectionRebuild(versioned, copy);
    await rebuild.prepare();
    await rebuild.run(clientEventSource(store.client));
    const swapped = scratch
      ? await swapSchemaIntoLive(scratch, versioned, { position: rebuild.position, events: rebuild.counts.read, member: false })
      : await swapIntoLive({ liveFile: readModelFileIn(data.dataDir), copyFile, projection: versioned, position: rebuild.position, events: rebuild.counts.read, member: false });
    expect(swapped.kind).toBe('swapped');
    if (scratch) await scratch.dispose();
    else await copy.close();
    const after = await openTestReadModelsIn(data.dataDir);
    const recorded = await after.get<{ version: number }>('SELECT version FROM projection_versions WHERE projection = ?', versioned.name);
    await after.close();
    expect(Number(recorded?.version)).toBe(3);
  });
});
