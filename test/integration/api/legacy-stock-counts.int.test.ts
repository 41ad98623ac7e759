// Stock counts set with PUT /inventory/:sku before stock became a projection lived only in the
// read model's inventory_stock table. The API carries them over as inventory.stock_set events
// once, so the projection (rebuildable from the history) shows them.
import { FORWARDS, START } from '@eventstore/db-client';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../../../src/api/app.js';
import { type ReadModelStore } from '../../../src/readmodels/read-model-store.js';
import { startWorkers, type RunningWorkers } from '../../../src/workers.js';
import { auth, TENANT_A, TENANT_B } from '../../helpers/app.js';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { eventually } from '../workers/order-writer.js';
import { openTestReadModels } from '../../helpers/read-models.js';

let store: TestEventStore;
let readModels: ReadModelStore;
let workers: RunningWorkers | undefined;
const apiKeys = new Map([
  [TENANT_A.key, TENANT_A.tenantId],
  [TENANT_B.key, TENANT_B.tenantId],
]);

async function stockEvents(stream: string): Promise<Array<{ type: string; data: unknown }>> {
  const events: Array<{ type: string; data: unknown }> = [];
  try {
    for await (const { event } of store.client.readStream(stream, { direction: FORWARDS, fromRevision: START })) if (event) events.push({ type: event.type, data: event.data });
  } catch {
    return [];
  }
  return events;
}

beforeAll(async () => {
  store = await startTestEventStore();
  readModels = await openTestReadModels();
  // The previous version's table, as its inventory handler left it.
  await readModels.exec(`
    CREATE TABLE inventory_stock (tenant_id TEXT NOT NULL, sku TEXT NOT NULL, on_hand INTEGER NOT NULL DEFAULT 0, reserved INTEGER NOT NULL DEFAULT 0, updated_at TEXT NOT NULL, PRIMARY KEY (tenant_id, sku));
    INSERT INTO inventory_stock VALUES ('tenant-a', 'LAMP', 12, 3, '2026-10-01T00:00:00.000Z'), ('tenant-b', 'LAMP', 4, 0, '2026-10-01T00:00:00.000Z'), ('tenant-a', 'NEVER-COUNTED', 0, 2, '2026-10-01T00:00:00.000Z');
  `);
});

afterAll(async () => {
  await workers?.stop();
  await readModels?.close();
  await store?.close();
});

describe('stock counts of a store written before stock was a projection', () => {
  it('become inventory.stock_set events at start, once, and the projection shows them per tenant', async () => {
    const app = await build({ client: store.client, apiKeys, readModels });
    await app.ready();
    expect(await stockEvents('inventory-tenant-a-LAMP')).toEqual([{ type: 'inventory.stock_set', data: expect.objectContaining({ tenantId: 'tenant-a', sku: 'LAMP', onHand: 12 }) }]);
    expect(await stockEvents('inventory-tenant-b-LAMP')).toHaveLength(1);
    expect(await stockEvents('inventory-tenant-a-NEVER-COUNTED')).toEqual([]);
    expect(await readModels.get("SELECT name FROM sqlite_master WHERE name = 'inventory_stock'")).toBeUndefined();

    workers = await startWorkers({ client: store.client, logger: pino({ level: 'silent' }), registry: new Registry(), store: readModels, env: {} });
    await eventually(async () => (await app.inject({ method: 'GET', url: '/inventory/LAMP', headers: auth() })).json().onHand === 12);
    expect((await app.inject({ method: 'GET', url: '/inventory/LAMP', headers: auth(TENANT_B) })).json()).toMatchObject({ onHand: 4, reserved: 0 });
    await app.close();

    // A second start finds nothing left to carry over.
    const again = await build({ client: store.client, apiKeys, readModels });
    await again.ready();
    expect(await stockEvents('inventory-tenant-a-LAMP')).toHaveLength(1);
    await again.close();
  });
});
