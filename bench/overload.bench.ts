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
// Sizes (env): BENCH_OVERLOAD_CLIENTS (600), BENCH_OVERLOAD_SECONDS (20), BENCH_OVERLOAD_BURST (3000).
// Run: `npm run bench overload`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startChild, stopChild } from './children.js';
import { reportFigure } from './report.js';
import { freePort } from '../test/helpers/free-port.js';
import { burst, closedLoop, largeCreate, mixedLoad, percentileOf, rssMbOf, summary, watchRss, type LoadOutcome } from '../test/e2e/overload-load.js';

const here = dirname(fileURLToPath(import.meta.url));
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const CLIENTS = env('BENCH_OVERLOAD_CLIENTS', 600);
const SECONDS = env('BENCH_OVERLOAD_SECONDS', 20);
const BURST = env('BENCH_OVERLOAD_BURST', 3_000);
const API_KEY = 'bench-overload-key-0123456789abcdef';

const SHEDDING_OFF = {
  OVERLOAD_MAX_IN_FLIGHT_COMMANDS: '0',
  OVERLOAD_MAX_IN_FLIGHT_READS: '0',
  OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
  OVERLOAD_MAX_HEAP_USED_BYTES: '0',
  HTTP_LISTEN_BACKLOG: '511',
};

interface RunFigures {
  p99Ms: number;
  maxMs: number;
  shedPercent: number;
  resets: number;
  failures: number;
  over2s: number;
  peakRssMb: number;
  afterRssMb: number;
  served: number;
}

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
    const idle = rssMbOf(service.child.pid);
    const rss = watchRss(service.child.pid);
    const loop = await closedLoop(target, { clients: CLIENTS, durationMs: SECONDS * 1_000, next: mixedLoad });
    const spike = await burst(target, BURST, () => largeCreate());
    const peakRssMb = rss.stop();
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    const afterRssMb = rssMbOf(service.child.pid);
    console.log(`shedding ${label}: ${CLIENTS} clients for ${SECONDS} s: ${summary(loop)}`);
    console.log(`shedding ${label}: ${BURST} large creates at once: ${summary(spike)}`);
    console.log(`shedding ${label}: RSS idle ${idle.toFixed(0)} MB, peak ${peakRssMb.toFixed(0)} MB, 10 s after ${afterRssMb.toFixed(0)} MB`);
    return figuresOf([loop, spike], peakRssMb, afterRssMb);
  } finally {
    await stopChild(service.child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function figuresOf(outcomes: LoadOutcome[], peakRssMb: number, afterRssMb: number): RunFigures {
  const latencies = outcomes.flatMap((outcome) => outcome.latenciesMs).sort((a, b) => a - b);
  const count = (pick: (outcome: LoadOutcome) => number) => outcomes.reduce((sum, outcome) => sum + pick(outcome), 0);
  const answered = latencies.length;
  const failures = count((outcome) => Object.values(outcome.errors).reduce((sum, n) => sum + n, 0));
  return {
    p99Ms: percentileOf(latencies, 99),
    maxMs: latencies.at(-1) ?? Number.NaN,
    shedPercent: answered ? (100 * count((outcome) => outcome.statuses[503] ?? 0)) / answered : 0,
    resets: count((outcome) => outcome.errors.ECONNRESET ?? 0),
    failures,
    // A request not answered at all (reset, timeout) counts as over 2 s too.
    over2s: latencies.filter((ms) => ms > 2_000).length + failures,
    peakRssMb,
    afterRssMb,
    served: count((outcome) => Object.entries(outcome.statuses).reduce((sum, [status, n]) => sum + (Number(status) < 300 ? n : 0), 0)),
  };
}

const on = await run('on', {});
const off = await run('off', SHEDDING_OFF);
const baselineName = 'shedding off';
const round = (value: number) => Number(value.toFixed(1));
reportFigure({ name: 'overload latency p99', value: round(on.p99Ms), unit: 'ms', baseline: round(off.p99Ms), baselineName, target: '<= 2000' });
reportFigure({ name: 'overload latency max', value: round(on.maxMs), unit: 'ms', baseline: round(off.maxMs), baselineName });
reportFigure({ name: 'overload requests over 2 s or unanswered', value: on.over2s, unit: 'requests', baseline: off.over2s, baselineName, target: '<= 0' });
reportFigure({ name: 'overload 503 share', value: round(on.shedPercent), unit: '%', baseline: round(off.shedPercent), baselineName });
reportFigure({ name: 'overload served (2xx)', value: on.served, unit: 'requests', baseline: off.served, baselineName });
reportFigure({ name: 'overload connection resets', value: on.resets, unit: 'resets', baseline: off.resets, baselineName, target: '<= 0' });
reportFigure({ name: 'overload failures (resets, timeouts)', value: on.failures, unit: 'requests', baseline: off.failures, baselineName, target: '<= 0' });
reportFigure({ name: 'overload peak RSS', value: round(on.peakRssMb), unit: 'MB', baseline: round(off.peakRssMb), baselineName, target: '<= 400' });
reportFigure({ name: 'overload RSS 10 s after', value: round(on.afterRssMb), unit: 'MB', baseline: round(off.afterRssMb), baselineName, target: '<= 400' });
