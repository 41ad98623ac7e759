// Order lifecycles (create -> pay -> ship over HTTP) side by side, each setup in its own child
// process, driven the same way (keep-alive connections, a fixed time each):
//   - bare fastify: three routes answering a small JSON (the ceiling of HTTP on this machine)
//   - Emmett peer: Emmett 0.42 + emmett-sqlite behind fastify, the same commands and bodies,
//     appends only (bench/peers/emmett/server.ts)
//   - ROLE=api: `orders serve --role api` (no workers)
//   - ROLE=all: `orders serve` as `npm start` runs it: API, every handler and projection, the
//     embedded store, in one process
// For ROLE=all also: how far the order summary is behind each command during the load (p99:
// response -> the row shows that revision, polled read-only from this process), the time for
// every read model to catch up after the load, and 20 payments sent at once on one order
// (successes out of 20), and per lifecycle the events each subscription group processed and the
// events appended (by type: the API's and the handlers' emitted ones; not the WhatsApp ledger's,
// one a status change), from the service's /metrics. Ratios are to the Emmett peer, same run.
// Each setup's CPU per command (its process, all threads, from /proc) is printed too: on a
// machine shared with other work it swings far less than commands/s.
//
// Sizes (env): BENCH_LIFECYCLE_SECONDS (10), BENCH_LIFECYCLE_WARMUP (3 s per setup),
// BENCH_LIFECYCLE_CONNECTIONS (50), BENCH_LIFECYCLE_ROUNDS (1: each setup this many times, in
// turn; the best of each is kept), BENCH_LIFECYCLE_SETUPS (bare,emmett,api,all),
// BENCH_LIFECYCLE_CPU_PROF (a directory: the ROLE=api and npm start children write their --cpu-prof, every thread, in <dir>/<setup>),
// BENCH_LIFECYCLE_BIN (another checkout's bin/orders.js, for a before/after), BENCH_LIFECYCLE_RATE
// (lifecycles started per second instead of back to back: the same offered load for a before and
// an after, so their CPU per command compares like with like on a machine whose speed varies),
// BENCH_LIFECYCLE_BEFORE_BIN (another checkout's bin/orders.js, built: adds the setup `before`,
// `npm start` of that checkout's dist/, run in turns with this one's: BENCH_LIFECYCLE_SETUPS=
// before,all BENCH_LIFECYCLE_ROUNDS=3 is a same-run before/after; BENCH_LIFECYCLE_BEFORE_NODE_OPTIONS
// gives that child NODE_OPTIONS of its own, so this checkout's bin as `before` with a V8 flag is
// a same-run A/B of the flag), BENCH_LIFECYCLE_IDLE_SECONDS
// (5: after the catch-up, the idle service's CPU per second, for npm start).
// For npm start the CPU per command is given twice: over the load's window, and with the backlog
// (until every read model has caught up and the handlers have settled: nothing processed or
// appended for a second), so work moved past the window cannot pass for a saving.
// Run: `npm run bench lifecycle`.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { freePort } from '../test/helpers/free-port.js';
import { checkoutEnv, cpuSecondsOf, startChild, stopChild, threadCpu, type ThreadCpu } from './children.js';
import { driveLifecycles, percentile, postJson, type LifecycleLoad as LoadResult } from './http-load.js';
import { setup as compileForChildren } from '../test/helpers/global-build.js';
import { reportFigure } from './report.js';

