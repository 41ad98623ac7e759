// Faults made for real: a small tmpfs mounted as the data directory (these machines run the
// tests as root), filled with a file of zeros until the disk refuses writes and freed again, and
// `orders serve` started on it as an operator starts it. Mounting must work: a test that cannot
// mount fails, it never skips.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../helpers/free-port.js';

const bin = join(import.meta.dirname, '../../../bin/orders.js');

export interface Tmpfs {
  dir: string;
  /** Writes zeros into `<dir>/<name>` until the file system is full; returns the bytes written. */
  fill(name?: string): number;
  /** Deletes what fill() wrote. */
  free(name?: string): void;
  unmount(): void;
}

export function mountTmpfs(sizeMiB: number): Tmpfs {
  const dir = mkdtempSync(join(tmpdir(), 'order-store-fault-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m,mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`these fault tests need to mount a tmpfs (run them as root): mount failed: ${stderr || String(error)}`, { cause: error });
  }
  return {
    dir,
    fill(name = 'zeros.fill') {
      const fd = openSync(join(dir, name), 'a');
      let written = 0;
      try {
        // Large chunks first, then small ones, so the last free pages are taken too.
        for (const chunk of [Buffer.alloc(1 << 20), Buffer.alloc(1 << 12), Buffer.alloc(512)]) {
          for (;;) {
            try {
              written += writeSync(fd, chunk);
            } catch (error) {
              if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break;
              throw error;
            }
          }
        }
      } finally {
        closeSync(fd);
      }
      return written;
    },
    free(name = 'zeros.fill') {
      rmSync(join(dir, name), { force: true });
    },
    unmount() {
      try {
        execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

export const API_KEY = 'faults-test-key-0123456789';
export const TENANT = 'tenant-faults';

export interface Service {
  child: ChildProcess;
  url: string;
  /** The embedded store's port (when this process runs it). */
  eventStorePort: number;
  output(): string;
  /** SIGTERM, then SIGKILL if it has not exited after 10 s. */
  stop(): Promise<void>;
}

export interface StartOptions {
  role?: 'all' | 'api' | 'workers';
  /** Resolve once /ready answers 200 (default), or once /health does (a service started faulted). */
  waitFor?: 'ready' | 'health';
  /** Where the child's stdout goes (a file descriptor: /dev/full, say); default a pipe read by the test. */
  stdout?: number;
}

/** `orders serve` (ROLE=all and the embedded store by default) on `dataDir`; resolves once it answers. */
export async function startService(dataDir: string, env: Record<string, string> = {}, options: StartOptions = {}): Promise<Service> {
  const port = await freePort();
  const eventStorePort = await freePort();
  const child = spawn(process.execPath, [bin, 'serve', '--role', options.role ?? 'all'], {
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      API_KEYS: `${API_KEY}:${TENANT}`,
      PORT: String(port),
      EVENTSTORE_PORT: String(eventStorePort),
      LOG_LEVEL: 'info',
      HANDLER_RETRY_BASE_MS: '50',
      HANDLER_RETRY_MAX_MS: '500',
      NO_COLOR: '1',
      ...env,
    },
    stdio: ['ignore', options.stdout ?? 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<never>((_, reject) => child.once('exit', (code, signal) => reject(new Error(`orders serve exited (${code ?? signal}):\n${output}`))));
  exited.catch(() => undefined);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ready = await Promise.race([
      fetch(`${url}/${options.waitFor ?? 'ready'}`).then((answer) => answer.status === 200, () => false),
      exited,
    ]);
    if (ready) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`orders serve did not answer /${options.waitFor ?? 'ready'} within 60 s:\n${output}`);
    }
    await sleep(200);
  }
  return {
    child,
    url,
    eventStorePort,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    },
  };
}

export function api(service: Service, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${service.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) },
  });
}

export function orderBody(orderId: string): string {
  return JSON.stringify({
    orderId,
    customer: { id: 'c-faults', name: 'Ada', phone: '+14155550100' },
    currency: 'EUR',
    items: [{ sku: 'TSHIRT-M', quantity: 1, unitPrice: 1500 }],
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until `check` returns a value (not undefined/false) or `timeoutMs` passes. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(100);
  }
}
