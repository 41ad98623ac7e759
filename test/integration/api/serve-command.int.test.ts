import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestEventStore } from '../../helpers/event-store.js';
import { newOrderBody, storedTypes } from './support.js';
import { freePort } from '../../helpers/free-port.js';

const bin = join(import.meta.dirname, '../../../bin/orders.js');
const dataDir = mkdtempSync(join(tmpdir(), 'order-store-serve-'));
let child: ChildProcess | undefined;

afterAll(() => {
  child?.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});


describe('orders serve', () => {
  it('boots the API on the embedded store, prints a development key that works, and stops on SIGTERM', async () => {
    const [port, eventStorePort] = [await freePort(), await freePort()];
    child = spawn(process.execPath, [bin, 'serve'], {
      env: { ...process.env, PORT: String(port), EVENTSTORE_PORT: String(eventStorePort), DATA_DIR: dataDir, LOG_LEVEL: 'warn', API_KEYS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));

    const deadline = Date.now() + 45_000; // generous: a busy machine slows the start
    while (!output.includes('development API key') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(output).toContain(`listening on http://127.0.0.1:${port}`);

    const health = await fetch(`http://127.0.0.1:${port}/health`);
    expect(health.status).toBe(200);

    const key = readFileSync(join(dataDir, 'dev-api-key'), 'utf8').trim();
    expect(output).toContain(key);
    const created = await fetch(`http://127.0.0.1:${port}/orders`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(newOrderBody()),
    });
    expect(created.status).toBe(201);
    expect(((await created.json()) as { tenantId: string }).tenantId).toBe('dev');

    const exited = new Promise<number | null>((resolve) => child?.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('uses the EventStoreDB named by ESDB_CONNECTION_STRING instead of starting its own', async () => {
    const store = await startTestEventStore();
    const port = await freePort();
    const external = spawn(process.execPath, [bin, 'serve'], {
      env: { ...process.env, PORT: String(port), ESDB_CONNECTION_STRING: store.connectionString, API_KEYS: 'ext-key-123:tenant-x', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let output = '';
      external.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const deadline = Date.now() + 45_000; // generous: a busy machine slows the start
      while (!output.includes('listening on') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(output).toContain(`with EventStoreDB ${store.connectionString}`);
      expect((await fetch(`http://127.0.0.1:${port}/ready`)).status).toBe(200);

      const body = newOrderBody();
      const created = await fetch(`http://127.0.0.1:${port}/orders`, {
        method: 'POST',
        headers: { authorization: 'Bearer ext-key-123', 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(created.status).toBe(201);
      expect(await storedTypes(store.client, body.orderId, 'tenant-x')).toEqual(['order.created']);
    } finally {
      external.kill('SIGKILL');
      await store.close();
    }
  });

  it('refuses to serve the API on an external store without API_KEYS', () => {
    const result = spawnSync(process.execPath, [bin, 'serve'], {
      env: { ...process.env, ESDB_CONNECTION_STRING: 'esdb://127.0.0.1:1?tls=false', API_KEYS: '', PORT: '1' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).toBe(2);
    expect(result.stderr.trim()).toBe('orders: invalid configuration: API_KEYS is empty, so no caller could use the API');
  });

  it('runs only the workers with --role workers: no API, and the subscription groups exist on the store', async () => {
    const store = await startTestEventStore();
    const port = await freePort();
    const workers = spawn(process.execPath, [bin, 'serve', '--role', 'workers'], {
      env: { ...process.env, PORT: String(port), ESDB_CONNECTION_STRING: store.connectionString, API_KEYS: '', DATA_DIR: dataDir, LOG_LEVEL: 'warn', ROLE: 'api' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let output = '';
      workers.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const deadline = Date.now() + 45_000; // generous: a busy machine slows the start
      let groups: string[] = [];
      while (Date.now() < deadline) {
        groups = (await store.client.listAllPersistentSubscriptions().catch(() => [])).map((info) => info.groupName);
        if (output.includes('running workers') && groups.length > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(output).toContain('running workers');
      expect(groups.length).toBeGreaterThan(0);
      // A workers-only process serves /metrics, /health and /ready, not the API.
      const notApi = await fetch(`http://127.0.0.1:${port}/orders`);
      expect(notApi.status).toBe(404);
      expect(notApi.headers.get('content-type')).toBe('application/problem+json');
      expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(200);
      const health = await fetch(`http://127.0.0.1:${port}/health`);
      expect([health.status, await health.json()]).toEqual([200, { status: 'ok' }]);
      const ready = await fetch(`http://127.0.0.1:${port}/ready`);
      expect([ready.status, await ready.json()]).toEqual([200, { status: 'ready' }]);

      // The store gone: not ready (the image's HEALTHCHECK fails), still alive.
      await store.close();
      const unready = await fetch(`http://127.0.0.1:${port}/ready`);
      expect(unready.status).toBe(503);
      expect(unready.headers.get('content-type')).toBe('application/problem+json');
      expect(((await unready.json()) as { code: string }).code).toBe('EVENT_STORE_UNAVAILABLE');
      expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
    } finally {
      workers.kill('SIGKILL');
      await store.close();
    }
  });

  it('refuses an unknown --role with one clear line and exit code 2', () => {
    const result = spawnSync(process.execPath, [bin, 'serve', '--role', 'cashier'], { env: { ...process.env, DATA_DIR: dataDir }, encoding: 'utf8', timeout: 20_000 });
    expect(result.status).toBe(2);
    expect(result.stderr.trim()).toBe("orders: invalid configuration: ROLE must be one of api, workers, all (got 'cashier')");
  });

  it('refuses a bad setting with one clear line and exit code 2', () => {
    const result = spawnSync(process.execPath, [bin, 'serve'], { env: { ...process.env, PORT: 'eighty', DATA_DIR: dataDir }, encoding: 'utf8', timeout: 20_000 });
    expect(result.status).toBe(2);
    expect(result.stderr.trim()).toBe("orders: invalid configuration: PORT must be a port number (got 'eighty')");
  });
});
