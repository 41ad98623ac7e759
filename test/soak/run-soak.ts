// The crash soak: steady lifecycle load against `orders serve` while it is killed with SIGKILL
// and restarted on the same data, then a quiet period for the workers, then the verification.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventStoreDBClient } from '@eventstore/db-client';
import { runLifecycleLoad, type LoadResult } from './lifecycle-load.js';
import { ServiceProcess } from './service-process.js';
import { readStoreHistory } from './store-history.js';
import { verifyStreams, type StreamCounts } from './verify-streams.js';
import { verifyWorkers, waitForWorkers, type WorkerCounts } from './verify-workers.js';

export interface SoakOptions {
  durationMs: number;
  kills: number;
  /** Order lifecycles driven at once. */
  concurrency: number;
  /** How long the workers get, after the load, to process everything. */
  catchUpTimeoutMs: number;
  /** ROLE=workers processes joining the service's groups (each killed and restarted in turn too). */
  extraWorkers?: number;
  /** Keep the data directory and service log even when everything held. */
  keep?: boolean;
  progress?: (line: string) => void;
}

export interface SoakReport {
  options: SoakOptions;
  workDir: string;
  logFile: string;
  kills: number;
  /** Milliseconds from spawn to /ready, first start included. */
  startTimesMs: number[];
  load: Omit<LoadResult, 'plans' | 'acks' | 'sentCorrelationIds' | 'violations'> & { acks: number; lifecyclesStarted: number; shapes: Record<string, number> };
  /** Acknowledged commands per second of load, kills and restarts included. */
  ackedCommandsPerSecond: number;
  streams: StreamCounts | undefined;
  workers: WorkerCounts | undefined;
  /** Per extra ROLE=workers process: events it processed since its last start (its /metrics). */
  extraWorkerEvents: number[];
  violations: string[];
}

const TENANT_KEYS = new Map([
  ['soak-tenant-a', 'soak-key-a-0123456789'],
  ['soak-tenant-b', 'soak-key-b-0123456789'],
]);

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const say = options.progress ?? (() => {});
  const workDir = mkdtempSync(join(tmpdir(), 'order-store-soak-'));
  const dataDir = join(workDir, 'data');
  mkdirSync(dataDir);
  const logFile = join(workDir, 'service.log');
  const service = await ServiceProcess.create({
    dataDir,
    logFile,
    apiKeys: [...TENANT_KEYS].map(([tenant, key]) => `${key}:${tenant}`).join(','),
  });
  const workerProcesses: ServiceProcess[] = [];
  const violations: string[] = [];
  let report: SoakReport | undefined;
  try {
    await service.start();
    say(`service up at ${service.url} (store ${service.connectionString}, data ${dataDir})`);
    for (let index = 0; index < (options.extraWorkers ?? 0); index++) {
      const worker = await ServiceProcess.create({ dataDir, logFile: join(workDir, `workers-${index + 1}.log`), role: 'workers', connectionString: service.connectionString });
      workerProcesses.push(worker);
      await worker.start();
      say(`workers process ${index + 1} up (metrics on ${worker.url})`);
    }

    const started = Date.now();
    const killer = killRepeatedly(service, workerProcesses, options, started, say);
    const load = await runLifecycleLoad({ service, keys: TENANT_KEYS, concurrency: options.concurrency, durationMs: options.durationMs });
    await killer;
    violations.push(...load.violations);
    for (const process of [service, ...workerProcesses]) violations.push(...process.unexpectedExits);
    say(`load done: ${load.acks.length} commands acknowledged in ${load.seconds.toFixed(1)} s, ${service.kills} kills; waiting for the workers`);

    const client = EventStoreDBClient.connectionString(service.connectionString);
    let streams: StreamCounts | undefined;
    let workers: WorkerCounts | undefined;
    try {
      const beforeCatchUp = await readStoreHistory(client);
      const caughtUp = await waitForWorkers(dataDir, beforeCatchUp, options.catchUpTimeoutMs);
      for (const left of caughtUp.left) violations.push(`the workers did not catch up within ${options.catchUpTimeoutMs / 1000} s: ${left}`);
      say(`workers ${caughtUp.left.length ? 'did NOT catch up' : 'caught up'} after ${caughtUp.seconds.toFixed(1)} s; verifying`);
      // Read again: the handlers' own streams grew while they caught up.
      const history = await readStoreHistory(client);
      const streamCheck = verifyStreams(history, load.acks, load.sentCorrelationIds);
      streams = streamCheck.counts;
      violations.push(...streamCheck.violations);
      const workerCheck = await verifyWorkers({ client, dataDir, history });
      workers = { ...workerCheck.counts, catchUpSeconds: caughtUp.seconds };
      violations.push(...workerCheck.violations);
    } finally {
      await client.dispose();
    }

    const extraWorkerEvents = await Promise.all(workerProcesses.map((worker) => processedEvents(worker.url)));
    const shapes: Record<string, number> = {};
    for (const plan of load.plans) shapes[plan.shape] = (shapes[plan.shape] ?? 0) + 1;
    report = {
      options,
      workDir,
      logFile,
      kills: service.kills + workerProcesses.reduce((sum, worker) => sum + worker.kills, 0),
      startTimesMs: service.startTimes.map(Math.round),
      load: {
        requests: load.requests,
        acks: load.acks.length,
        lostAnswers: load.lostAnswers,
        serverErrors: load.serverErrors,
        appliedWithoutAck: load.appliedWithoutAck,
        lifecyclesStarted: load.plans.length,
        lifecyclesCompleted: load.lifecyclesCompleted,
        shapes,
        seconds: load.seconds,
      },
      ackedCommandsPerSecond: load.acks.length / load.seconds,
      streams,
      workers,
      extraWorkerEvents,
      violations,
    };
    return report;
  } finally {
    for (const worker of workerProcesses) await worker.close();
    await service.close();
    if (report && report.violations.length === 0 && !options.keep) rmSync(workDir, { recursive: true, force: true });
  }
}

/**
 * Kills spread evenly over the load, each followed at once by a restart on the same data; the
 * extra workers processes take turns being killed with the service.
 */
async function killRepeatedly(service: ServiceProcess, workers: ServiceProcess[], options: SoakOptions, started: number, say: (line: string) => void): Promise<void> {
  for (let kill = 1; kill <= options.kills; kill++) {
    const slot = options.durationMs / (options.kills + 1);
    // Jitter so kills do not land on the same phase of the load every run.
    const at = started + slot * kill + (Math.random() - 0.5) * slot * 0.5;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));
    // Every (workers + 1)th kill spares them all, so they also live through the store going away.
    const worker = workers[kill % (workers.length + 1)];
    await Promise.all([service.kill(), worker?.kill()]);
    const down = performance.now();
    await service.start();
    await worker?.start();
    say(`kill ${kill}/${options.kills} at ${((Date.now() - started) / 1000).toFixed(1)} s: SIGKILL${worker ? ' (and a workers process)' : ''}, back up after ${Math.round(performance.now() - down)} ms`);
  }
}

/** Sum of events_processed_total on a process's /metrics; NaN when it does not answer. */
async function processedEvents(url: string): Promise<number> {
  try {
    const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
    return text
      .split('\n')
      .filter((line) => line.startsWith('events_processed_total{'))
      .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
  } catch {
    return Number.NaN;
  }
}
