// `orders replay`: rebuilds a projection from the history, swaps it in while the live projection
// keeps running, and the live projection carries on without applying anything twice.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projections } from '../../../projections/index.js';
import { readModelFileIn } from '../../../src/readmodels/read-model-store.js';
import type { RunningWorkers } from '../../../src/workers.js';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { runCli } from '../../helpers/cli.js';
import { recordStockCount } from '../../../src/handlers/inventory-store.js';
import { liveSchemaFor, onPostgres, readModelEnv, schemasStartingWith } from '../../helpers/read-models.js';
import { liveRows, liveSnapshot, makeDataDir, onLiveModel, startLiveProjections, waitForProjections } from './live-projections.js';
import { cancel, createOrder, deliver, pay, seedOrder, ship, type CommandWithoutContext } from './seed-orders.js';

const PROJECTIONS = ['order-summary', 'orders-by-customer', 'sales-by-day', 'inventory'];
let store: TestEventStore;
let data: ReturnType<typeof makeDataDir>;
let workers: RunningWorkers;
let env: Record<string, string>;
const revisions = new Map<string, number>();

async function seed(orderId: string, commands: CommandWithoutContext[], day = 1): Promise<void> {
  const seeded = await seedOrder(store.client, orderId, commands, { at: (index) => new Date(Date.UTC(2026, 0, day, 10, index)).toISOString() });
  revisions.set(`order-${orderId}`, seeded.flatMap((command) => command.events).length - 1);
}

beforeAll(async () => {
  store = await startTestEventStore();
  data = makeDataDir();
  env = { ESDB_CONNECTION_STRING: store.connectionString, DATA_DIR: data.dataDir, SUBSCRIPTION_GROUP_PREFIX: 'replay-test', ...(await readModelEnv(data.dataDir)) };
  for (let i = 0; i < 12; i++) {
    const lifecycle: CommandWithoutContext[][] = [
      [createOrder(1000 + i)],
      [createOrder(2000 + i), pay(2000 + i)],
      [createOrder(3000 + i), pay(1000, 'p1'), pay(2000 + i, 'p2'), ship(), deliver()],
      [createOrder(4000 + i), pay(4000 + i), cancel()],
    ];
    await seed(`ord-${i}`, lifecycle[i % lifecycle.length]!, 1 + (i % 3));
  }
  // Stock counts are events too: the inventory projection is rebuilt from them and the orders.
  await recordStockCount(store.client, 'sku-1', 20, { commandId: 'count-1', tenantId: 'tenant-a', actor: 'test', at: '2026-01-01T09:00:00.000Z', correlationId: 'count-1' });
  workers = await startLiveProjections(store.client, data.dataDir, 'replay-test');
  await waitForProjections(data.dataDir, revisions, PROJECTIONS);
});

/** Scratch copies replays left behind: files under DATA_DIR/replays, or schemas next to the live one. */
async function leftoverCopies(): Promise<string[]> {
  if (onPostgres) return schemasStartingWith(`${liveSchemaFor(data.dataDir)}__`);
  const dir = join(data.dataDir, 'replays');
  return existsSync(dir) ? readdirSync(dir) : [];
}

/** When the live SQLite file was last written (on PostgreSQL the rows compared say it all). */
const liveModified = () => (onPostgres ? 0 : statSync(readModelFileIn(data.dataDir)).mtimeMs);

afterAll(async () => {
  await workers?.stop();
  await store?.close();
  data?.remove();
});

