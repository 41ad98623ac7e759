// Lag is one figure: `orders projections`, the subscription_lag metric (and the dashboard, which
// plots that metric) agree, in events, and it is 0 on an idle store whose groups processed
// everything, even groups that processed too few events to have written a checkpoint (issue 15).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { createLogger } from '../../../src/observability/logger.js';
import { startWorkers, type RunningWorkers } from '../../../src/workers.js';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { runCli } from '../../helpers/cli.js';
import { metricValue } from '../../integration/workers/worker-helpers.js';
import { onPostgres, readModelEnv, readModelUrlFor } from '../../helpers/read-models.js';
import { makeDataDir, waitForProjections } from './live-projections.js';
import { createOrder, pay, seedOrder } from './seed-orders.js';

const PREFIX = 'lag-test';
let store: TestEventStore;
let data: ReturnType<typeof makeDataDir>;
let env: Record<string, string>;
let workers: RunningWorkers;
let registry: Registry;

type Row = { kind: string; name: string; group: string; lag: number; checkpoint?: string };

async function cliRows(): Promise<Row[]> {
  const result = await runCli(['projections', '--json'], { env });
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as Row[];
}

/** The CLI's rows once every group shows lag 0 (counting from a checkpoint, small groups never did). */
async function caughtUpRows(): Promise<Row[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const rows = await cliRows();
    if (rows.every((row) => row.lag === 0)) return rows;
    if (Date.now() > deadline) throw new Error(`lag never 0: ${rows.map((row) => `${row.name}=${row.lag}`).join(' ')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  store = await startTestEventStore();
  data = makeDataDir();
  env = { ESDB_CONNECTION_STRING: store.connectionString, DATA_DIR: data.dataDir, SUBSCRIPTION_GROUP_PREFIX: PREFIX, ...(await readModelEnv(data.dataDir)) };
  // Few events: far fewer than a group acks before it writes a checkpoint.
  const revisions = new Map<string, number>();
  for (let i = 0; i < 3; i++) {
    await seedOrder(store.client, `lag-${i}`, [createOrder(1000 + i), pay(1000 + i)]);
    revisions.set(`order-lag-${i}`, 3);
  }
  registry = new Registry();
  workers = await startWorkers({
    client: store.client,
    dataDir: data.dataDir,
    readModelUrl: onPostgres ? await readModelUrlFor(data.dataDir) : undefined,
    logger: createLogger({ level: 'silent' }),
    registry,
    env: {},
    runner: { groupPrefix: PREFIX, statsIntervalMs: 60_000 },
  });
  await waitForProjections(data.dataDir, revisions, ['order-summary', 'orders-by-customer', 'sales-by-day', 'inventory']);
}, 60_000);

afterAll(async () => {
  await workers?.stop();
  await store?.close();
  data?.remove();
});

describe('lag', () => {
  it('is 0 for every group in the CLI and in the metric once an idle store is fully processed', async () => {
    const rows = await caughtUpRows();
    expect(rows.map((row) => row.name)).toEqual(['order-summary', 'orders-by-customer', 'sales-by-day', 'inventory', 'analytics', 'notification', 'whatsapp']);
    // Too few events for any group to have checkpointed its progress: lag does not come from there.
    expect(rows.filter((row) => row.checkpoint === undefined).length).toBeGreaterThan(0);
    await workers.runner.refreshStats();
    for (const row of rows) expect(await metricValue(registry, 'subscription_lag', { group: row.group }), `${row.group} in /metrics`).toBe(0);
  });

  it('counts in events what a stopped group has not processed, the same in the CLI and the metric', async () => {
    await workers.runner.refreshStats();
    await workers.stop();
    await seedOrder(store.client, 'lag-late', [createOrder(700)]);
    const rows = await cliRows();
    const byName = new Map(rows.map((row) => [row.name, row]));
    // One event (order.created) in one order stream, for the projections and the handlers of order.created.
    expect(byName.get('order-summary')!.lag).toBe(1);
    expect(byName.get('inventory')!.lag).toBe(1);
    expect(byName.get('notification')!.lag).toBe(1);
    // The WhatsApp handler reacts to status changes only: nothing new for it.
    expect(byName.get('whatsapp')!.lag).toBe(0);

    // A worker joins the groups again and processes it: back to 0 in both.
    const late = new Registry();
    const again = await startWorkers({
      client: store.client,
      dataDir: data.dataDir,
      readModelUrl: onPostgres ? await readModelUrlFor(data.dataDir) : undefined,
      logger: createLogger({ level: 'silent' }),
      registry: late,
      env: {},
      runner: { groupPrefix: PREFIX, statsIntervalMs: 60_000 },
    });
    workers = again;
    await waitForProjections(data.dataDir, new Map([['order-lag-late', 0]]), ['order-summary', 'inventory']);
    const caughtUp = await caughtUpRows();
    await again.runner.refreshStats();
    for (const row of caughtUp) expect(await metricValue(late, 'subscription_lag', { group: row.group }), row.group).toBe(0);
  });
});