const here = dirname(fileURLToPath(import.meta.url));
// Another checkout's bin/orders.js (BENCH_LIFECYCLE_BIN) measures a before/after on one machine.
const bin = process.env.BENCH_LIFECYCLE_BIN ?? join(here, '..', 'bin', 'orders.js');
// This checkout's service runs compiled JavaScript, as `npm start` does (tsx's compiler costs CPU
// per command in the profiles): the build the tests use, of the sources as they are now. Another
// checkout's runs its own build (its dist/, made by its npm ci or npm run build), or its sources
// through tsx when it has none.
if (!process.env.BENCH_LIFECYCLE_BIN) compileForChildren();
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const SECONDS = env('BENCH_LIFECYCLE_SECONDS', 10);
const WARMUP_SECONDS = env('BENCH_LIFECYCLE_WARMUP', 3);
const CONNECTIONS = env('BENCH_LIFECYCLE_CONNECTIONS', 50);
const ROUNDS = env('BENCH_LIFECYCLE_ROUNDS', 1);
const SETUPS = (process.env.BENCH_LIFECYCLE_SETUPS ?? 'bare,emmett,api,all').split(',').map((name) => name.trim()) as SetupName[];
const CPU_PROF_DIR = process.env.BENCH_LIFECYCLE_CPU_PROF;
const RATE = env('BENCH_LIFECYCLE_RATE', 0);
const BEFORE_BIN = process.env.BENCH_LIFECYCLE_BEFORE_BIN;
const BEFORE_NODE_OPTIONS = process.env.BENCH_LIFECYCLE_BEFORE_NODE_OPTIONS;
const IDLE_SECONDS = env('BENCH_LIFECYCLE_IDLE_SECONDS', 5);
const API_KEY = 'bench-key-lifecycle-0123456789';
const TENANT = 'bench';
const CONCURRENT_PAYMENTS = 20;

type SetupName = 'bare' | 'emmett' | 'api' | 'all' | 'before';
const LABELS: Record<SetupName, string> = { bare: 'bare fastify', emmett: 'Emmett peer', api: 'ROLE=api', all: 'npm start (ROLE=all)', before: 'npm start, before' };
if (SETUPS.includes('before') && !BEFORE_BIN) throw new Error('the setup `before` runs BENCH_LIFECYCLE_BEFORE_BIN (another checkout\'s bin/orders.js, built with npm ci)');
/** Setups running `npm start` (every worker): their read models are watched and caught up. */
const withWorkers = (setup: SetupName) => setup === 'all' || setup === 'before';

// ---- child: the bare fastify ceiling ------------------------------------------------------