describe('orders replay', () => {
  it('rebuilds exactly the model live processing gave, swaps it in, and live processing carries on without applying anything twice', async () => {
    const live = await liveSnapshot(data.dataDir);
    expect(live.order_summary).toHaveLength(12);
    // A bug damaged the model: the replay is the fix.
    await onLiveModel(data.dataDir, "UPDATE order_summary SET status = 'REFUNDED', paid_amount = 0; DELETE FROM sales_by_day;");
    expect(await liveRows(data.dataDir, 'sales_by_day')).toEqual([]);

    const result = await runCli(['replay', 'order-summary'], { env });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^order-summary: replayed \d+ events up to position \d+ in /);
    expect(result.stdout).toContain('order_summary 12 rows');
    expect(await liveRows(data.dataDir, 'order_summary')).toEqual(live.order_summary);
    // Only the replayed projection was rebuilt: the other damage is still there.
    expect(await liveRows(data.dataDir, 'sales_by_day')).toEqual([]);
    expect(await leftoverCopies()).toEqual([]);

    // New history after the replay: applied once by the live projection, nothing missed.
    await seed('ord-after', [createOrder(777), pay(700, 'a1')], 5);
    await seedOrder(store.client, 'ord-1', [ship()]);
    revisions.set('order-ord-1', revisions.get('order-ord-1')! + 2);
    await waitForProjections(data.dataDir, revisions, ['order-summary']);
    const summary = (await liveRows(data.dataDir, 'order_summary')) as Array<{ order_id: string; paid_amount: number; status: string; revision: number }>;
    expect(summary).toHaveLength(13);
    expect(summary.find((row) => row.order_id === 'ord-after')).toMatchObject({ paid_amount: 700, status: 'PENDING', revision: 1 });
    expect(summary.find((row) => row.order_id === 'ord-1')).toMatchObject({ paid_amount: 2001, status: 'SHIPPED', revision: 5 });
  });

  it('leaves a lagging live projection to skip what the replay applied and apply what came after, each exactly once', async () => {
    await workers.stop();
    // Appended while the live projection is down: the replay reads them, live processing has not.
    await seed('ord-lag', [createOrder(500), pay(500, 'lag-pay')], 9);
    const result = await runCli(['replay', 'sales-by-day'], { env });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const day9 = async () => ((await liveRows(data.dataDir, 'sales_by_day')) as Array<Record<string, unknown>>).filter((row) => row.day === '2026-01-09');
    expect(await day9()).toEqual([expect.objectContaining({ orders_placed: 1, ordered_amount: '500', paid_amount: '500' })]);

    // Stock counts are events too: the inventory projection is rebuilt from them and the orders.
  await recordStockCount(store.client, 'sku-1', 20, { commandId: 'count-1', tenantId: 'tenant-a', actor: 'test', at: '2026-01-01T09:00:00.000Z', correlationId: 'count-1' });
  workers = await startLiveProjections(store.client, data.dataDir, 'replay-test');
    await seed('ord-late', [createOrder(300), pay(300, 'late-pay')], 9);
    await waitForProjections(data.dataDir, revisions, PROJECTIONS);
    // The lagging projection was handed ord-lag's events again and skipped them.
    expect(await day9()).toEqual([expect.objectContaining({ orders_placed: 2, ordered_amount: '800', paid_amount: '800' })]);
  });

  it('rebuilds the inventory projection (orders replay inventory): stock counts and order lines as live processing gave them', async () => {
    await waitForProjections(data.dataDir, revisions, ['inventory']);
    const counts = await liveRows(data.dataDir, 'inventory_counts');
    const lines = await liveRows(data.dataDir, 'inventory_lines');
    expect(counts).toHaveLength(1);
    expect(lines.length).toBeGreaterThanOrEqual(12);
    await onLiveModel(data.dataDir, 'DELETE FROM inventory_lines; DELETE FROM inventory_counts;');

    const result = await runCli(['replay', 'inventory'], { env });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^inventory: replayed \d+ events up to position \d+ in /);
    expect(await liveRows(data.dataDir, 'inventory_counts')).toEqual(counts);
    expect(await liveRows(data.dataDir, 'inventory_lines')).toEqual(lines);
  });

  it('reports a dry run against the live model and changes nothing', async () => {
    await onLiveModel(data.dataDir, "UPDATE customer_orders SET status = 'CANCELLED' WHERE order_id = 'ord-0'");
    const before = await liveRows(data.dataDir, 'customer_orders');
    const modified = liveModified();
    const result = await runCli(['replay', 'orders-by-customer', '--dry-run'], { env });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('dry run: the live read model');
    expect(result.stdout).toContain('customer_orders: 15 rows rebuilt, 15 live; 1 new or changed, 1 gone or changed');
    expect(await liveRows(data.dataDir, 'customer_orders')).toEqual(before);
    expect(liveModified()).toBe(modified);
    expect(await leftoverCopies()).toEqual([]);
  });

  it('refuses a side-effect handler, an unknown projection, a malformed --until and --out onto the live models in one line, touching nothing', async () => {
    const modified = liveModified();
    const before = await liveSnapshot(data.dataDir);
    const whatsapp = await runCli(['replay', 'whatsapp'], { env });
    expect(whatsapp.code).not.toBe(0);
    expect(whatsapp.stderr.trim().split('\n')).toHaveLength(1);
    expect(whatsapp.stderr).toContain("'whatsapp' is a handler with side effects (it sends WhatsApp messages to customers)");

    const unknown = await runCli(['replay', 'order-sumary'], { env });
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr.trim()).toBe(`orders: unknown projection 'order-sumary' (projections: ${projections.map((projection) => projection.name).join(', ')})`);

    const malformed = await runCli(['replay', 'order-summary', '--until', 'yesterday'], { env });
    expect(malformed.code).toBe(2);
    expect(malformed.stderr.trim().split('\n')).toHaveLength(1);
    expect(malformed.stderr).toContain("got 'yesterday'");

    // The live file, or on PostgreSQL the live schema.
    const live = onPostgres ? liveSchemaFor(data.dataDir) : readModelFileIn(data.dataDir);
    const ontoLive = await runCli(['replay', 'order-summary', '--until', '1', '--out', live], { env });
    expect(ontoLive.code).toBe(2);
    expect(ontoLive.stderr.trim()).toBe(onPostgres ? `orders: --out names the live schema '${live}': --until never writes there` : 'orders: --out names the live read-model file: --until never writes there');
    expect(liveModified()).toBe(modified);
    expect(await liveSnapshot(data.dataDir)).toEqual(before);
    expect(await leftoverCopies()).toEqual([]);
  });
});

