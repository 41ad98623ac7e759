// What tracing costs `npm start` (ROLE=all: API, every handler and projection, the embedded
// store) under the lifecycle load (create -> pay -> ship over HTTP, keep-alive connections):
//   - off: no OTEL_* variable (the default)
//   - on, always_on: every request traced, spans exported (OTLP/HTTP protobuf, the default
//     protocol) to a collector on loopback in this process
//   - on, 1%: parentbased_traceidratio 0.01 to the same collector
// Setups take turns for BENCH_TRACING_ROUNDS rounds so a load change on a shared machine weighs
// on all of them, in an order rotated each round and reversed every other one (each setup runs
// first, in the middle and last, after each of the others; 6 rounds cover every order of three),
// each run on a fresh service with a fresh data dir. Each round prints its ratios to that round's off, and the
// headline ratio is the median of those per-round ratios (a drift of the machine's load between
// rounds cancels within a round). Each setup's CPU per command (its process, all threads, from
// /proc) is printed too, the steadier figure on a busy machine, and the load average with each
// round. Target: on at 1% >= 0.95x off.
//
// Sizes (env): BENCH_TRACING_SECONDS (10), BENCH_TRACING_WARMUP (3), BENCH_TRACING_CONNECTIONS
// (50), BENCH_TRACING_ROUNDS (3), BENCH_TRACING_SETUPS (off,always,ratio; also `dropped`: parentbased_always_off, the 99%'s path for
// every request, no span recorded: the machinery's cost alone), BENCH_TRACING_BIN.
// BENCH_TRACING_PACED (lifecycles/s, 3; 0: skip) adds a paced phase after the closed loop, once the
// service has worked off the deliveries the closed loop left behind: the same offered load for
// every setup, whose CPU per command is the figure to compare when the machine is shared (a closed loop's CPU per command grows when throughput falls, as the
// process's fixed work per second is spread over fewer commands).
// BENCH_TRACING_CONCURRENT=1 runs the setups side by side instead: one service per setup, all
// started at once and loaded at once (closed loop, BENCH_TRACING_CONNECTIONS each) for
// BENCH_TRACING_ROUNDS windows, so whatever else the machine runs weighs on each alike; each
// window's commands/s and CPU per command are ratios to the same window's off (the services
// share the cores, so a setup that costs more per command gets fewer commands through).
// BENCH_TRACING_CPU_PROF=<dir> runs each service under `node --cpu-prof` and leaves its profiles
// in <dir>/<setup>-<round>/, one per thread (the service's main thread is the largest; the
// embedded store and the TypeScript loader have their own): open one in Chrome's DevTools, or sum
// them per function and per file or package, per command, diffed to off, with
// `node --import tsx bench/cpuprofile-summary.ts <dir>`; each run's folder also gets run.json (the
// window's commands, its span from the window's start until the backlog was worked off, and each
// thread's CPU in it), so those sums count that span only, at the CPU /proc saw.
// BENCH_TRACING_BEFORE_BIN=<another checkout's bin/orders.js> adds a setup `before`: that build at
// 1%, next to this one's (a before/after of a change in the same run, side by side above all);
// BENCH_TRACING_BEFORE_SAMPLER (ratio; dropped, always) runs it with another setup's sampler.
// BENCH_TRACING_COUNTS=1 (in turns) counts per command what batches the work: read-model commits,
// appends and their events, acks and acked ids, deliveries, setImmediates, metadata bytes (a probe
// preloaded in the service: tracing-count-probe.ts), with BENCH_TRACING_SYSCALLS=1 each thread's
// system calls too (`perf stat`: the store's fsyncs, each loop's wake-ups); counts, unlike times,
// are not blurred by a loaded machine (tracing-counts.ts). BENCH_TRACING_COUNTS=sql counts each
// read-model statement by its SQL as well.
// Run: `npm run bench tracing`.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/helpers/free-port.js';
import { OtlpReceiver } from '../test/integration/tracing/otlp-receiver.js';
import { checkoutEnv, cpuSecondsOf, startChild, stopChild, threadCpu, type ThreadCpu } from './children.js';
import { driveLifecycles, percentile } from './http-load.js';
import { reportFigure } from './report.js';
import { setup as compileForChildren } from '../test/helpers/global-build.js';
import { COUNTS, countingArgs, countsFileFor, printCounts, removeCounts, startCounting } from './tracing-counts.js';
import type { ProbeCounts } from './tracing-count-probe.js';

