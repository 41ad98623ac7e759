// `orders replay --until` builds the model as it was, into its own file (on PostgreSQL its own
// schema); a replay killed with -9 midway leaves the live model as it was, and the next replay
// cleans up after it.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { BACKWARDS, END } from '@eventstore/db-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toEventData } from '../../../src/eventstore/event-serialization.js';
import { orderEventFactory, orderStreamName, toNewEvents, type CommandContext, type OrderEvent } from '../../../src/orders/index.js';
import { scratchSchemaPrefix, untilSchemaFor } from '../../../src/replay/postgres-replay.js';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { runCli, startCli } from '../../helpers/cli.js';
import { countRowsInSchema, liveSchemaFor, onPostgres, readModelEnv, schemasStartingWith, tableExistsAt, tableRowsAt, withReadModelsAt, type ReadModelsAt } from '../../helpers/read-models.js';
import { liveRows, makeDataDir, onLiveModel } from './live-projections.js';
import { createOrder, pay, seedOrder } from './seed-orders.js';

const PAYMENTS_PER_ORDER = 4_000;
// PostgreSQL replays fewer events a second than SQLite: fewer orders still give a replay long enough to kill midway.
const BULK_ORDERS = onPostgres ? 3 : 5;
let store: TestEventStore;
let data: ReturnType<typeof makeDataDir>;
let env: Record<string, string>;

/** A long history quickly: orders paid in many one-cent payments, appended in large batches. */
async function seedLongHistory(orderId: string): Promise<void> {
  const context: CommandContext = { commandId: `bulk-${orderId}`, tenantId: 'tenant-bulk', actor: 'test', at: '2026-02-01T00:00:00.000Z', correlationId: `bulk-${orderId}` };
  const factory = orderEventFactory({ orderId, tenantId: 'tenant-bulk' }, context);
  const events: OrderEvent[] = [factory.created({ customer: { id: 'bulk' }, currency: 'EUR', items: [{ sku: 'bulk', quantity: 1, unitPrice: PAYMENTS_PER_ORDER }], total: PAYMENTS_PER_ORDER })];
  for (let paid = 1; paid <= PAYMENTS_PER_ORDER; paid++) {
    events.push(factory.paymentProcessed({ paymentId: `p-${paid}`, amount: 1, currency: 'EUR', method: 'card', paidAmount: paid }));
  }
  const newEvents = toNewEvents(events, context);
  for (let start = 0; start < newEvents.length; start += 1_000) {
    await store.client.appendToStream(orderStreamName(orderId), newEvents.slice(start, start + 1_000).map(toEventData));
  }
}

async function lastPosition(stream: string): Promise<bigint> {
  let position: bigint | undefined;
  for await (const resolved of store.client.readStream(stream, { direction: BACKWARDS, fromRevision: END, maxCount: 1 })) {
    position = resolved.event?.position?.commit;
  }
  if (position === undefined) throw new Error(`${stream} is empty`);
  return position;
}

/** The scratch copy of the replay running as process `pid`, if it exists: a file under DATA_DIR/replays, or a schema. */
async function copyOf(pid: number | undefined): Promise<ReadModelsAt | undefined> {
  if (onPostgres) {
    const [schema] = await schemasStartingWith(`${scratchSchemaPrefix(liveSchemaFor(data.dataDir), 'order-summary')}${pid}_`);
    return schema ? { schema } : undefined;
  }
  const file = join(data.dataDir, 'replays', `order-summary.rebuild-${pid}.db`);
  return existsSync(file) ? { file } : undefined;
}

/** Orders whose events the scratch copy of a running replay has committed (0 until the first commit). */
async function appliedInCopy(pid: number | undefined): Promise<number> {
  const copy = await copyOf(pid);
  if (!copy) return 0;
  if ('schema' in copy) return countRowsInSchema(copy.schema, 'projection_revisions');
  try {
    return Number((await withReadModelsAt(copy, (store) => store.get<{ n: number }>('SELECT count(*) AS n FROM projection_revisions')))?.n ?? 0);
  } catch {
    return 0; // not created yet
  }
}

/** Scratch copies of replays still there: files under DATA_DIR/replays, or schemas. */
async function leftoverCopies(): Promise<string[]> {
  if (onPostgres) return schemasStartingWith(scratchSchemaPrefix(liveSchemaFor(data.dataDir), 'order-summary'));
  return readdirSync(join(data.dataDir, 'replays')).filter((name) => name.includes('rebuild'));
}

beforeAll(async () => {
  store = await startTestEventStore();
  data = makeDataDir();
  env = { ESDB_CONNECTION_STRING: store.connectionString, DATA_DIR: data.dataDir, ...(await readModelEnv(data.dataDir)) };
});

afterAll(async () => {
  await store?.close();
  data?.remove();
});

