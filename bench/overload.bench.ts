// Overload, as the attack on issue #11 ran it, against `orders serve` (ROLE=all: API, workers and
// embedded store in one process, as `npm start` runs) with load shedding on (the defaults) and,
// in the same run, off (no in-flight bounds, no latency budget, no event-loop or heap shedding, Node's default
// listen backlog of 511): 600 keep-alive clients that never back off for BENCH_OVERLOAD_SECONDS
// (mostly creates, a quarter reads), then a burst of BENCH_OVERLOAD_BURST large creates (~56 KB
// each, just under the 64 KiB body limit) each on a new connection. Printed for each: p99 and
// max latency, the share of 503s, connection resets and other failures, and the peak RSS and the
// RSS 10 s after the load. Targets (issue #11): 0 resets, every request answered within 2 s, RSS
// under 400 MB.
//
// Per phase: p50/p99/max, the time split from the service's Server-Timing (outside fastify /
// waiting for a slot / in a slot), the load generator's own event loop delay (it shares the
// machine), the load average when the phase ended and the CPU the service got in it (cores).
//
// Sizes (env): BENCH_OVERLOAD_CLIENTS (600), BENCH_OVERLOAD_SECONDS (30), BENCH_OVERLOAD_BURST (3000);
// BENCH_OVERLOAD_RUNS (`on,off`: which runs; `on` alone skips the baseline); BENCH_OVERLOAD_ENV
// (`NAME=value,...` for the shedding-on run, e.g. to try other limits); BENCH_OVERLOAD_NODE_ARGS
// (Node flags for the service, e.g. `--cpu-prof --cpu-prof-dir=<dir>` to see where its time goes).
// The service's malloc is set up as `npm start` sets it (AS_NPM_START).
// Run: `npm run bench overload`.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuSecondsOf, memoryOf, residentOf, startChild, stopChild } from './children.js';
import { reportFigure } from './report.js';
import { freePort } from '../test/helpers/free-port.js';
import { setup as compileForChildren } from '../test/helpers/global-build.js';
import { burst, closedLoop, largeCreate, mixedLoad, percentileOf, rssMbOf, smallCreate, summary, tcpCounterDelta, tcpCounters, watchAcceptQueue, watchRss, type LoadOutcome } from '../test/e2e/overload-load.js';

const here = dirname(fileURLToPath(import.meta.url));
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const CLIENTS = env('BENCH_OVERLOAD_CLIENTS', 600);
const SECONDS = env('BENCH_OVERLOAD_SECONDS', 30);
const BURST = env('BENCH_OVERLOAD_BURST', 3_000);
const API_KEY = 'bench-overload-key-0123456789abcdef';
/** Node flags for the service (NODE_OPTIONS refuses some), e.g. `--cpu-prof --cpu-prof-dir=/tmp/profiles`. */
const NODE_ARGS = (process.env.BENCH_OVERLOAD_NODE_ARGS ?? '').split(' ').filter(Boolean);

/**
 * glibc's malloc as `npm start` and the Docker image start the service (package.json, Dockerfile):
 * the mmap threshold fixed at its default, 128 KiB, so that freed blocks above it go back to the
 * OS instead of the threshold growing with them and keeping them in the arenas (#11). An empty
 * value in BENCH_OVERLOAD_ENV (`MALLOC_MMAP_THRESHOLD_=`) leaves glibc's own dynamic threshold.
 */
const AS_NPM_START = { MALLOC_MMAP_THRESHOLD_: '131072' };

const SHEDDING_OFF = {
  OVERLOAD_MAX_IN_FLIGHT_COMMANDS: '0',
  OVERLOAD_MAX_IN_FLIGHT_READS: '0',
  OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
  OVERLOAD_MAX_HEAP_USED_BYTES: '0',
  OVERLOAD_LATENCY_BUDGET_MS: '0',
  OVERLOAD_SHED_PAUSE_MS: '0',
  HTTP_LISTEN_BACKLOG: '511',
};

interface PhaseFigures {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  shedPercent: number;
  resets: number;
  failures: number;
  over2s: number;
  served: number;
}

interface RunFigures {
  loop: PhaseFigures;
  spike: PhaseFigures;
  all: PhaseFigures;
  idleRssMb: number;
  peakRssMb: number;
  afterRssMb: number;
}

const load = () => loadavg()[0]!.toFixed(1);