if (process.argv[2] === '--bare-server') {
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false });
  app.post('/orders', async (request, reply) => reply.status(201).send({ orderId: (request.body as { orderId: string }).orderId, status: 'PENDING', revision: 0 }));
  app.post('/orders/:orderId/payments', async (request, reply) => reply.status(201).send({ orderId: (request.params as { orderId: string }).orderId, status: 'PAID', revision: 3 }));
  app.post('/orders/:orderId/ship', async (request) => ({ orderId: (request.params as { orderId: string }).orderId, status: 'SHIPPED', revision: 5 }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  console.log(`listening ${typeof address === 'object' && address ? address.port : 0}`);
} else {
  await main();
}

// ---- load ---------------------------------------------------------------------------------


/** Each connection runs lifecycles back to back until `seconds` have passed. */
function drive(port: number, seconds: number, onAnswer?: (orderId: string, revision: number, at: number) => void): Promise<LoadResult> {
  return driveLifecycles({ port, seconds, connections: CONNECTIONS, apiKey: API_KEY, ...(onAnswer ? { onAnswer } : {}), ...(RATE > 0 ? { lifecyclesPerSecond: RATE } : {}) });
}

interface Figures {
  perSecond: number;
  /**
   * The setup's process CPU (all threads) per command: steadier than commands/s on a busy
   * machine. With workers: counted until the read models caught up (the backlog included).
   */
  cpuMsPerCommand: number;
  /** With workers: the CPU of the load's window alone, per command. */
  windowCpuMsPerCommand?: number;
  /** With workers: the idle service's CPU per second, after the catch-up. */
  idleCpuMsPerSecond?: number;
  p50: number;
  p99: number;
  lifecycles: number;
}

function summarize(result: LoadResult, cpuSeconds: number, workers?: { windowCpuSeconds: number; idleCpuMsPerSecond: number }): Figures {
  const sorted = result.latenciesMs.sort((a, b) => a - b);
  return {
    perSecond: result.commands / result.seconds,
    cpuMsPerCommand: (cpuSeconds * 1000) / result.commands,
    ...(workers ? { windowCpuMsPerCommand: (workers.windowCpuSeconds * 1000) / result.commands, idleCpuMsPerSecond: workers.idleCpuMsPerSecond } : {}),
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    lifecycles: result.lifecycles,
  };
}

// ---- freshness of the read models (ROLE=all) ----------------------------------------------

/**
 * Polls the order summary read-only (WAL: never blocks the service's writes) for the orders
 * whose commands were answered and not yet reflected: lag = first poll showing the revision
 * minus the response time.
 */
function freshnessWatcher(readModelFile: string) {
  const db = new Database(readModelFile, { readonly: true, fileMustExist: true });
  const statements = new Map<number, Database.Statement>();
  const query = (count: number) => {
    let statement = statements.get(count);
    if (!statement) {
      statement = db.prepare(`SELECT order_id, revision FROM order_summary WHERE tenant_id = ? AND order_id IN (${Array(count).fill('?').join(',')})`);
      statements.set(count, statement);
    }
    return statement;
  };
  // Per order: the newest answered revision not yet seen, and when it was answered (older
  // answers of the same order are settled when a newer one is seen, with their own times).
  const waiting = new Map<string, Array<{ revision: number; at: number }>>();
  const lagsMs: number[] = [];
  let polling = true;
  let recording = false;
  const pollOnce = () => {
    const ids = [...waiting.keys()];
    const now = performance.now();
    for (let offset = 0; offset < ids.length; offset += 500) {
      const chunk = ids.slice(offset, offset + 500);
      for (const row of query(chunk.length).all(TENANT, ...chunk) as Array<{ order_id: string; revision: number }>) {
        const answers = waiting.get(row.order_id)!;
        const remaining = answers.filter((answer) => {
          if (answer.revision > row.revision) return true;
          if (recording) lagsMs.push(now - answer.at);
          return false;
        });
        if (remaining.length === 0) waiting.delete(row.order_id);
        else waiting.set(row.order_id, remaining);
      }
    }
  };
  const loop = (async () => {
    while (polling) {
      if (waiting.size > 0) pollOnce();
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  })();
  return {
    answered(orderId: string, revision: number, at: number) {
      const answers = waiting.get(orderId);
      if (answers) answers.push({ revision, at });
      else waiting.set(orderId, [{ revision, at }]);
    },
    record(on: boolean) {
      recording = on;
    },
    get waiting() {
      return waiting.size;
    },
    lagsMs,
    /** Counts that every read model holds once it has applied the whole load. */
    counts() {
      const one = (sql: string) => (db.prepare(sql).get(TENANT) as { n: number | null }).n ?? 0;
      return {
        summaryShipped: one("SELECT count(*) AS n FROM order_summary WHERE tenant_id = ? AND status = 'SHIPPED'"),
        customerShipped: one("SELECT count(*) AS n FROM customer_orders WHERE tenant_id = ? AND status = 'SHIPPED'"),
        salesPaid: one('SELECT sum(paid_amount) AS n FROM sales_by_day WHERE tenant_id = ?'),
      };
    },
    async close() {
      polling = false;
      await loop;
      db.close();
    },
  };
}

// ---- setups -------------------------------------------------------------------------------

interface Running {
  port: number;
  pid: number | undefined;
  dataDir: string;
  stop(): Promise<void>;
}

async function start(setup: SetupName): Promise<Running> {
  const dataDir = mkdtempSync(join(tmpdir(), `bench-lifecycle-${setup}-`));
  const cleanup = (child: Parameters<typeof stopChild>[0]) => async () => {
    await stopChild(child);
    rmSync(dataDir, { recursive: true, force: true });
  };
  if (setup === 'bare') {
    const { child, match } = await startChild(['--import', 'tsx', fileURLToPath(import.meta.url), '--bare-server'], {}, /listening (\d+)/);
    return { port: Number(match[1]), pid: child.pid, dataDir, stop: cleanup(child) };
  }
  if (setup === 'emmett') {
    const { child, match } = await startChild(['--import', 'tsx', join(here, 'peers', 'emmett', 'server.ts'), dataDir], {}, /listening (\d+)/);
    return { port: Number(match[1]), pid: child.pid, dataDir, stop: cleanup(child) };
  }
  const [port, eventStorePort] = [await freePort(), await freePort()];
  const profile = (withWorkers(setup) || setup === 'api') && CPU_PROF_DIR ? [`--cpu-prof`, `--cpu-prof-dir=${join(CPU_PROF_DIR, setup)}`] : [];
  const checkout = checkoutEnv(setup === 'before' ? BEFORE_BIN : process.env.BENCH_LIFECYCLE_BIN);
  const { child } = await startChild(
    [...profile, setup === 'before' ? BEFORE_BIN! : bin, 'serve'],
    {
      ...checkout,
      ...(setup === 'before' && BEFORE_NODE_OPTIONS !== undefined ? { NODE_OPTIONS: BEFORE_NODE_OPTIONS } : {}),
      ROLE: setup === 'before' ? 'all' : setup,
      PORT: String(port),
      EVENTSTORE_PORT: String(eventStorePort),
      DATA_DIR: dataDir,
      API_KEYS: `${API_KEY}:${TENANT}`,
      LOG_LEVEL: 'warn',
      // Throughput, not load shedding, is measured: on a busy shared machine a command can wait
      // in the admission queue past its default second, and a 503 would end the run.
      OVERLOAD_MAX_QUEUE_MS: '30000',
      // Nor the latency budget and loop-delay shedding (2 s / 500 ms by default), which would answer
      // a saturating closed loop with 503s: the peer sheds nothing either.
      OVERLOAD_LATENCY_BUDGET_MS: '0',
      OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
      // Nor the bound on appends waiting for the store (its 64 of session 7 refused a payment of
      // npm start's 50 connections plus its handlers' appends on a quiet machine).
      OVERLOAD_MAX_QUEUED_APPENDS: '0',
    },
    /listening on http:\/\/\S+/,
  );
  return { port, pid: child.pid, dataDir, stop: cleanup(child) };
}

interface AllExtras {
  /** Per lifecycle: events processed by each group and projection (`events_processed_total`), events appended by type. */
  perLifecycle: Record<string, number>;
  freshnessP50: number;
  freshnessP99: number;
  catchUpMs: number;
  caughtUp: boolean;
  /** Until nothing was processed or appended for a second: the handlers' backlog too. */
  settledMs: number;
  settled: boolean;
  concurrentPayments: number;
  /** The busiest threads over the load's window: CPU seconds per second of load, by thread. */
  windowThreads: string;
}

/** Each thread's CPU over a window as cores busy (busiest first; the rest summed), from two /proc readings. */
function threadShares(before: ThreadCpu[], after: ThreadCpu[], seconds: number): string {
  const start = new Map(before.map((thread) => [thread.tid, thread.cpuSeconds]));
  const busy = after
    .map((thread) => ({ label: `${thread.name}#${thread.tid}`, cores: (thread.cpuSeconds - (start.get(thread.tid) ?? 0)) / seconds }))
    .sort((a, b) => b.cores - a.cores);
  const shown = busy.slice(0, 5).map((thread) => `${thread.label} ${thread.cores.toFixed(2)}`);
  const rest = busy.slice(5).reduce((sum, thread) => sum + thread.cores, 0);
  return `${shown.join(', ')}, the other ${busy.length - 5} ${rest.toFixed(2)} (cores)`;
}

async function measure(setup: SetupName): Promise<{ figures: Figures; extras?: AllExtras }> {
  const running = await start(setup);
  try {
    await drive(running.port, WARMUP_SECONDS);
    const cpu = () => cpuSecondsOf(running.pid);
    if (!withWorkers(setup)) {
      const before = cpu();
      const load = await drive(running.port, SECONDS);
      return { figures: summarize(load, cpu() - before) };
    }

    const watcher = freshnessWatcher(join(running.dataDir, 'readmodels.db'));
    try {
      // Let the warm-up's reactions drain, then measure only the load's own commands: the read
      // models and the handlers (until session 29 only the read models: the handlers' backlog of
      // the warm-up, ~0.4 notifications a lifecycle, was counted, and worked off, in the window).
      await waitFor(() => watcher.waiting === 0, 30_000);
      await settle(running.port, 60_000);
      const before = watcher.counts();
      const workBefore = await workCounts(running.port);
      watcher.record(true);
      const cpuBefore = cpu();
      const threadsBefore = threadCpu(running.pid);
      const load = await drive(running.port, SECONDS, (orderId, revision, at) => watcher.answered(orderId, revision, at));
      const windowCpuSeconds = cpu() - cpuBefore;
      const windowThreads = threadShares(threadsBefore, threadCpu(running.pid), load.seconds);
      const expected = { summaryShipped: before.summaryShipped + load.lifecycles, customerShipped: before.customerShipped + load.lifecycles, salesPaid: before.salesPaid + load.lifecycles * 2500 };
      const caughtUp = await waitFor(() => {
        if (watcher.waiting > 0) return false;
        const now = watcher.counts();
        return now.summaryShipped >= expected.summaryShipped && now.customerShipped >= expected.customerShipped && now.salesPaid >= expected.salesPaid;
      }, 60_000);
      const catchUpMs = performance.now() - load.endedAt;
      // The handlers (notification, WhatsApp, inventory, analytics) are not in the read models'
      // counts: after them the service is settled when nothing is processed or appended for 1 s.
      const settled = await settle(running.port, 120_000);
      const settledMs = performance.now() - load.endedAt;
      // Counted to the settling: the reactions to the load's commands are part of their cost.
      const cpuSeconds = cpu() - cpuBefore;
      watcher.record(false);
      const workAfter = await workCounts(running.port);
      const perLifecycle = Object.fromEntries(Object.entries(workAfter).map(([key, count]) => [key, round((count - (workBefore[key] ?? 0)) / (load.commands / 3))]));
      const lags = watcher.lagsMs.sort((a, b) => a - b);
      // The idle service: what its timers cost (stats refreshes, checkpoints, metrics).
      const idleBefore = cpu();
      await new Promise((resolve) => setTimeout(resolve, IDLE_SECONDS * 1000));
      const idleCpuMsPerSecond = ((cpu() - idleBefore) * 1000) / IDLE_SECONDS;
      const concurrentPayments = await paymentsAtOnce(running.port);
      return {
        figures: summarize(load, cpuSeconds, { windowCpuSeconds, idleCpuMsPerSecond }),
        extras: { perLifecycle, freshnessP50: percentile(lags, 50), freshnessP99: percentile(lags, 99), catchUpMs, caughtUp, settledMs, settled, concurrentPayments, windowThreads },
      };
    } finally {
      await watcher.close();
    }
  } finally {
    await running.stop();
  }
}

/**
 * From the service's /metrics (open to a client on this machine): events processed by each
 * group (and projection), outcomes summed, and events appended by type: divided by the load's
 * lifecycles, the deliveries and appends each lifecycle costs.
 */
async function workCounts(port: number): Promise<Record<string, number>> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  const text = await response.text();
  const counts: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const processed = /^events_processed_total\{.*handler="([^"]+)".*\} (\S+)$/.exec(line);
    if (processed) counts[`processed by ${processed[1]}`] = (counts[`processed by ${processed[1]}`] ?? 0) + Number(processed[2]);
    const published = /^events_published_total\{.*event_type="([^"]+)".*\} (\S+)$/.exec(line);
    if (published) counts[`appended ${published[1]}`] = (counts[`appended ${published[1]}`] ?? 0) + Number(published[2]);
  }
  return counts;
}