const here = dirname(fileURLToPath(import.meta.url));
// Another checkout's bin/orders.js (BENCH_TRACING_BIN) measures a before/after on one machine.
const bin = process.env.BENCH_TRACING_BIN ?? join(here, '..', 'bin', 'orders.js');
// This checkout's service runs compiled JavaScript, as `npm start` runs it (until session 11 it
// ran the sources through tsx, whose loader and source maps are not what a user runs).
if (!process.env.BENCH_TRACING_BIN) compileForChildren();
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const SECONDS = env('BENCH_TRACING_SECONDS', 10);
const WARMUP_SECONDS = env('BENCH_TRACING_WARMUP', 3);
const CONNECTIONS = env('BENCH_TRACING_CONNECTIONS', 50);
const ROUNDS = env('BENCH_TRACING_ROUNDS', 3);
const CPU_PROF_DIR = process.env.BENCH_TRACING_CPU_PROF;
const PACED = env('BENCH_TRACING_PACED', 3);
const API_KEY = 'bench-key-tracing-0123456789';

type Setup = 'off' | 'always' | 'ratio' | 'dropped' | 'before';
const BEFORE_BIN = process.env.BENCH_TRACING_BEFORE_BIN;
const SETUPS = (process.env.BENCH_TRACING_SETUPS ?? `off,always,ratio${BEFORE_BIN ? ',before' : ''}`).split(',').map((name) => name.trim()) as Setup[];
if (SETUPS.includes('before') && !BEFORE_BIN) throw new Error('the setup before needs BENCH_TRACING_BEFORE_BIN');
const BEFORE_SAMPLER = (process.env.BENCH_TRACING_BEFORE_SAMPLER ?? 'ratio') as 'ratio' | 'dropped' | 'always';
if (!['ratio', 'dropped', 'always'].includes(BEFORE_SAMPLER)) throw new Error('BENCH_TRACING_BEFORE_SAMPLER is one of ratio, dropped, always');
const LABELS: Record<Setup, string> = { off: 'tracing off', always: 'tracing on, always_on', ratio: 'tracing on, 1%', dropped: 'tracing on, every root dropped (always_off)', before: `tracing on, ${{ ratio: '1%', dropped: 'every root dropped', always: 'always_on' }[BEFORE_SAMPLER]}, BENCH_TRACING_BEFORE_BIN` };

interface Run {
  perSecond: number;
  cpuMsPerCommand: number;
  p99: number;
  /** BENCH_TRACING_COUNTS=1: what batches the work, per command (tracing-counts.ts). */
  counts?: ProbeCounts;
  /** CPU per command at the paced load; NaN when skipped or when the setup fell behind it. */
  pacedCpuMsPerCommand: number;
  /**
   * CPU per command of the closed loop with its backlog: from the loop's start until the service has
   * worked off the deliveries it left (each command's whole cost, wherever the loop's window ended).
   */
  backlogCpuMsPerCommand: number;
}

const receiver = new OtlpReceiver();
const endpoint = await receiver.start();

