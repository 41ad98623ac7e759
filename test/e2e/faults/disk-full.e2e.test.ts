// Disk full, for real: `orders serve` (API, workers and the embedded store in one process) on a
// small tmpfs, filled until appends fail, then freed. While full, commands answer 503 STORAGE_FULL
// with Retry-After and /ready says so; once space is back everything resumes without a restart:
// commands succeed, the workers catch up (the read model lists every acknowledged order) and
// no acknowledged order is lost.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';
import { api, eventually, mountTmpfs, orderBody, sleep, startService, type Service, type Tmpfs } from './support.js';

describe('a full disk under the running service', () => {
  let disk: Tmpfs;
  let service: Service | undefined;

  beforeAll(() => {
    disk = mountTmpfs(48);
  });

  afterAll(async () => {
    await service?.stop();
    disk?.unmount();
  });

  it('refuses commands with 503 storage full while full, is not ready, and resumes by itself once space is freed', { timeout: 240_000 }, async () => {
    service = await startService(disk.dir);
    const acknowledged: string[] = [];
    const create = async (): Promise<Response> => {
      const orderId = randomUUID();
      const answer = await api(service!, '/orders', { method: 'POST', body: orderBody(orderId) });
      if (answer.status === 201) acknowledged.push(orderId);
      return answer;
    };
    for (let i = 0; i < 5; i++) expect((await create()).status).toBe(201);

    disk.fill();
    // The store's WAL may still have room for a few appends: write until the disk refuses one.
    let refused: Response | undefined;
    for (let i = 0; i < 3_000 && !refused; i++) {
      const answer = await create();
      if (answer.status !== 201) refused = answer;
    }
    expect(refused, 'no append was refused on a full disk').toBeDefined();
    expect(refused!.status).toBe(503);
    expect(refused!.headers.get('content-type')).toContain('application/problem+json');
    expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThan(0);
    const problem = (await refused!.json()) as { code: string; detail: string };
    expect(problem.code).toBe('STORAGE_FULL');
    expect(problem.detail).toMatch(/storage full/i);

    // Still full: more commands are refused the same way, and the service is not ready.
    const again = await api(service, '/orders', { method: 'POST', body: orderBody(randomUUID()) });
    expect(again.status).toBe(503);
    expect(((await again.json()) as { code: string }).code).toBe('STORAGE_FULL');
    const notReady = await eventually('/ready turns 503 STORAGE_FULL', async () => {
      const answer = await fetch(`${service!.url}/ready`);
      return answer.status === 503 ? ((await answer.json()) as { code: string }) : undefined;
    });
    expect(notReady.code).toBe('STORAGE_FULL');

    disk.free();
    // No restart: the next commands succeed, and /ready comes back.
    await eventually('a command succeeds again once space is free', async () => (await create()).status === 201, 30_000);
    for (let i = 0; i < 5; i++) expect((await create()).status).toBe(201);
    await eventually('/ready answers 200 again', async () => (await fetch(`${service!.url}/ready`)).status === 200, 30_000);

    // Nothing acknowledged is lost, and the workers caught up: every order is in the read model.
    for (const orderId of acknowledged) expect((await api(service, `/orders/${orderId}`)).status, orderId).toBe(200);
    await eventually(
      'the read model lists every acknowledged order',
      async () => {
        const listed = new Set<string>();
        let cursor: string | undefined;
        do {
          const answer = await api(service!, `/orders?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
          if (answer.status !== 200) return false;
          const page = (await answer.json()) as { items: Array<{ orderId: string }>; nextCursor?: string | null };
          for (const item of page.items) listed.add(item.orderId);
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
        return acknowledged.every((orderId) => listed.has(orderId));
      },
      90_000,
    );
    expect(service.child.exitCode).toBeNull();
  });

  it('workers that meet a full disk retry without parking anything, and catch up once space is freed', { timeout: 240_000 }, async () => {
    await service?.stop();
    disk.unmount();
    disk = mountTmpfs(48);
    const insecure = { EVENTSTORE_INSECURE: 'true' };
    const apiService = await startService(disk.dir, insecure, { role: 'api' });
    service = apiService;
    const storeEnv = { ...insecure, ESDB_CONNECTION_STRING: `esdb://127.0.0.1:${apiService.eventStorePort}?tls=false`, HANDLER_MAX_RETRIES: '2' };
    // The groups exist once the workers ran; they stop before the orders arrive.
    const first = await startService(disk.dir, storeEnv, { role: 'workers' });
    await first.stop();
    const orders: string[] = [];
    for (let i = 0; i < 20; i++) {
      const orderId = randomUUID();
      expect((await api(apiService, '/orders', { method: 'POST', body: orderBody(orderId) })).status).toBe(201);
      orders.push(orderId);
    }

    disk.fill();
    const workers = await startService(disk.dir, storeEnv, { role: 'workers', waitFor: 'health' });
    try {
      // The workers are given the events but can write neither the read model nor their
      // notifications: their /ready says so, and (with 2 retries allowed) nothing is parked.
      const notReady = await eventually('the workers /ready turns 503 STORAGE_FULL', async () => {
        const answer = await fetch(`${workers.url}/ready`);
        return answer.status === 503 ? ((await answer.json()) as { code: string }) : undefined;
      });
      expect(notReady.code).toBe('STORAGE_FULL');
      await sleep(4_000);

      disk.free();
      await eventually(
        'the read model lists every order written before the disk filled',
        async () => {
          const answer = await api(apiService, '/orders?limit=100');
          if (answer.status !== 200) return false;
          const listed = new Set(((await answer.json()) as { items: Array<{ orderId: string }> }).items.map((item) => item.orderId));
          return orders.every((orderId) => listed.has(orderId));
        },
        90_000,
      );
      await eventually('the workers are ready again', async () => (await fetch(`${workers.url}/ready`)).status === 200, 30_000);
      // Nothing was parked for the fault: every group and projection shows 0 parked events.
      const listed = await runCli(['projections', '--json'], { env: { ...storeEnv, DATA_DIR: disk.dir } });
      expect(listed.code, listed.stderr).toBe(0);
      const rows = JSON.parse(listed.stdout) as Array<{ name: string; parked: number | undefined }>;
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows) expect(row.parked ?? 0, row.name).toBe(0);
      expect(workers.child.exitCode).toBeNull();
    } finally {
      await workers.stop();
    }
  });
});