describe('orders replay and the projections group the service shares', () => {
  const envFor = async (dataDir: string, prefix: string) => ({ ...env, DATA_DIR: dataDir, SUBSCRIPTION_GROUP_PREFIX: prefix, ...(await readModelEnv(dataDir)) });
  const names = projections.map((projection) => projection.name);

  it("records a projection it rebuilt among the group's members: the service's next start does not read $all again to catch it up", async () => {
    const prefix = 'replay-members';
    const lost = makeDataDir();
    const fresh = makeDataDir();
    let next: RunningWorkers | undefined;
    try {
      // The service ran: its group exists and feeds every projection.
      const earlier = await startLiveProjections(store.client, lost.dataDir, prefix);
      await waitForProjections(lost.dataDir, revisions, PROJECTIONS);
      await earlier.stop();
      // Its read models are lost; order-summary is rebuilt before the service starts again.
      const result = await runCli(['replay', 'order-summary'], { env: await envFor(fresh.dataDir, prefix) });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`the live subscription ${prefix}.projections carries on from there for order-summary`);

      next = await startLiveProjections(store.client, fresh.dataDir, prefix);
      // Only the projections the replay did not rebuild catch up by reading.
      expect(next.runner.bootstrap?.projections).toEqual(names.filter((name) => name !== 'order-summary'));
      // And the group gives order-summary what came after, once.
      await seed('ord-member', [createOrder(901), pay(901, 'm1')], 7);
      await waitForProjections(fresh.dataDir, revisions, PROJECTIONS);
      await waitForProjections(data.dataDir, revisions, ['order-summary']);
      expect(await liveRows(fresh.dataDir, 'order_summary')).toEqual(await liveRows(data.dataDir, 'order_summary'));
    } finally {
      await next?.stop();
      lost.remove();
      fresh.remove();
    }
  });

  it('leaves it out of the members while the group has consumers (workers without it, acking past the replay): the next start catches it up by reading', async () => {
    const prefix = 'replay-consumers';
    const dir = makeDataDir();
    const others = PROJECTIONS.filter((name) => name !== 'order-summary');
    let older: RunningWorkers | undefined;
    let next: RunningWorkers | undefined;
    try {
      // A service of an earlier version, without order-summary, is running.
      older = await startLiveProjections(store.client, dir.dataDir, prefix, projections.filter((projection) => projection.name !== 'order-summary'));
      await waitForProjections(dir.dataDir, revisions, others);
      const result = await runCli(['replay', 'order-summary'], { env: await envFor(dir.dataDir, prefix) });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`order-summary is not among the members of the live subscription ${prefix}.projections`);
      // Appended after the replay: the earlier version's workers ack it for their projections only.
      await seed('ord-consumed', [createOrder(902), pay(902, 'c1')], 8);
      await waitForProjections(dir.dataDir, revisions, others);
      await older.stop();
      older = undefined;

      next = await startLiveProjections(store.client, dir.dataDir, prefix);
      expect(next.runner.bootstrap?.projections).toEqual(['order-summary']);
      const summary = (await liveRows(dir.dataDir, 'order_summary')) as Array<{ order_id: string; paid_amount: number; revision: number }>;
      expect(summary.find((row) => row.order_id === 'ord-consumed')).toMatchObject({ paid_amount: 902, revision: revisions.get('order-ord-consumed') });
    } finally {
      await older?.stop();
      await next?.stop();
      dir.remove();
    }
  });
});
