import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventStoreDBClient } from '@eventstore/db-client';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { type ReadModelStore } from '../../../src/readmodels/read-model-store.js';
import { defineHandler, type HandlerDefinition } from '../../../src/subscriptions/handler.js';
import type { SubscriptionRunner } from '../../../src/subscriptions/runner.js';
import { projections } from '../../../projections/index.js';
import { listOrderSummaries } from '../../../projections/order-summary.js';
import { OrderWriter, eventually } from './order-writer.js';
import { startRunner } from './worker-helpers.js';
import { openTestReadModels, readModelEnv } from '../../helpers/read-models.js';

const here = dirname(fileURLToPath(import.meta.url));
const RECORDS = 'CREATE TABLE IF NOT EXISTS handled_by (order_id TEXT NOT NULL, worker TEXT NOT NULL)';

/** A handler that records which worker handled which order, in its idempotent transaction. */
function recordingHandler(worker: string, hooks: { hang?: () => boolean } = {}): HandlerDefinition {
  return defineHandler({
    name: 'recorder',
    handles: ['order.created'],
    schema: RECORDS,
    async handle(event, context) {
      if (hooks.hang?.()) await new Promise(() => undefined);
      await context.transaction(async (tx) => await tx.run('INSERT INTO handled_by (order_id, worker) VALUES (?, ?)', event.data.orderId, worker));
    },
  });
}

describe('several workers in one subscription group', async () => {
  let store: TestEventStore;
  let dir: string;
  const closers: (() => Promise<void> | void)[] = [];

  beforeEach(async () => {
    store = await startTestEventStore();
    dir = mkdtempSync(join(tmpdir(), 'workers-'));
  });

  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A worker as a separate process would be: its own connection and its own database handle. */
  async function worker(handlers: HandlerDefinition[], withProjections = false): Promise<{ runner: SubscriptionRunner; client: EventStoreDBClient; db: ReadModelStore }> {
    const client = EventStoreDBClient.connectionString(store.connectionString);
    const db = await openTestReadModels(join(dir, 'readmodels.db'));
    const { runner } = await startRunner({ client, store: db, handlers, projections: withProjections ? [...projections] : [] });
    closers.push(async () => {
      await runner.stop();
      await db.close();
      await client.dispose();
    });
    return { runner, client, db };
  }

  function handled(db: ReadModelStore): Promise<{ order_id: string; worker: string }[]> {
    return db.all('SELECT order_id, worker FROM handled_by ORDER BY order_id');
  }

  it('shares the events between two workers, each handled once', async () => {
    const a = await worker([recordingHandler('a')]);
    await worker([recordingHandler('b')]);
    const writer = new OrderWriter(store.client);
    const ids = Array.from({ length: 40 }, (_, index) => `s-${String(index).padStart(2, '0')}`);
    for (const id of ids) await writer.create(id);

    const rows = await eventually(async () => {
      const found = await handled(a.db);
      return found.length >= ids.length ? found : undefined;
    });
    expect(rows.map((row) => row.order_id)).toEqual(ids);
    const byWorker = new Set(rows.map((row) => row.worker));
    expect(byWorker).toEqual(new Set(['a', 'b']));
  });

  it("hands a killed worker's unacknowledged events to the surviving worker", async () => {
    const a = await worker([recordingHandler('a', { hang: () => true })]);
    const writer = new OrderWriter(store.client);
    for (const id of ['k-1', 'k-2', 'k-3']) await writer.create(id);
    // Worker a holds all three, unacked, when it dies.
    await eventually(() => a.runner.consumers[0]!.inFlight === 3);
    await a.runner.abandon();
    await a.client.dispose();

    const b = await worker([recordingHandler('b')]);
    const rows = await eventually(async () => {
      const found = await handled(b.db);
      return found.length === 3 ? found : undefined;
    });
    expect(rows).toEqual([
      { order_id: 'k-1', worker: 'b' },
      { order_id: 'k-2', worker: 'b' },
      { order_id: 'k-3', worker: 'b' },
    ]);
  });

  it('hands the events a worker process held to another worker when it is killed with SIGKILL', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'worker-child.ts')], {
      env: { ...process.env, CONNECTION_STRING: store.connectionString, READ_MODEL_FILE: join(dir, 'readmodels.db'), ...(await readModelEnv(dir)), HANG: '1' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    closers.push(() => {
      child.kill('SIGKILL');
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await eventually(() => output.includes('ready'), 20_000);
    const writer = new OrderWriter(store.client);
    for (const id of ['x-1', 'x-2']) await writer.create(id);
    await eventually(() => output.includes('started x-1') && output.includes('started x-2'));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;

    const survivor = await worker([recordingHandler('survivor')]);
    const rows = await eventually(async () => {
      const found = await handled(survivor.db);
      return found.length === 2 ? found : undefined;
    });
    expect(rows).toEqual([
      { order_id: 'x-1', worker: 'survivor' },
      { order_id: 'x-2', worker: 'survivor' },
    ]);
  });

  it('misses nothing written while every worker was down', async () => {
    const first = await worker([recordingHandler('first')]);
    const writer = new OrderWriter(store.client);
    await writer.create('d-1');
    await eventually(async () => (await handled(first.db)).length === 1);
    await first.runner.stop();
    for (const id of ['d-2', 'd-3']) await writer.create(id);

    const second = await worker([recordingHandler('second')]);
    const rows = await eventually(async () => {
      const found = await handled(second.db);
      return found.length === 3 ? found : undefined;
    });
    expect(rows).toEqual([
      { order_id: 'd-1', worker: 'first' },
      { order_id: 'd-2', worker: 'second' },
      { order_id: 'd-3', worker: 'second' },
    ]);
  });

  it('builds correct projections when two workers compete, whatever order each receives events in', async () => {
    const a = await worker([], true);
    await worker([], true);
    const writer = new OrderWriter(store.client);
    const ids = Array.from({ length: 15 }, (_, index) => `c-${String(index).padStart(2, '0')}`);
    await Promise.all(
      ids.map(async (id, index) => {
        await writer.create(id, { items: [{ sku: 'MUG', quantity: 1, unitPrice: 1000 }] });
        await writer.pay(id, 1000);
        if (index % 3 === 0) await writer.ship(id);
        if (index % 3 === 1) await writer.cancel(id);
      }),
    );
    const expectedStatus = (orderId: string) => ['SHIPPED', 'CANCELLED', 'PAID'][Number(orderId.slice(2)) % 3];
    const summaries = await eventually(async () => {
      const items = (await listOrderSummaries(a.db, { tenantId: 'tenant-a', limit: 100 })).items;
      return items.length === ids.length && items.every((item) => item.status === expectedStatus(item.orderId)) ? items : undefined;
    });
    expect(summaries.map((summary) => [summary.orderId, summary.status, summary.paidAmount]).sort()).toEqual(
      ids.map((id) => [id, expectedStatus(id), 1000]),
    );
  });
});
