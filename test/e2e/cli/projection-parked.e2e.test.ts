// `orders parked <projection>`: the events one projection parked (the projections share one group
// and park each on its own, in the read models), and --replay applying them to it again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import orderSummary, { getOrderSummary } from '../../../projections/order-summary.js';
import type { ReadModelStore } from '../../../src/readmodels/read-model-store.js';
import { defineProjection } from '../../../src/readmodels/projection.js';
import { listProjectionParked } from '../../../src/subscriptions/projection-parking.js';
import type { SubscriptionRunner } from '../../../src/subscriptions/runner.js';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { runCli } from '../../helpers/cli.js';
import { eventually } from '../../integration/workers/order-writer.js';
import { startRunner } from '../../integration/workers/worker-helpers.js';
import { missingReadModelEnv, onPostgres, openTestReadModelsIn, readModelEnv, schemasStartingWith } from '../../helpers/read-models.js';
import { makeDataDir } from './live-projections.js';
import { createOrder, pay, seedOrder } from './seed-orders.js';

let store: TestEventStore;
let data: ReturnType<typeof makeDataDir>;
let readModels: ReadModelStore;
let runner: SubscriptionRunner | undefined;
let env: Record<string, string>;
let paymentEvents = 0;

beforeAll(async () => {
  store = await startTestEventStore();
  data = makeDataDir();
  env = { ESDB_CONNECTION_STRING: store.connectionString, DATA_DIR: data.dataDir, ...(await readModelEnv(data.dataDir)) };
  readModels = await openTestReadModelsIn(data.dataDir);
  // The order summary as a broken deployment ran it: it refused every payment.
  const refusing = defineProjection({
    ...orderSummary,
    async apply(event, tx) {
      if (event.type === 'payment.processed') throw new Error('summary cannot take payments today');
      await orderSummary.apply(event, tx);
    },
  });
  ({ runner } = await startRunner({
    client: store.client,
    store: readModels,
    projections: [refusing],
    runner: { retry: { maxRetries: 1, baseDelayMs: 5, maxDelayMs: 10, outOfOrderMaxRetries: 5, outOfOrderDelayMs: 5 } },
  }));
  const seeded = await seedOrder(store.client, 'pk-1', [createOrder(2500), pay(2500)]);
  await seedOrder(store.client, 'pk-2', [createOrder(700)]);
  // create = revision 0; the payment (1) and what follows it in the same append are parked.
  paymentEvents = seeded[1]!.events.length;
  await eventually(async () => (await listProjectionParked(readModels, 'order-summary')).length === paymentEvents);
  await runner.stop();
  runner = undefined;
});

afterAll(async () => {
  await runner?.stop();
  await readModels?.close();
  await store?.close();
  data?.remove();
});

describe('orders parked <projection>', () => {
  it('lists what the projection parked, with the reasons, by its name or its old group name', async () => {
    const result = await runCli(['parked', 'order-summary', '--json'], { env });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const parked = JSON.parse(result.stdout) as Array<{ parkedNumber: number; stream: string; revision: number; type: string; reason: string }>;
    expect(parked.map((entry) => entry.stream)).toEqual(parked.map(() => 'order-pk-1'));
    expect(parked.map((entry) => entry.revision).sort()).toEqual(Array.from({ length: paymentEvents }, (_, index) => index + 1));
    expect(parked.find((entry) => entry.type === 'payment.processed')?.reason).toContain('summary cannot take payments today');

    const table = await runCli(['parked', 'order-store.projection.order-summary'], { env });
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(`projection order-summary (group order-store.projections): ${parked.length} parked event`);
    expect(table.stdout).toMatch(/order-pk-1@1 payment\.processed/);
  });

  it('replays them to the projection, oldest of each order first, and they are no longer parked', async () => {
    expect((await getOrderSummary(readModels, 'tenant-a', 'pk-1'))?.status).toBe('PENDING');
    const replay = await runCli(['parked', 'order-summary', '--replay'], { env });
    expect(replay.stderr).toBe('');
    expect(replay.code).toBe(0);
    expect(replay.stdout).toContain(`replayed ${paymentEvents} parked events to projection order-summary`);
    // The shipped projection, which takes payments, applied them.
    expect(await getOrderSummary(readModels, 'tenant-a', 'pk-1')).toMatchObject({ status: 'PAID', paidAmount: 2500 });
    expect((await getOrderSummary(readModels, 'tenant-a', 'pk-2'))?.status).toBe('PENDING');
    expect(await listProjectionParked(readModels, 'order-summary')).toEqual([]);
    const again = await runCli(['parked', 'order-summary', '--json'], { env });
    expect(JSON.parse(again.stdout)).toEqual([]);
  });

  it('says in one line where the read models are missing', async () => {
    // A DATA_DIR without the file, or on PostgreSQL a schema nobody wrote to (and none made there).
    const result = await runCli(['parked', 'order-summary'], { env: { ...env, ...(await missingReadModelEnv(data.dataDir)) } });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain(onPostgres ? "no read models at postgres://postgres:***@127.0.0.1" : 'no read models in');
    if (onPostgres) expect(await schemasStartingWith('nowhere')).toEqual([]);
  });
});