describe('orders replay --until', () => {
  it('builds the model as it was at a position, and at a time, into a separate file', async () => {
    await seedOrder(store.client, 'u-1', [createOrder(1000)]);
    await seedOrder(store.client, 'u-2', [createOrder(2000), pay(2000)]);
    const position = await lastPosition('order-u-2');
    await new Promise((resolve) => setTimeout(resolve, 30));
    const time = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 30));
    await seedOrder(store.client, 'u-1', [pay(1000)]);
    await seedOrder(store.client, 'u-3', [createOrder(3000)]);

    const byPosition = await runCli(['replay', 'order-summary', '--until', String(position)], { env });
    expect(byPosition.stderr).toBe('');
    expect(byPosition.code).toBe(0);
    // DATA_DIR/replays/<projection>.until-<label>.db, or the schema <live>__until_<projection>_<label>.
    const positionOut: ReadModelsAt = onPostgres
      ? { schema: untilSchemaFor(liveSchemaFor(data.dataDir), 'order-summary', `position-${position}`) }
      : { file: join(data.dataDir, 'replays', `order-summary.until-position-${position}.db`) };
    const written = 'schema' in positionOut ? `schema ${positionOut.schema}` : 'file' in positionOut ? positionOut.file : '';
    expect(byPosition.stdout).toContain(`written to ${written} (the live read model is unchanged)`);
    const rows = (await tableRowsAt(positionOut, 'order_summary')) as Array<{ order_id: string; status: string; paid_amount: number }>;
    expect(rows.map((row) => [row.order_id, row.status, row.paid_amount])).toEqual([
      ['u-1', 'PENDING', 0],
      ['u-2', 'PAID', 2000],
    ]);

    // --out: a file, or on PostgreSQL a schema.
    const timeOut: ReadModelsAt = onPostgres ? { schema: 'as_of_time' } : { file: join(data.dataDir, 'as-of-time.db') };
    const byTime = await runCli(['replay', 'order-summary', '--until', time, '--out', 'schema' in timeOut ? timeOut.schema : 'file' in timeOut ? timeOut.file : ''], { env });
    expect(byTime.stderr).toBe('');
    expect(byTime.code).toBe(0);
    expect(await tableRowsAt(timeOut, 'order_summary')).toEqual(await tableRowsAt(positionOut, 'order_summary'));
    // Neither run created or touched the live model.
    expect(existsSync(join(data.dataDir, 'readmodels.db'))).toBe(false);
    expect(await tableExistsAt({ dataDir: data.dataDir }, 'projection_revisions')).toBe(false);
    expect(await leftoverCopies()).toEqual([]);
  });
});

describe('an interrupted replay', () => {
  // Seeds a long history and runs four replays: on a busy machine that outlasts the default timeout.
  it('killed with -9 or interrupted midway leaves the live model as it was; the next replay cleans up and completes', { timeout: 150_000 }, async () => {
    for (let i = 0; i < BULK_ORDERS; i++) await seedLongHistory(`bulk-${i}`);
    const first = await runCli(['replay', 'order-summary'], { env });
    expect(first.code).toBe(0);
    const rebuilt = await liveRows(data.dataDir, 'order_summary');
    expect(rebuilt).toHaveLength(3 + BULK_ORDERS);
    await onLiveModel(data.dataDir, "UPDATE order_summary SET paid_amount = -1 WHERE order_id = 'bulk-0'");
    const damaged = await liveRows(data.dataDir, 'order_summary');

    const replay = startCli(['replay', 'order-summary'], { env });
    // Killed once its copy holds applied events (a first commit), long before it could be done.
    const deadline = Date.now() + 30_000;
    while ((await appliedInCopy(replay.child.pid)) === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 2));
    expect(await appliedInCopy(replay.child.pid)).toBeGreaterThan(0);
    replay.child.kill('SIGKILL');
    const killed = await replay.done;
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.stdout).toBe('');
    expect(await liveRows(data.dataDir, 'order_summary')).toEqual(damaged);

    // Ctrl-C: the replay stops, says so in one line, and removes its copy.
    const interrupted = startCli(['replay', 'order-summary'], { env });
    while ((await appliedInCopy(interrupted.child.pid)) === 0 && Date.now() < deadline + 30_000) await new Promise((resolve) => setTimeout(resolve, 2));
    interrupted.child.kill('SIGINT');
    const stopped = await interrupted.done;
    expect(stopped.code).toBe(130);
    expect(stopped.stderr.trim()).toBe('orders: replay interrupted: the live read model is unchanged');
    expect(await copyOf(interrupted.child.pid)).toBeUndefined();
    expect(await liveRows(data.dataDir, 'order_summary')).toEqual(damaged);

    const again = await runCli(['replay', 'order-summary'], { env });
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(await liveRows(data.dataDir, 'order_summary')).toEqual(rebuilt);
    expect(await leftoverCopies()).toEqual([]);
  });
});