async function run(label: string, extraEnv: Record<string, string>): Promise<RunFigures> {
  const dataDir = mkdtempSync(join(tmpdir(), 'order-store-overload-bench-'));
  const [port, eventStorePort] = [await freePort(), await freePort()];
  const service = await startChild(
    [...NODE_ARGS, join(here, '../bin/orders.js'), 'serve'],
    withoutEmpty({ PORT: String(port), EVENTSTORE_PORT: String(eventStorePort), DATA_DIR: dataDir, API_KEYS: `${API_KEY}:bench`, LOG_LEVEL: 'error', ROLE: 'all', RATE_LIMIT_PER_MINUTE: '0', ...AS_NPM_START, ...extraEnv }),
    /listening on http:\/\/\S+/,
  );
  try {
    const target = { port, apiKey: API_KEY };
    for (let attempt = 0; attempt < 300; attempt++) {
      if ((await fetch(`http://127.0.0.1:${port}/ready`).catch(() => undefined))?.status === 200) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // Idle once every layer has served: a few orders through the API, the store and the workers.
    for (let index = 0; index < 20; index++) await burst(target, 1, smallCreate);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const idleRssMb = rssMbOf(service.child.pid);
    const rss = watchRss(service.child.pid);
    // How much CPU the service got: on a machine shared with other work, what bounds everything.
    const pid = service.child.pid;
    const cores = (cpuBefore: number, startedAt: number) => ((cpuSecondsOf(pid) - cpuBefore) / ((performance.now() - startedAt) / 1000)).toFixed(2);
    const phase = async (name: string, work: () => Promise<LoadOutcome>): Promise<LoadOutcome> => {
      const cpu = cpuSecondsOf(pid);
      const startedAt = performance.now();
      const counters = tcpCounters();
      const acceptQueue = watchAcceptQueue(port);
      await loopDelayOf(port); // resets the service's loop-delay histogram: what follows is this phase's
      const held = await counterOf(port, 'http_connections_held_total');
      const phaseRss = watchRss(pid);
      const fromUs = process.hrtime.bigint() / 1000n;
      const outcome = await work();
      const toUs = process.hrtime.bigint() / 1000n;
      const phasePeakMb = phaseRss.stop();
      const deepest = acceptQueue.stop();
      const loopDelay = await loopDelayOf(port);
      const heldNow = await counterOf(port, 'http_connections_held_total');
      console.log(
        `shedding ${label}: ${name} (load average ${load()}, service CPU ${cores(cpu, startedAt)} cores): ${summary(outcome)}; ` +
          `peak RSS ${phasePeakMb.toFixed(0)} MB; accept queue deepest ${deepest}; service event loop delay ${loopDelay}; connections held after a 503 ${heldNow - held}; machine-wide TCP counters: ${tcpCounterDelta(counters)}` +
          // The phase's span on the monotonic clock a V8 CPU profile's times use (BENCH_OVERLOAD_NODE_ARGS=--cpu-prof).
          (NODE_ARGS.includes('--cpu-prof') ? `; monotonic µs ${fromUs}-${toUs}` : ''),
      );
      return outcome;
    };
    const memory = await memoryOf(port);
    const loop = await phase(`${CLIENTS} clients for ${SECONDS} s`, () => closedLoop(target, { clients: CLIENTS, durationMs: SECONDS * 1_000, next: mixedLoad }));
    const spike = await phase(`${BURST} large creates at once`, () => burst(target, BURST, () => largeCreate()));
    const peakRssMb = rss.stop();
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    const afterRssMb = rssMbOf(service.child.pid);
    const memoryAfter = await memoryOf(port);
    await new Promise((resolve) => setTimeout(resolve, 20_000));
    const later = rssMbOf(service.child.pid);
    const memoryLater = await memoryOf(port);
    console.log(`shedding ${label}: RSS idle ${idleRssMb.toFixed(0)} MB, peak ${peakRssMb.toFixed(0)} MB, 10 s after ${afterRssMb.toFixed(0)} MB, 30 s after ${later.toFixed(0)} MB`);
    console.log(`shedding ${label}: memory (MB) idle ${memory}; 10 s after ${memoryAfter}; 30 s after ${memoryLater} (${residentOf(service.child.pid)})`);
    return { loop: figuresOf([loop]), spike: figuresOf([spike]), all: figuresOf([loop, spike]), idleRssMb, peakRssMb, afterRssMb };
  } finally {
    await stopChild(service.child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** An empty value unsets the variable (glibc would read an empty threshold as 0). */
function withoutEmpty(env: Record<string, string>): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
}

/**
 * The service's event loop delay since the last scrape (prom-client's histogram, reset at each
 * collect): how long its loop iterations ran, the time a connection waits to be accepted per
 * connection ahead of it (Node accepts one per iteration).
 */
async function loopDelayOf(port: number): Promise<string> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text().catch(() => '');
  const ms = (name: string) => (Number(new RegExp(`^nodejs_eventloop_lag_${name}_seconds ([\\d.e+-]+)`, 'm').exec(text)?.[1] ?? Number.NaN) * 1000).toFixed(0);
  return `p50 ${ms('p50')} ms, p99 ${ms('p99')} ms, max ${ms('max')} ms`;
}

async function counterOf(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text().catch(() => '');
  return Number(new RegExp(`^${name} ([\\d.e+]+)`, 'm').exec(text)?.[1] ?? 0);
}

function figuresOf(outcomes: LoadOutcome[]): PhaseFigures {
  const latencies = outcomes.flatMap((outcome) => outcome.latenciesMs).sort((a, b) => a - b);
  const count = (pick: (outcome: LoadOutcome) => number) => outcomes.reduce((sum, outcome) => sum + pick(outcome), 0);
  const answered = latencies.length;
  const failures = count((outcome) => Object.values(outcome.errors).reduce((sum, n) => sum + n, 0));
  return {
    p50Ms: percentileOf(latencies, 50),
    p99Ms: percentileOf(latencies, 99),
    maxMs: latencies.at(-1) ?? Number.NaN,
    shedPercent: answered ? (100 * count((outcome) => outcome.statuses[503] ?? 0)) / answered : 0,
    resets: count((outcome) => outcome.errors.ECONNRESET ?? 0),
    failures,
    // A request not answered at all (reset, timeout) counts as over 2 s too.
    over2s: latencies.filter((ms) => ms > 2_000).length + failures,
    served: count((outcome) => Object.entries(outcome.statuses).reduce((sum, [status, n]) => sum + (Number(status) < 300 ? n : 0), 0)),
  };
}

// The service runs compiled JavaScript, as `npm start` does (through tsx its RSS would carry the
// compiler too: about 100 MB more): the build the tests use, of the sources as they are now.
compileForChildren();

const runs = new Set((process.env.BENCH_OVERLOAD_RUNS ?? 'on,off').split(',').map((name) => name.trim()));
const onEnv = Object.fromEntries(
  (process.env.BENCH_OVERLOAD_ENV ?? '')
    .split(',')
    .filter((pair) => pair.includes('='))
    .map((pair) => [pair.slice(0, pair.indexOf('=')).trim(), pair.slice(pair.indexOf('=') + 1).trim()]),
);
const on = runs.has('on') ? await run('on', onEnv) : undefined;
const off = runs.has('off') ? await run('off', SHEDDING_OFF) : undefined;
const baselineName = `shedding off (load average ${load()})`;
const round = (value: number) => Number(value.toFixed(1));
const report = (name: string, unit: string, pick: (figures: RunFigures) => number, target?: string) => {
  const value = on ? pick(on) : off ? pick(off) : Number.NaN;
  reportFigure({
    name: on ? name : `${name} (shedding off)`,
    value: round(value),
    unit,
    ...(on && off ? { baseline: round(pick(off)), baselineName } : {}),
    ...(on && target ? { target } : {}),
  });
};
for (const [phase, pick] of [
  [`${CLIENTS} clients`, (figures: RunFigures) => figures.loop],
  [`burst of ${BURST}`, (figures: RunFigures) => figures.spike],
] as const) {
  report(`overload ${phase}: latency p50`, 'ms', (figures) => pick(figures).p50Ms);
  report(`overload ${phase}: latency p99`, 'ms', (figures) => pick(figures).p99Ms, '<= 2000');
  report(`overload ${phase}: latency max`, 'ms', (figures) => pick(figures).maxMs, '<= 2000');
  report(`overload ${phase}: 503 share`, '%', (figures) => pick(figures).shedPercent);
  report(`overload ${phase}: served (2xx)`, 'requests', (figures) => pick(figures).served);
}
report('overload requests over 2 s or unanswered', 'requests', (figures) => figures.all.over2s, '<= 0');
report('overload connection resets', 'resets', (figures) => figures.all.resets, '<= 0');
report('overload failures (resets, timeouts)', 'requests', (figures) => figures.all.failures, '<= 0');
report('overload RSS idle', 'MB', (figures) => figures.idleRssMb);
report('overload peak RSS', 'MB', (figures) => figures.peakRssMb, '<= 400');
report('overload RSS 10 s after', 'MB', (figures) => figures.afterRssMb, '<= 400');
