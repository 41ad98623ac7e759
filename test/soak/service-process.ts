// The service under soak: `orders serve` as a child process (API, workers and the embedded store
// in one process, as `npm start` runs it), killed with SIGKILL and restarted on the same data
// directory and ports.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/free-port.js';
import { connectionStringForDataDir } from '../../src/esdb-server/index.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(repoRoot, 'bin', 'orders.js');

export interface ServiceOptions {
  dataDir: string;
  /** `<key>:<tenantId>,...` (role `all`). */
  apiKeys?: string;
  /** Where the children's stdout and stderr go (appended across restarts). */
  logFile: string;
  startTimeoutMs?: number;
  /** `workers`: joins the store of `connectionString` and answers only /metrics (on its PORT). */
  role?: 'all' | 'workers';
  /** For role `workers`: the store to join. */
  connectionString?: string;
}

/** A port free on loopback right now (the kernel picks it). */

export class ServiceProcess {
  readonly url: string;
  #child: ChildProcess | undefined;
  #log: WriteStream;
  #up: Promise<void> = Promise.resolve();
  #waitingForStart = false;
  #markUp: () => void = () => {};
  #markFailed: (error: Error) => void = () => {};
  /** Milliseconds each start took until /ready answered. */
  readonly startTimes: number[] = [];
  kills = 0;
  /** Exits nobody asked for (a crash, or giving up when the store went away). */
  readonly unexpectedExits: string[] = [];

  private constructor(
    private readonly options: ServiceOptions,
    private readonly port: number,
    private readonly eventStorePort: number,
  ) {
    this.url = `http://127.0.0.1:${port}`;
    this.#log = createWriteStream(options.logFile, { flags: 'a' });
  }

  static async create(options: ServiceOptions): Promise<ServiceProcess> {
    return new ServiceProcess(options, await freePort(), options.role === 'workers' ? 0 : await freePort());
  }

  /** The store's connection string: the embedded store is secured, with the CA and admin password kept in the data directory once it started. */
  get connectionString(): string {
    return this.options.connectionString ?? connectionStringForDataDir({ dataDir: this.options.dataDir, port: this.eventStorePort }) ?? `esdb://127.0.0.1:${this.eventStorePort}?tls=false`;
  }

  /** Resolves once the service answers /ready (immediately while it is up). */
  whenUp(): Promise<void> {
    return this.#up;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  async start(): Promise<void> {
    if (this.#child) throw new Error('the service is already running');
    this.#expectStart();
    const started = performance.now();
    const child = spawn(process.execPath, [bin, 'serve'], {
      cwd: repoRoot,
      env: {
        ...process.env,
        NO_COLOR: '1',
        PORT: String(this.port),
        HOST: '127.0.0.1',
        DATA_DIR: this.options.dataDir,
        LOG_LEVEL: 'warn',
        ...(this.options.role === 'workers'
          ? { ROLE: 'workers', ESDB_CONNECTION_STRING: this.connectionString }
          : { ROLE: 'all', EVENTSTORE_PORT: String(this.eventStorePort), API_KEYS: this.options.apiKeys, ESDB_CONNECTION_STRING: '' }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    this.#log.write(`\n--- start ${new Date().toISOString()} (pid ${child.pid})\n`);
    child.stdout?.pipe(this.#log, { end: false });
    child.stderr?.pipe(this.#log, { end: false });
    const exited = new Promise<never>((_resolve, reject) =>
      child.once('exit', (code, signal) => reject(new Error(`the service exited while starting (code ${code}, signal ${signal}); see ${this.options.logFile}`))),
    );
    exited.catch(() => {});
    try {
      await Promise.race([this.#waitReady(this.options.startTimeoutMs ?? 30_000), exited]);
    } catch (error) {
      await this.kill();
      // Whoever waits for the service would wait forever: tell them it is not coming back.
      this.#markFailed(error as Error);
      throw error;
    }
    this.startTimes.push(performance.now() - started);
    child.once('exit', (code, signal) => {
      if (this.#child !== child) return;
      this.#child = undefined;
      this.unexpectedExits.push(`pid ${child.pid} exited on its own (code ${code}, signal ${signal}); see ${this.options.logFile}`);
      // Recorded as a violation; restarted so the soak carries on and tells the rest.
      this.start().catch(() => {});
    });
    this.#markUp();
  }

  /** SIGKILL: no shutdown hook runs, whatever was in flight is cut. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#expectStart();
    this.#child = undefined;
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await gone;
      this.kills++;
    }
  }

  /** SIGTERM and wait for the graceful shutdown (SIGKILL after the timeout). */
  async stop(timeoutMs = 15_000): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#child = undefined;
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await gone;
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await this.stop();
    await new Promise((resolve) => this.#log.end(resolve));
  }

  /** Makes whenUp() wait, keeping one promise for everyone from a kill to the next start. */
  #expectStart(): void {
    if (this.#waitingForStart) return;
    this.#waitingForStart = true;
    this.#up = new Promise((resolve, reject) => {
      this.#markUp = () => {
        this.#waitingForStart = false;
        resolve();
      };
      this.#markFailed = (error) => {
        this.#waitingForStart = false;
        reject(error);
      };
    });
    this.#up.catch(() => {});
  }

  async #waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const response = await fetch(`${this.url}${this.options.role === 'workers' ? '/metrics' : '/ready'}`, { signal: AbortSignal.timeout(2_000) });
        await response.body?.cancel();
        if (response.ok) return;
      } catch {
        // Not listening yet.
      }
      if (Date.now() > deadline) throw new Error(`the service was not ready within ${timeoutMs} ms; see ${this.options.logFile}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
