// `orders replay` on PostgreSQL (READ_MODEL_URL), through the same replayProjection the CLI runs:
// the dry run compares the rebuilt copy with the live tables and changes nothing; --until builds
// the model as it was at a position into a schema of its own; the swap replaces the live tables
// in one transaction; no scratch schema is left behind.
import { EventStoreDBClient } from '@eventstore/db-client';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import orderSummary, { getOrderSummary } from '../../../projections/order-summary.js';
import { openPostgresReadModelStore } from '../../../src/readmodels/postgres-store.js';
import { clientEventSource } from '../../../src/replay/rebuild.js';
import { replayProjection } from '../../../src/replay/replay-projection.js';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { testDatabaseUrl } from '../../helpers/read-models.js';
import { OrderWriter } from '../../integration/workers/order-writer.js';

let store: TestEventStore;
let url: string;

beforeAll(async () => {
  store = await startTestEventStore();
  const base = new URL(await testDatabaseUrl());
  base.searchParams.set('schema', `s_replay_${process.pid}`);
  url = base.toString();
});
afterAll(async () => {
  await store?.close();
});

describe('replay on PostgreSQL', () => {
  it('dry-runs, writes --until into its own schema, and swaps atomically', async () => {
    const writer = new OrderWriter(store.client);
    await writer.create('r-1');
    const paid = (await writer.pay('r-1', 2000)).at(-1);
    expect(paid).toBeDefined();
    let paidAt: bigint | undefined;
    for await (const resolved of store.client.readAll()) if (resolved.event?.id === paid) paidAt = resolved.event?.position?.commit;
    await writer.create('r-2');
    // The replays read through a client of their own, disposed without waiting (as the CLI's
    // withStore does): --until leaves its read of $all early, which can keep dispose() pending.
    const reader = EventStoreDBClient.connectionString(store.connectionString);
    onTestFinished(() => void reader.dispose().catch(() => undefined));
    const source = () => clientEventSource(reader);

    // The live schema, with a row the history does not hold (an earlier bug, say).
    const live = await openPostgresReadModelStore({ url, poolSize: 2 });
    try {
      await live.migrate(orderSummary.schema);
      await live.run(
        "INSERT INTO order_summary (tenant_id, order_id, status, currency, total, item_count, created_at, updated_at, revision) VALUES ('tenant-a', 'ghost', 'PENDING', 'EUR', 1, 1, 'x', 'x', 0)",
      );

      const dry = await replayProjection({ source: source(), projection: orderSummary, dataDir: '.', readModelUrl: url, mode: { kind: 'dry-run' } });
      expect(dry.result.kind).toBe('dry-run');
      expect(await getOrderSummary(live, 'tenant-a', 'ghost')).toBeDefined();
      expect(await getOrderSummary(live, 'tenant-a', 'r-1')).toBeUndefined();

      const out = `s_replay_until_${process.pid}`;
      const until = await replayProjection({ source: source(), projection: orderSummary, dataDir: '.', readModelUrl: url, mode: { kind: 'until', until: { kind: 'position', position: paidAt! }, outFile: out } });
      expect(until.result).toMatchObject({ kind: 'written', reachedUntil: true });
      const atPayment = await openPostgresReadModelStore({ url, schema: out, poolSize: 1, create: false });
      try {
        expect(await getOrderSummary(atPayment, 'tenant-a', 'r-1')).toMatchObject({ status: 'PAID', paidAmount: 2000 });
        expect(await getOrderSummary(atPayment, 'tenant-a', 'r-2')).toBeUndefined();
      } finally {
        await atPayment.close();
      }

      const swap = await replayProjection({ source: source(), projection: orderSummary, dataDir: '.', readModelUrl: url, mode: { kind: 'swap' } });
      expect(swap.result).toMatchObject({ kind: 'swapped', rows: { order_summary: 2 } });
      expect(await getOrderSummary(live, 'tenant-a', 'ghost')).toBeUndefined();
      expect(await getOrderSummary(live, 'tenant-a', 'r-1')).toMatchObject({ status: 'PAID' });
      expect(await getOrderSummary(live, 'tenant-a', 'r-2')).toMatchObject({ status: 'PENDING' });
      const left = await live.all<{ nspname: string }>("SELECT nspname FROM pg_namespace WHERE nspname LIKE '%rebuild%'");
      expect(left).toEqual([]);
    } finally {
      await live.close();
    }
  });
});
