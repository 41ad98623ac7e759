// `orders projections`: each projection and handler group with its status, lag and parked count.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { createLogger } from '../../../src/observability/logger.js';
import { parkForProjection } from '../../../src/subscriptions/projection-parking.js';
import { startWorkers } from '../../../src/workers.js';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { runCli } from '../../helpers/cli.js';
import { onPostgres, openTestReadModelsIn, readModelEnv, readModelUrlFor } from '../../helpers/read-models.js';
import { makeDataDir, waitForProjections } from './live-projections.js';
import { createOrder, pay, seedOrder } from './seed-orders.js';

const PREFIX = 'status-test';
let store: TestEventStore;
let data: ReturnType<typeof makeDataDir>;
let env: Record<string, string>;

beforeAll(async () => {
  store = await startTestEventStore();
  data = makeDataDir();
  env = { ESDB_CONNECTION_STRING: store.connectionString, DATA_DIR: data.dataDir, SUBSCRIPTION_GROUP_PREFIX: PREFIX, ...(await readModelEnv(data.dataDir)) };
  const revisions = new Map<string, number>();
  for (let i = 0; i < 4; i++) {
    await seedOrder(store.client, `st-${i}`, [createOrder(1000 + i), pay(1000 + i)]);
    revisions.set(`order-st-${i}`, 3);
  }
  // The real workers (every projection and handler) process the history, then stop.
  const workers = await startWorkers({
    client: store.client,
    dataDir: data.dataDir,
    readModelUrl: onPostgres ? await readModelUrlFor(data.dataDir) : undefined,
    logger: createLogger({ level: 'silent' }),
    registry: new Registry(),
    env: {},
    runner: { groupPrefix: PREFIX, statsIntervalMs: 60_000 },
  });
  await waitForProjections(data.dataDir, revisions, ['order-summary', 'orders-by-customer', 'sales-by-day']);
  await workers.stop();

  // Written while no worker runs: lag. One of them parked by sales-by-day (as its worker records it).
  await seedOrder(store.client, 'late-0', [createOrder(500)]);
  const late = await seedOrder(store.client, 'late-1', [createOrder(600)]);
  const readModels = await openTestReadModelsIn(data.dataDir);
  try {
    await parkForProjection(readModels, {
      projection: 'sales-by-day',
      eventId: late[0]!.eventIds[0]!,
      streamId: 'order-late-1',
      revision: 0,
      eventType: 'order.created',
      commitPosition: undefined,
      reason: 'test parks it',
    });
  } finally {
    await readModels.close();
  }
});

afterAll(async () => {
  await store?.close();
  data?.remove();
});

describe('orders projections', () => {
  it('shows every projection and handler group with its status, consumers, lag and parked count', async () => {
    const result = await runCli(['projections', '--json'], { env });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const rows = JSON.parse(result.stdout) as Array<{ kind: string; name: string; group: string; status: string; consumers: number; lag: number; parked: number }>;
    expect(rows.map((row) => `${row.kind} ${row.name}`)).toEqual([
      'projection order-summary',
      'projection orders-by-customer',
      'projection sales-by-day',
      'projection inventory',
      'projection analytics',
      'handler notification',
      'handler whatsapp',
    ]);
    for (const row of rows) {
      // The projections share one group; each handler has its own.
      expect(row.group).toBe(row.kind === 'projection' ? `${PREFIX}.projections` : `${PREFIX}.${row.kind}.${row.name}`);
      expect(row.status).not.toBe('not created');
      expect(row.consumers).toBe(0);
    }
    const byName = new Map(rows.map((row) => [row.name, row]));
    // The two late orders were written after everything the workers processed.
    expect(byName.get('order-summary')!.lag).toBeGreaterThanOrEqual(2);
    expect(byName.get('order-summary')!.parked).toBe(0);
    // Parked events are each projection's own.
    expect(byName.get('sales-by-day')!.parked).toBe(1);
    expect(byName.get('orders-by-customer')!.parked).toBe(0);
    // The payment handler groups see only their event types: the late orders have no payments.
    expect(byName.get('notification')!.lag).toBeGreaterThanOrEqual(2);
  });

  it('prints a table, and marks groups no worker has created yet', async () => {
    const table = await runCli(['projections'], { env });
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^KIND\s+NAME\s+STATUS\s+CONSUMERS\s+CHECKPOINT\s+LAG\s+PARKED\s+GROUP$/);
    expect(lines.find((line) => line.startsWith('projection  sales-by-day'))).toMatch(/\s1\s+status-test\.projections$/);

    const fresh = await runCli(['projections'], { env: { ...env, SUBSCRIPTION_GROUP_PREFIX: 'never-started' } });
    expect(fresh.code).toBe(0);
    expect(fresh.stdout.split('\n').filter((line) => line.includes('not created'))).toHaveLength(8);
  });
});
