import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { eventually } from './order-writer.js';
import { freePort } from '../../helpers/free-port.js';
import { readModelEnv } from '../../helpers/read-models.js';

const bin = join(import.meta.dirname, '../../../bin/orders.js');
const API_KEY = 'roles-test-key-0123456789';


describe('orders serve --role', () => {
  let store: TestEventStore;
  let dataDir: string;
  const children: ChildProcess[] = [];
  let readModels: Record<string, string> = {};

  beforeAll(async () => {
    store = await startTestEventStore();
    dataDir = mkdtempSync(join(tmpdir(), 'order-store-roles-'));
    readModels = await readModelEnv(dataDir);
  });

  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await store?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  function serve(role: string, env: Record<string, string>): { child: ChildProcess; output: () => string } {
    const child = spawn(process.execPath, [bin, 'serve', '--role', role], {
      env: { ...process.env, ESDB_CONNECTION_STRING: store.connectionString, DATA_DIR: dataDir, API_KEYS: `${API_KEY}:tenant-r`, LOG_LEVEL: 'warn', ...readModels, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    return { child, output: () => output };
  }

  it('splits the API and two competing worker processes that share the read models', async () => {
    const apiPort = await freePort();
    const metricsPorts = [await freePort(), await freePort()];
    const api = serve('api', { PORT: String(apiPort) });
    const workers = metricsPorts.map((port) => serve('workers', { PORT: String(port) }));
    await eventually(() => api.output().includes('listening on') && workers.every((worker) => worker.output().includes('running workers')), 25_000);

    const orderIds = Array.from({ length: 12 }, () => randomUUID());
    for (const orderId of orderIds) {
      const response = await fetch(`http://127.0.0.1:${apiPort}/orders`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ orderId, customer: { id: 'c-roles' }, currency: 'EUR', items: [{ sku: 'MUG', quantity: 1, unitPrice: 100 }] }),
      });
      expect(response.status).toBe(201);
    }
    const listed = await eventually(async () => {
      const body = (await (await fetch(`http://127.0.0.1:${apiPort}/orders?limit=50`, { headers: { authorization: `Bearer ${API_KEY}` } })).json()) as { items: { orderId: string }[] };
      return body.items.length === orderIds.length ? body.items : undefined;
    }, 20_000);
    expect(new Set(listed.map((item) => item.orderId))).toEqual(new Set(orderIds));

    const processed = await Promise.all(
      metricsPorts.map(async (port) => {
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        const match = /events_processed_total\{handler="order-summary",event_type="order\.created",outcome="handled"\} (\d+)/.exec(text);
        return Number(match?.[1] ?? 0);
      }),
    );
    // Each event applied once in all, by whichever worker got it.
    expect(processed[0]! + processed[1]!).toBe(orderIds.length);
    const apiMetrics = await (await fetch(`http://127.0.0.1:${apiPort}/metrics`)).text();
    expect(apiMetrics).not.toContain('subscription_events_in_flight');
  });

});
