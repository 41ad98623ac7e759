// A service whose log cannot be written keeps serving: stdout on a full device (/dev/full:
// every write fails with ENOSPC) and stdout a pipe whose reader went away (EPIPE). Before,
// pino's destination crashed the process on EPIPE and, on ENOSPC, retried its flush at exit
// forever, so the process never stopped.
import { randomUUID } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { api, orderBody, sleep, startService, type Service } from './support.js';

describe('a logger that cannot write', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  const dataDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'order-store-logger-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  };

  /** Requests that log (LOG_LEVEL=debug logs every request), then a stop that must end in time. */
  const exercise = async (service: Service): Promise<void> => {
    for (let i = 0; i < 20; i++) {
      expect((await api(service, '/orders', { method: 'POST', body: orderBody(randomUUID()) })).status).toBe(201);
      expect((await fetch(`${service.url}/ready`)).status).toBe(200);
    }
    expect((await api(service, '/orders', { method: 'POST', body: '{"bad":' })).status).toBe(400);
    await sleep(500);
    expect(service.child.exitCode).toBeNull();
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => service.child.once('exit', (code, signal) => resolve({ code, signal })));
    service.child.kill('SIGTERM');
    const outcome = await Promise.race([exited, sleep(15_000).then(() => 'hung' as const)]);
    expect(outcome, 'the process did not exit within 15 s of SIGTERM').not.toBe('hung');
    // A clean stop: exit code 0, not a crash (1 from an uncaught error) nor a signal.
    expect(outcome).toEqual({ code: 0, signal: null });
  };

  it('stdout on a full device (ENOSPC): serves and stops cleanly', { timeout: 120_000 }, async () => {
    const full = openSync('/dev/full', 'w');
    cleanups.push(() => closeSync(full));
    const service = await startService(dataDir(), { LOG_LEVEL: 'debug', EVENTSTORE_INSECURE: 'true' }, { stdout: full });
    cleanups.push(() => service.stop());
    await exercise(service);
  });

  it('stdout a pipe nobody reads any more (EPIPE): serves and stops cleanly', { timeout: 120_000 }, async () => {
    const service = await startService(dataDir(), { LOG_LEVEL: 'debug', EVENTSTORE_INSECURE: 'true' });
    cleanups.push(() => service.stop());
    service.child.stdout!.destroy();
    await sleep(200);
    await exercise(service);
  });
});