/** Waits until the service's processed and appended counts stay the same for a second. */
async function settle(port: number, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  let last = JSON.stringify(await workCounts(port));
  while (performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const now = JSON.stringify(await workCounts(port));
    if (now === last) return true;
    last = now;
  }
  return false;
}

/** 20 payments of one order sent at once over 20 connections: how many are accepted. */
async function paymentsAtOnce(port: number): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENT_PAYMENTS });
  try {
    const orderId = randomUUID();
    const created = await postJson(
      agent,
      port,
      '/orders',
      { orderId, customer: { id: 'c-1' }, currency: 'EUR', items: [{ sku: 'SKU-1', quantity: CONCURRENT_PAYMENTS, unitPrice: 100 }] },
      API_KEY,
    );
    if (created.status !== 201) throw new Error(`create answered ${created.status}`);
    const replies = await Promise.all(
      Array.from({ length: CONCURRENT_PAYMENTS }, (_, index) => postJson(agent, port, `/orders/${orderId}/payments`, { paymentId: `p-${orderId}-${index}`, amount: 100, method: 'card' }, API_KEY)),
    );
    return replies.filter((reply) => reply.status === 201).length;
  } finally {
    agent.destroy();
  }
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return true;
}

// ---- main ---------------------------------------------------------------------------------

