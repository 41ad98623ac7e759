// Overload, as the attack on issue #11 ran it, against `orders serve` (ROLE=all: API, workers and
// embedded store in one process, as `npm start` runs) with load shedding on (the defaults) and,
// in the same run, off (no in-flight bounds, no event-loop or heap shedding, Node's default
// listen backlog of 511): 600 keep-alive clients that never back off for BENCH_OVERLOAD_SECONDS
// (mostly creates, a quarter reads), then a burst of BENCH_OVERLOAD_BURST large creates (~56 KB
// each, just under the 64 KiB body limit) each on a new connection. Printed for each: p99 and
// max latency, the share of 503s, connection resets and other failures, and the peak RSS and the
// RSS 10 s after the load. Targets (issue #11): 0 resets, every request answered within 2 s, RSS
// under 400 MB.
//
// Per phase: p50/p99/max, the time split from the service's Server-Timing (outside fastify /
// waiting for a slot / in a slot), the load generator's own event loop delay (it shares the
// machine), and the load average when the phase ended.
//
// Sizes (env): BENCH_OVERLOAD_CLIENTS (600), BENCH_OVERLOAD_SECONDS (30), BENCH_OVERLOAD_BURST (3000);
// BENCH_OVERLOAD_RUNS (`on,off`: which runs; `on` alone skips the baseline); BENCH_OVERLOAD_ENV
// (`NAME=value,...` for the shedding-on run, e.g. to try other limits).
// Run: `npm run bench overload`.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startChild, stopChild } from './children.js';
import { reportFigure } from './report.js';
import { freePort } from '../test/helpers/free-port.js';
import { burst, closedLoop, largeCreate, mixedLoad, percentileOf, rssMbOf, smallCreate, summary, watchRss, type LoadOutcome } from '../test/e2e/overload-load.js';

const here = dirname(fileURLToPath(import.meta.url));
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const CLIENTS = env('BENCH_OVERLOAD_CLIENTS', 600);
const SECONDS = env('BENCH_OVERLOAD_SECONDS', 30);
const BURST = env('BENCH_OVERLOAD_BURST', 3_000);
const API_KEY = 'bench-overload-key-0123456789abcdef';

const SHEDDING_OFF = {
  OVERLOAD_MAX_IN_FLIGHT_COMMANDS: '0',
  OVERLOAD_MAX_IN_FLIGHT_READS: '0',
  OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
  OVERLOAD_MAX_HEAP_USED_BYTES: '0',
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
    [join(here, '../bin/orders.js'), 'serve'],
    { PORT: String(port), EVENTSTORE_PORT: String(eventStorePort), DATA_DIR: dataDir, API_KEYS: `${API_KEY}:bench`, LOG_LEVEL: 'error', ROLE: 'all', RATE_LIMIT_PER_MINUTE: '0', ...extraEnv },
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
    const loop = await closedLoop(target, { clients: CLIENTS, durationMs: SECONDS * 1_000, next: mixedLoad });
    console.log(`shedding ${label}: ${CLIENTS} clients for ${SECONDS} s (load average ${load()}): ${summary(loop)}`);
    const spike = await burst(target, BURST, () => largeCreate());
    console.log(`shedding ${label}: ${BURST} large creates at once (load average ${load()}): ${summary(spike)}`);
    const peakRssMb = rss.stop();
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    const afterRssMb = rssMbOf(service.child.pid);
    console.log(`shedding ${label}: RSS idle ${idleRssMb.toFixed(0)} MB, peak ${peakRssMb.toFixed(0)} MB, 10 s after ${afterRssMb.toFixed(0)} MB`);
    return { loop: figuresOf([loop]), spike: figuresOf([spike]), all: figuresOf([loop, spike]), idleRssMb, peakRssMb, afterRssMb };
  } finally {
    await stopChild(service.child);
    rmSync(dataDir, { recursive: true, force: true });
  }
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