function tracingEnv(of: Setup): Record<string, string> {
  if (of === 'off') return {};
  const setup = of === 'before' ? BEFORE_SAMPLER : of;
  return {
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    OTEL_SERVICE_NAME: 'order-store-bench',
    ...(setup === 'always'
      ? { OTEL_TRACES_SAMPLER: 'always_on' }
      : setup === 'dropped'
        ? { OTEL_TRACES_SAMPLER: 'parentbased_always_off' }
        : { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.01' }),
  };
}

const drive = (port: number, seconds: number, lifecyclesPerSecond?: number) =>
  driveLifecycles({ port, seconds, connections: CONNECTIONS, apiKey: API_KEY, ...(lifecyclesPerSecond ? { lifecyclesPerSecond } : {}) });

async function startService(setup: Setup, round: number) {
  const dataDir = mkdtempSync(join(tmpdir(), 'order-store-bench-tracing-'));
  const [port, eventStorePort] = [await freePort(), await freePort()];
  const counting = countingArgs(countsFileFor(dataDir));
  const { child } = await startChild(
    [...(CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${join(CPU_PROF_DIR, `${setup}-${round}`)}`] : []), ...counting.args, setup === 'before' ? BEFORE_BIN! : bin, 'serve'],
    {
      ...counting.env,
      ...checkoutEnv(setup === 'before' ? BEFORE_BIN : process.env.BENCH_TRACING_BIN),
      PORT: String(port),
      EVENTSTORE_PORT: String(eventStorePort),
      DATA_DIR: dataDir,
      API_KEYS: `${API_KEY}:bench`,
      LOG_LEVEL: 'warn',
      // It measures throughput: commands wait for their turn rather than being shed.
      OVERLOAD_MAX_QUEUE_MS: '30000',
      OVERLOAD_LATENCY_BUDGET_MS: '0',
      OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
      OVERLOAD_MAX_QUEUED_APPENDS: '0',
      ...(process.env.BENCH_TRACING_INSECURE ? { EVENTSTORE_INSECURE: 'true' } : {}),
      ...tracingEnv(setup),
    },
    /listening on http:\/\/\S+/,
  );
  return {
    port,
    child,
    countsFile: countsFileFor(dataDir),
    async stop() {
      await stopChild(child);
      rmSync(dataDir, { recursive: true, force: true });
      removeCounts(dataDir);
    },
  };
}

async function measure(setup: Setup, round: number): Promise<Run> {
  const { port, child, countsFile, stop } = await startService(setup, round);
  try {
    await drive(port, WARMUP_SECONDS);
    // Measured from a settled service: the warm-up's deliveries are not the window's (until
    // session 29 only the counts waited; the window began with the workers still working off a
    // warm-up backlog whose size varied from run to run).
    await settle(child.pid);
    const counted = COUNTS ? startCounting(child.pid!, countsFile) : undefined;
    const profiled = CPU_PROF_DIR ? { from: process.hrtime.bigint(), threads: threadCpu(child.pid) } : undefined;
    const cpuBefore = cpuSecondsOf(child.pid);
    const load = await drive(port, SECONDS);
    const cpu = cpuSecondsOf(child.pid) - cpuBefore;
    const sorted = load.latenciesMs.sort((a, b) => a - b);
    let pacedCpuMsPerCommand = Number.NaN;
    // The closed loop leaves deliveries behind it (how many depends on the setup): worked off
    // before the paced phase, or its CPU would count them.
    const settledMs = await settle(child.pid);
    const backlogCpuMsPerCommand = ((cpuSecondsOf(child.pid) - cpuBefore) * 1000) / load.commands;
    if (profiled) writeProfiledSpan(setup, round, load.commands, profiled, child.pid);
    const counts = counted ? await counted(load.commands) : undefined;
    console.log(`  ${LABELS[setup]}: settled ${(settledMs / 1000).toFixed(1)} s after the closed loop`);
    if (PACED > 0) {
      const pacedBefore = cpuSecondsOf(child.pid);
      const paced = await drive(port, SECONDS, PACED);
      const pacedCpu = cpuSecondsOf(child.pid) - pacedBefore;
      // Behind the pace (fewer than 90% of the lifecycles due): its CPU would not compare.
      if (paced.lifecycles >= 0.9 * PACED * SECONDS) pacedCpuMsPerCommand = (pacedCpu * 1000) / paced.commands;
    }
    return { perSecond: load.commands / load.seconds, cpuMsPerCommand: (cpu * 1000) / load.commands, p99: percentile(sorted, 99), pacedCpuMsPerCommand, backlogCpuMsPerCommand, ...(counts ? { counts } : {}) };
  } finally {
    await stop();
  }
}

/**
 * BENCH_TRACING_CPU_PROF: what the profiles' samples are divided by (cpuprofile-summary.ts), in
 * <dir>/<setup>-<round>/run.json: the span from the window's start until its backlog was worked off
 * (monotonic µs, the clock of a profile's sample times), the window's commands, and each thread's
 * CPU seconds in that span from /proc (a profile's own times are wall-clock, stretched on a
 * shared machine).
 */
function writeProfiledSpan(setup: Setup, round: number, commands: number, from: { from: bigint; threads: ThreadCpu[] }, pid: number | undefined): void {
  const to = process.hrtime.bigint();
  const before = new Map(from.threads.map((thread) => [thread.tid, thread.cpuSeconds]));
  const threads = threadCpu(pid).map((thread) => ({ ...thread, cpuSeconds: thread.cpuSeconds - (before.get(thread.tid) ?? 0) }));
  const runDir = join(CPU_PROF_DIR!, `${setup}-${round}`);
  mkdirSync(runDir, { recursive: true });
  writeFileSync(join(runDir, 'run.json'), JSON.stringify({ setup, round, commands, fromUs: Number(from.from / 1000n), toUs: Number(to / 1000n), threads }));
}

/**
 * Waits until the process uses under a tenth of a core (over half a second), at most 60 s: the
 * backlog a closed loop leaves is worked off. Resolves with how long it waited.
 */
async function settle(pid: number | undefined): Promise<number> {
  const started = performance.now();
  let last = cpuSecondsOf(pid);
  while (performance.now() - started < 60_000) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const now = cpuSecondsOf(pid);
    if (!Number.isFinite(now) || now - last < 0.05) break;
    last = now;
  }
  return performance.now() - started;
}

/** All setups at once, `ROUNDS` windows of the closed loop on each; ratios per window. */
async function sideBySide(): Promise<void> {
  const services = await Promise.all(SETUPS.map((setup) => startService(setup, 0)));
  const perWindow: Record<Setup, { perSecond: number; cpu: number }[]> = { off: [], always: [], ratio: [], dropped: [], before: [] };
  try {
    await Promise.all(services.map((service) => drive(service.port, WARMUP_SECONDS)));
    await Promise.all(services.map((service) => settle(service.child.pid)));
    for (let window = 1; window <= ROUNDS; window++) {
      const before = services.map((service) => cpuSecondsOf(service.child.pid));
      const loads = await Promise.all(services.map((service) => drive(service.port, SECONDS)));
      const figures = services.map((service, index) => ({ perSecond: loads[index]!.commands / loads[index]!.seconds, cpu: ((cpuSecondsOf(service.child.pid) - before[index]!) * 1000) / loads[index]!.commands }));
      SETUPS.forEach((setup, index) => perWindow[setup].push(figures[index]!));
      console.log(`window ${window} side by side: ${SETUPS.map((setup, index) => `${setup} ${figures[index]!.perSecond.toFixed(0)} commands/s ${figures[index]!.cpu.toFixed(3)} ms CPU/command`).join('; ')}  load ${load()}`);
    }
  } finally {
    await Promise.all(services.map((service) => service.stop()));
  }
  const off = perWindow.off;
  for (const setup of SETUPS) {
    const windows = perWindow[setup];
    const perSecond = median(windows.map((window) => window.perSecond));
    const cpu = median(windows.map((window) => window.cpu));
    const name = (what: string) => `npm start ${what} side by side, ${LABELS[setup]}`;
    if (setup === 'off' || off.length === 0) {
      reportFigure({ name: name('lifecycle'), value: fixed(perSecond, 0), unit: 'commands/s' });
      reportFigure({ name: name('CPU per command'), value: fixed(cpu, 3), unit: 'ms' });
      continue;
    }
    const ratios = windows.map((window, index) => ({ perSecond: window.perSecond / off[index]!.perSecond, cpu: window.cpu / off[index]!.cpu }));
    console.log(`${LABELS[setup]} side by side: per-window ratios ${ratios.map((ratio) => ratio.perSecond.toFixed(2)).join(' / ')} commands/s, ${ratios.map((ratio) => ratio.cpu.toFixed(2)).join(' / ')} CPU/command`);
    reportFigure({ name: name('lifecycle'), value: fixed(perSecond, 0), unit: 'commands/s', baseline: fixed(median(off.map((window) => window.perSecond)), 0), baselineName: 'tracing off', ratio: fixed(median(ratios.map((ratio) => ratio.perSecond)), 3), ...(setup === 'ratio' ? { target: '>= 0.95x' } : {}) });
    reportFigure({ name: name('CPU per command'), value: fixed(cpu, 3), unit: 'ms', baseline: fixed(median(off.map((window) => window.cpu)), 3), baselineName: 'tracing off', ratio: fixed(median(ratios.map((ratio) => ratio.cpu)), 3) });
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const fixed = (value: number, digits = 1) => Number(value.toFixed(digits));
const load = () => loadavg().map((value) => value.toFixed(2)).join(' ');

const CONCURRENT = process.env.BENCH_TRACING_CONCURRENT === '1';
if (CPU_PROF_DIR) mkdirSync(CPU_PROF_DIR, { recursive: true });
if (CONCURRENT) {
  console.log(`npm start lifecycle load side by side: ${SETUPS.join(', ')} at once, ${CONNECTIONS} keep-alive connections each, ${ROUNDS} window(s) of ${SECONDS} s after ${WARMUP_SECONDS} s warm-up; load average ${load()} (${availableParallelism()} cores)`);
  await sideBySide();
} else {
  await inTurns();
}
await receiver.stop();


/**
 * The setups' order in `round`: rotated by one each round and reversed every other round
 * (off,always,ratio; off,ratio,always; ratio,off,always; ...), so that over the rounds each setup
 * runs first, in the middle and last, and after each of the others (1% after always_on, whose
 * exports and store may spill over, only in some rounds). Each run has a fresh service and data dir.
 */
function orderOfRound(round: number): Setup[] {
  const shift = (round - 1) % SETUPS.length;
  const rotated = [...SETUPS.slice(shift), ...SETUPS.slice(0, shift)];
  return round % 2 === 0 ? rotated.reverse() : rotated;
}

/** The setups in turns, one service at a time, in an order that changes each round (`orderOfRound`). */
async function inTurns(): Promise<void> {
  console.log(`npm start lifecycle load: ${CONNECTIONS} keep-alive connections, ${SECONDS} s per setup after ${WARMUP_SECONDS} s warm-up${PACED > 0 ? `, then ${SECONDS} s paced at ${PACED} lifecycles/s` : ''}, ${ROUNDS} round(s) of ${SETUPS.join(', ')}; load average ${load()} (${availableParallelism()} cores)`);
  const runs: Record<Setup, Run[]> = { off: [], always: [], ratio: [], dropped: [], before: [] };
  /** Per round: each setup's commands/s and CPU per command as ratios to that round's off. */
  const ratios: Record<Setup, { perSecond: number; cpu: number; paced: number; backlog: number }[]> = { off: [], always: [], ratio: [], dropped: [], before: [] };
  for (let round = 1; round <= ROUNDS; round++) {
    const inRound: Partial<Record<Setup, Run>> = {};
    const order = orderOfRound(round);
    console.log(`round ${round}: ${order.join(', ')}`);
    for (const setup of order) {
      const before = receiver.protobufRequests;
      const run = await measure(setup, round);
      runs[setup].push(run);
      inRound[setup] = run;
      console.log(
        `round ${round} ${LABELS[setup].padEnd(24)} ${run.perSecond.toFixed(0).padStart(6)} commands/s  ${run.cpuMsPerCommand.toFixed(3)} ms CPU/command (${run.backlogCpuMsPerCommand.toFixed(3)} with its backlog)  paced ${run.pacedCpuMsPerCommand.toFixed(3)} ms CPU/command  p99 ${run.p99.toFixed(1)} ms  ${String(receiver.protobufRequests - before).padStart(4)} OTLP exports  load ${load()}`,
      );
    }
    const off = inRound.off;
    if (!off) continue;
    const parts: string[] = [];
    for (const setup of SETUPS) {
      const run = inRound[setup];
      if (setup === 'off' || !run) continue;
      const ratio = { perSecond: run.perSecond / off.perSecond, cpu: run.cpuMsPerCommand / off.cpuMsPerCommand, paced: run.pacedCpuMsPerCommand / off.pacedCpuMsPerCommand, backlog: run.backlogCpuMsPerCommand / off.backlogCpuMsPerCommand };
      ratios[setup].push(ratio);
      parts.push(`${LABELS[setup]} ${ratio.perSecond.toFixed(2)}x commands/s, ${ratio.cpu.toFixed(2)}x CPU/command (${ratio.backlog.toFixed(2)}x with its backlog), paced ${ratio.paced.toFixed(2)}x CPU/command`);
    }
    console.log(`round ${round} to off: ${parts.join('; ')}`);
  }

  if (COUNTS) printCounts(Object.fromEntries(SETUPS.map((setup) => [setup, runs[setup].flatMap((run) => (run.counts ? [run.counts] : []))])));
  const medianOf = (values: number[]) => median(values.filter((value) => Number.isFinite(value)));
  const off = { perSecond: median(runs.off.map((run) => run.perSecond)), cpu: median(runs.off.map((run) => run.cpuMsPerCommand)), paced: medianOf(runs.off.map((run) => run.pacedCpuMsPerCommand)) };
  for (const setup of SETUPS) {
    if (runs[setup].length === 0) continue;
    const perSecond = median(runs[setup].map((run) => run.perSecond));
    const cpu = median(runs[setup].map((run) => run.cpuMsPerCommand));
    const paced = medianOf(runs[setup].map((run) => run.pacedCpuMsPerCommand));
    if (setup === 'off') {
      reportFigure({ name: `npm start lifecycle, ${LABELS[setup]}`, value: fixed(perSecond, 0), unit: 'commands/s' });
      reportFigure({ name: `npm start CPU per command, ${LABELS[setup]}`, value: fixed(cpu, 3), unit: 'ms' });
      if (Number.isFinite(paced)) reportFigure({ name: `npm start CPU per command at ${PACED} lifecycles/s, ${LABELS[setup]}`, value: fixed(paced, 3), unit: 'ms' });
      continue;
    }
    const perRound = ratios[setup];
    // The median of the per-round ratios (each to its own round's off), not the ratio of the medians.
    const ratioOf = (key: 'perSecond' | 'cpu' | 'paced' | 'backlog') => {
      const values = perRound.map((ratio) => ratio[key]).filter((value) => Number.isFinite(value));
      return values.length ? { ratio: fixed(median(values), 3) } : {};
    };
    const list = (key: 'perSecond' | 'cpu' | 'paced' | 'backlog') => perRound.map((ratio) => ratio[key].toFixed(2)).join(' / ');
    console.log(`${LABELS[setup]}: per-round ratios ${list('perSecond')} commands/s, ${list('cpu')} CPU/command (${list('backlog')} with its backlog), paced ${list('paced')} CPU/command`);
    reportFigure({ name: `npm start lifecycle, ${LABELS[setup]}`, value: fixed(perSecond, 0), unit: 'commands/s', baseline: fixed(off.perSecond, 0), baselineName: 'tracing off', ...ratioOf('perSecond'), ...(setup === 'ratio' ? { target: '>= 0.95x' } : {}) });
    reportFigure({ name: `npm start CPU per command, ${LABELS[setup]}`, value: fixed(cpu, 3), unit: 'ms', baseline: fixed(off.cpu, 3), baselineName: 'tracing off', ...ratioOf('cpu') });
    reportFigure({ name: `npm start CPU per command with its backlog, ${LABELS[setup]}`, value: fixed(median(runs[setup].map((run) => run.backlogCpuMsPerCommand)), 3), unit: 'ms', baseline: fixed(median(runs.off.map((run) => run.backlogCpuMsPerCommand)), 3), baselineName: 'tracing off', ...ratioOf('backlog') });
    if (Number.isFinite(paced) && Number.isFinite(off.paced)) {
      reportFigure({ name: `npm start CPU per command at ${PACED} lifecycles/s, ${LABELS[setup]}`, value: fixed(paced, 3), unit: 'ms', baseline: fixed(off.paced, 3), baselineName: 'tracing off', ...ratioOf('paced'), ...(setup === 'ratio' ? { target: '<= 1.05x' } : {}) });
    }
  }
}
