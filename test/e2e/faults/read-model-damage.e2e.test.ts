// A read-model file deleted under the running service, and one overwritten with garbage: the
// service notices (file identity, PRAGMA quick_check), /ready and the query routes answer 503
// READ_MODEL_UNAVAILABLE with the reason, logged once, commands still work, and `orders replay`
// of each projection rebuilds the model from the history, after which the service is ready
// again and lists every order (those created meanwhile too), without a restart.
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, fstatSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projections } from '../../../projections/index.js';
import { runCli } from '../../helpers/cli.js';
import { api, eventually, orderBody, startService, type Service } from './support.js';

const INSECURE = { EVENTSTORE_INSECURE: 'true' };

describe('a damaged read-model file', () => {
  let dataDir: string;
  let service: Service | undefined;
  const orders: string[] = [];

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'order-store-read-model-damage-'));
  });

  afterAll(async () => {
    await service?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const create = async (): Promise<void> => {
    const orderId = randomUUID();
    const answer = await api(service!, '/orders', { method: 'POST', body: orderBody(orderId) });
    expect(answer.status).toBe(201);
    orders.push(orderId);
  };

  const listed = async (): Promise<Set<string> | undefined> => {
    const answer = await api(service!, '/orders?limit=100');
    if (answer.status !== 200) return undefined;
    return new Set(((await answer.json()) as { items: Array<{ orderId: string }> }).items.map((item) => item.orderId));
  };

  const unavailable = async (): Promise<{ code: string; detail: string; fault?: string }> =>
    eventually('/ready answers 503 READ_MODEL_UNAVAILABLE', async () => {
      const answer = await fetch(`${service!.url}/ready`);
      if (answer.status !== 503) return undefined;
      const body = (await answer.json()) as { code: string; detail: string; fault?: string };
      return body.code === 'READ_MODEL_UNAVAILABLE' ? body : undefined;
    });

  /** `orders replay <projection>` for every projection, as the README tells an operator. */
  const replayAll = async (): Promise<string[]> => {
    const outputs: string[] = [];
    for (const projection of projections) {
      const replayed = await runCli(['replay', projection.name], {
        env: { DATA_DIR: dataDir, ESDB_CONNECTION_STRING: `esdb://127.0.0.1:${service!.eventStorePort}?tls=false` },
        timeoutMs: 60_000,
      });
      expect(replayed.code, `${projection.name}: ${replayed.stderr}`).toBe(0);
      outputs.push(replayed.stdout);
    }
    return outputs;
  };

  const expectRecovered = async (): Promise<void> => {
    await eventually('/ready answers 200 again', async () => (await fetch(`${service!.url}/ready`)).status === 200, 30_000);
    await eventually('the read model lists every order', async () => {
      const seen = await listed();
      return seen !== undefined && orders.every((orderId) => seen.has(orderId));
    }, 30_000);
  };

  it('deleted while the service runs: not ready, 503 on reads, commands still accepted; replay brings it back without a restart', { timeout: 180_000 }, async () => {
    service = await startService(dataDir, INSECURE);
    for (let i = 0; i < 3; i++) await create();
    await eventually('the orders are projected', async () => {
      const seen = await listed();
      return seen !== undefined && orders.every((orderId) => seen.has(orderId));
    });

    const file = join(dataDir, 'readmodels.db');
    rmSync(file);
    const notReady = await unavailable();
    expect(notReady.detail).toContain('deleted');
    const read = await api(service, '/orders?limit=10');
    expect(read.status).toBe(503);
    expect(read.headers.get('content-type')).toContain('application/problem+json');
    expect(((await read.json()) as { code: string }).code).toBe('READ_MODEL_UNAVAILABLE');
    // The history is fine: commands go on (the workers hold their events until the model is back).
    await create();
    expect((await api(service, `/orders/${orders.at(-1)!}`)).status).toBe(200);

    await replayAll();
    await expectRecovered();
    // One loud line for the fault, not one per request or per retried event.
    const faultLines = service.output().split('\n').filter((line) => line.includes('read model unavailable ('));
    expect(faultLines).toHaveLength(1);
    expect(service.child.exitCode).toBeNull();
  });

  it('overwritten with garbage: found corrupt at start, not ready with the reason; replay sets it aside and rebuilds it', { timeout: 180_000 }, async () => {
    await service!.stop();
    const file = join(dataDir, 'readmodels.db');
    // The damage: its WAL lost, and every page after the first overwritten (the header stays,
    // so SQLite opens the file and finds the damage).
    for (const suffix of ['-wal', '-shm']) if (existsSync(file + suffix)) rmSync(file + suffix);
    const fd = openSync(file, 'r+');
    const size = fstatSync(fd).size;
    const garbage = Buffer.alloc(size - 4096);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919 + 13) % 251;
    writeSync(fd, garbage, 0, garbage.length, 4096);
    closeSync(fd);

    service = await startService(dataDir, INSECURE, { waitFor: 'health' });
    const notReady = await unavailable();
    expect(notReady.fault).toBe('corrupt');
    expect(notReady.detail).toMatch(/corrupt/);
    const read = await api(service, '/orders?limit=10');
    expect(read.status).toBe(503);
    expect(((await read.json()) as { code: string }).code).toBe('READ_MODEL_UNAVAILABLE');
    await create();

    const outputs = await replayAll();
    expect(outputs[0]).toMatch(/damaged.*moved to/);
    await expectRecovered();
    expect(service.child.exitCode).toBeNull();
  });
});