async function main(): Promise<void> {
  console.log(`order lifecycles create -> pay -> ship: ${CONNECTIONS} keep-alive connections, ${SECONDS} s per setup after ${WARMUP_SECONDS} s warm-up, ${ROUNDS} round(s)`);
  const best = new Map<SetupName, { figures: Figures; extras?: AllExtras }>();
  for (let round = 1; round <= ROUNDS; round++) {
    for (const setup of SETUPS) {
      const result = await measure(setup);
      console.log(`  round ${round} ${row(setup, result.figures)}`);
      const previous = best.get(setup);
      if (!previous || result.figures.perSecond > previous.figures.perSecond) best.set(setup, result);
    }
  }

  const peer = best.get('emmett')?.figures;
  const baselineName = 'Emmett peer';
  console.log('');
  for (const setup of SETUPS) {
    const { figures } = best.get(setup)!;
    const ratio = peer ? `   ${(figures.perSecond / peer.perSecond).toFixed(2)}x the Emmett peer` : '';
    console.log(`${row(setup, figures)}${ratio}`);
  }
  const targets: Partial<Record<SetupName, string>> = { all: '>= 1x', api: '>= 3x' };
  for (const setup of SETUPS) {
    const { figures } = best.get(setup)!;
    const target = targets[setup];
    reportFigure({
      name: `lifecycle commands, ${LABELS[setup]}`,
      value: Math.round(figures.perSecond),
      unit: 'commands/s',
      ...(peer && setup !== 'emmett' ? { baseline: Math.round(peer.perSecond), baselineName, ...(target ? { target } : {}) } : {}),
    });
    reportFigure({
      name: `lifecycle CPU per command, ${LABELS[setup]}`,
      value: round(figures.cpuMsPerCommand),
      unit: 'ms',
      ...(peer && setup !== 'emmett' ? { baseline: round(peer.cpuMsPerCommand), baselineName } : {}),
    });
    if (figures.windowCpuMsPerCommand !== undefined) {
      reportFigure({ name: `lifecycle CPU per command in the load's window, ${LABELS[setup]}`, value: round(figures.windowCpuMsPerCommand), unit: 'ms' });
      reportFigure({ name: `idle CPU per second after the load, ${LABELS[setup]}`, value: round(figures.idleCpuMsPerSecond ?? 0), unit: 'ms/s' });
    }
    reportFigure({ name: `lifecycle p50, ${LABELS[setup]}`, value: round(figures.p50), unit: 'ms', ...(peer && setup !== 'emmett' ? { baseline: round(peer.p50), baselineName } : {}) });
    reportFigure({ name: `lifecycle p99, ${LABELS[setup]}`, value: round(figures.p99), unit: 'ms', ...(peer && setup !== 'emmett' ? { baseline: round(peer.p99), baselineName } : {}) });
  }
  const before = best.get('before')?.figures;
  const after = best.get('all')?.figures;
  if (before && after) {
    console.log(
      `after / before (npm start): commands/s ${(after.perSecond / before.perSecond).toFixed(2)}x, CPU per command with the backlog ${(after.cpuMsPerCommand / before.cpuMsPerCommand).toFixed(2)}x, ` +
        `in the window ${((after.windowCpuMsPerCommand ?? 0) / (before.windowCpuMsPerCommand ?? 1)).toFixed(2)}x, idle CPU per second ${((after.idleCpuMsPerSecond ?? 0) / (before.idleCpuMsPerSecond || 1)).toFixed(2)}x`,
    );
  }
  const beforeExtras = best.get('before')?.extras;
  if (beforeExtras) {
    console.log(
      `${LABELS.before}: order summary behind its command p99 ${beforeExtras.freshnessP99.toFixed(1)} ms; ` +
        `read models caught up ${beforeExtras.caughtUp ? `${beforeExtras.catchUpMs.toFixed(0)} ms after the load` : 'NOT within 60 s'}; ` +
        `handlers settled ${beforeExtras.settled ? `${beforeExtras.settledMs.toFixed(0)} ms after the load` : 'NOT within 120 s'}`,
    );
  }
  const extras = best.get('all')?.extras;
  if (extras) {
    console.log(
      `npm start: order summary behind its command p50 ${extras.freshnessP50.toFixed(1)} ms, p99 ${extras.freshnessP99.toFixed(1)} ms; ` +
        `read models caught up ${extras.caughtUp ? `${extras.catchUpMs.toFixed(0)} ms after the load` : 'NOT within 60 s'}; ` +
        `handlers settled ${extras.settled ? `${extras.settledMs.toFixed(0)} ms after the load (less the second of quiet that shows it)` : 'NOT within 120 s'}; ` +
        `${extras.concurrentPayments}/${CONCURRENT_PAYMENTS} concurrent payments on one order accepted`,
    );
    console.log(`npm start, threads over the load's window: ${extras.windowThreads}`);
    console.log(`npm start, per lifecycle (3 commands): ${Object.entries(extras.perLifecycle).map(([key, count]) => `${key} ${count}`).join(', ')}`);
    reportFigure({ name: 'npm start: order summary behind its command p99', value: round(extras.freshnessP99), unit: 'ms', target: '<= 100' });
    reportFigure({ name: 'npm start: read models caught up after the load', value: Math.round(extras.caughtUp ? extras.catchUpMs : 60_000), unit: 'ms', target: '<= 1000' });
    reportFigure({ name: 'npm start: concurrent payments on one order accepted', value: extras.concurrentPayments, unit: `of ${CONCURRENT_PAYMENTS}`, target: `>= ${CONCURRENT_PAYMENTS}` });
  }
}

function row(setup: SetupName, figures: Figures): string {
  const workers =
    figures.windowCpuMsPerCommand === undefined ? '' : ` with the backlog (window ${figures.windowCpuMsPerCommand.toFixed(2)}), idle ${(figures.idleCpuMsPerSecond ?? 0).toFixed(1)} ms/s`;
  return `${LABELS[setup].padEnd(22)} ${figures.perSecond.toFixed(0).padStart(6)} commands/s   p50 ${figures.p50.toFixed(1).padStart(6)} ms   p99 ${figures.p99.toFixed(1).padStart(6)} ms   CPU ${figures.cpuMsPerCommand.toFixed(2).padStart(5)} ms/command${workers}`;
}

function round(value: number): number {
  return Number(value.toFixed(value < 10 ? 2 : 1));
}
