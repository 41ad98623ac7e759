// What `orders serve` (ROLE=all, as `npm start` runs it) keeps resident after a burst of large
// orders it let in (#11: RSS back under 400 MB after the load). The overload bench lets in
// anywhere from 7 to 1,300 of its 3,000 large creates depending on the machine's load, so its
// memory figures compare runs that did different work; this one sends a fixed count of large
// creates (~56 KB each) a few at a time, all served, waits for the workers to have projected and
// handled every one (their 200 lines each take them tens of seconds after the API has answered),
// then reads the RSS 10, 30 and 60 s after that, the threads idle.
//
// Setups, in turns (rotated each round), each a fresh service on a fresh data dir:
//   - on: as `npm start` runs it: the idle GC with malloc_trim (src/observability/idle-gc.ts,
//     malloc-trim.ts) and glibc's mmap threshold fixed at 128 KiB (MALLOC_MMAP_THRESHOLD_)
//   - gc-off: the same, IDLE_GC=off (the baseline the ratio is to: what the idle GC and the trim give back)
//   - neither: IDLE_GC=off and glibc's own dynamic mmap threshold (the service before session 11)
// Sizes (env): BENCH_MEMORY_ORDERS (1200), BENCH_MEMORY_CONCURRENCY (8), BENCH_MEMORY_ROUNDS (1),
// BENCH_MEMORY_SETUPS (on,gc-off,neither).
// Run: `npm run bench memory-after-load`.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/helpers/free-port.js';
import { setup as compileForChildren } from '../test/helpers/global-build.js';
import { largeCreate, rssMbOf, smallCreate, watchRss, type LoadRequest } from '../test/e2e/overload-load.js';
import { memoryOf, residentOf, startChild, stopChild } from './children.js';
import { reportFigure } from './report.js';

const here = dirname(fileURLToPath(import.meta.url));
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const ORDERS = env('BENCH_MEMORY_ORDERS', 1_200);
const CONCURRENCY = env('BENCH_MEMORY_CONCURRENCY', 8);
const ROUNDS = env('BENCH_MEMORY_ROUNDS', 1);
const API_KEY = 'bench-memory-key-0123456789abcdef';
const AFTER_SECONDS = [10, 30, 60] as const;

type Setup = 'on' | 'gc-off' | 'neither';
const SETUPS = (process.env.BENCH_MEMORY_SETUPS ?? 'on,gc-off,neither').split(',').map((name) => name.trim()) as Setup[];
/** An empty value unsets the variable: glibc's own dynamic threshold. */
const SETUP_ENV: Record<Setup, Record<string, string>> = {
  on: { MALLOC_MMAP_THRESHOLD_: '131072' },
  'gc-off': { MALLOC_MMAP_THRESHOLD_: '131072', IDLE_GC: 'off' },
  neither: { MALLOC_MMAP_THRESHOLD_: '', IDLE_GC: 'off' },
};

interface Figures {
  served: number;
  idleMb: number;
  peakMb: number;
  afterMb: number[];
  /** From the load's end until the workers had processed every order. */
  caughtUpSeconds: number;
}

const load = () => loadavg()[0]!.toFixed(1);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function send(port: number, request: LoadRequest): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${port}${request.path}`, {
    method: request.method,
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(request.body),
  });
  await response.arrayBuffer();
  return response.status;
}

/** `count` requests, `concurrency` at a time; a 503 is sent again after a pause (every order is let in). */
async function drive(port: number, count: number, concurrency: number, next: () => LoadRequest): Promise<number> {
  let started = 0;
  let served = 0;
  const worker = async () => {
    while (started < count) {
      started++;
      const request = next();
      for (let attempt = 0; attempt < 20; attempt++) {
        const status = await send(port, request);
        if (status < 300) {
          served++;
          break;
        }
        if (status !== 503) throw new Error(`create answered ${status}`);
        await sleep(200);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return served;
}

/**
 * The process's resident anonymous memory by where it lives (/proc/<pid>/smaps): glibc's main
 * arena (`[heap]`), its threads' arenas (mappings inside 64 MiB-aligned regions, glibc's
 * HEAP_MAX_SIZE), and the rest (V8's heap pages, mmapped blocks, stacks): which allocator holds it.
 */
function anonymousOf(pid: number | undefined): string {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  } catch {
    return 'smaps unreadable';
  }
  const totals = { mainArena: 0, threadArenas: 0, other: 0 };
  const ARENA = 64 * 2 ** 20;
  let kind: keyof typeof totals | undefined;
  for (const line of text.split('\n')) {
    const mapping = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (mapping) {
      const [start, end, inode, name] = [Number.parseInt(mapping[1]!, 16), Number.parseInt(mapping[2]!, 16), mapping[3], mapping[4]!.trim()];
      if (inode !== '0') kind = undefined;
      else if (name === '[heap]') kind = 'mainArena';
      else if (name === '' && Math.floor(start / ARENA) === Math.floor((end - 1) / ARENA) && end - start <= ARENA && start % ARENA === 0) kind = 'threadArenas';
      else if (name === '') kind = 'other';
      else kind = undefined;
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss && kind) totals[kind] += Number(rss[1]) / 1024;
  }
  return `main arena ${totals.mainArena.toFixed(0)}, thread arenas ${totals.threadArenas.toFixed(0)}, other anonymous ${totals.other.toFixed(0)} MB`;
}

/** Events a handler or projection group has processed (`events_processed_total`, every outcome), of order.created. */
async function processedOf(port: number, handler: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text().catch(() => '');
  const pattern = new RegExp(`^events_processed_total\\{handler="${handler}",event_type="order\\.created",[^}]*\\} ([\\d.e+]+)`, 'gm');
  return [...text.matchAll(pattern)].reduce((sum, match) => sum + Number(match[1]), 0);
}

/** The groups' `subscription_lag`, summed: whether the workers are still behind. */
async function lagOf(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text().catch(() => '');
  return [...text.matchAll(/^subscription_lag\{[^}]*\} ([\d.e+]+)/gm)].reduce((sum, match) => sum + Number(match[1]), 0);
}

async function run(setup: Setup): Promise<Figures> {
  const dataDir = mkdtempSync(join(tmpdir(), 'order-store-memory-bench-'));
  const [port, eventStorePort] = [await freePort(), await freePort()];
  // An empty value unsets the variable (spawn leaves out undefined ones), whatever this process has.
  const childEnv: NodeJS.ProcessEnv = Object.fromEntries(
    Object.entries({ PORT: String(port), EVENTSTORE_PORT: String(eventStorePort), DATA_DIR: dataDir, API_KEYS: `${API_KEY}:bench`, LOG_LEVEL: 'error', ROLE: 'all', RATE_LIMIT_PER_MINUTE: '0', ...SETUP_ENV[setup] }).map(
      ([name, value]) => [name, value === '' ? undefined : value],
    ),
  );
  const service = await startChild([join(here, '../bin/orders.js'), 'serve'], childEnv, /listening on http:\/\/\S+/);
  try {
    for (let attempt = 0; attempt < 300; attempt++) {
      if ((await fetch(`http://127.0.0.1:${port}/ready`).catch(() => undefined))?.status === 200) break;
      await sleep(100);
    }
    // Idle once every layer has served: a few orders through the API, the store and the workers.
    await drive(port, 20, 1, smallCreate);
    await sleep(3_000);
    const pid = service.child.pid;
    const idleMb = rssMbOf(pid);
    const peak = watchRss(pid);
    const served = await drive(port, ORDERS, CONCURRENCY, largeCreate);
    const loadEnded = performance.now();
    // The workers project the large orders long after the API took them (200 lines each): the
    // memory after the load is what is left once they are done, so the clock starts then.
    const created = 20 + served;
    while ((await processedOf(port, 'projections')) < created || (await processedOf(port, 'notification')) < created) await sleep(500);
    const caughtUp = performance.now();
    const caughtUpSeconds = (caughtUp - loadEnded) / 1_000;
    const afterMb: number[] = [];
    for (const seconds of AFTER_SECONDS) {
      await sleep(Math.max(0, caughtUp + seconds * 1_000 - performance.now()));
      afterMb.push(rssMbOf(pid));
      console.log(`${setup}: ${seconds} s after the workers were done: ${await memoryOf(port)} (${residentOf(pid)}; ${anonymousOf(pid)}); events the groups have still to process ${await lagOf(port)}`);
    }
    const peakMb = peak.stop();
    console.log(
      `${setup}: ${served} large orders served, the workers done ${caughtUpSeconds.toFixed(1)} s after the load; RSS idle ${idleMb.toFixed(0)} MB, peak ${peakMb.toFixed(0)} MB, ` +
        AFTER_SECONDS.map((seconds, index) => `${seconds} s after they were done ${afterMb[index]!.toFixed(0)} MB`).join(', ') +
        ` (load average ${load()})`,
    );
    return { served, idleMb, peakMb, afterMb, caughtUpSeconds };
  } finally {
    await stopChild(service.child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// The service runs compiled JavaScript, as `npm start` does.
compileForChildren();
const results = new Map<Setup, Figures[]>(SETUPS.map((setup) => [setup, []]));
for (let round = 0; round < ROUNDS; round++) {
  const order = SETUPS.map((_, index) => SETUPS[(index + round) % SETUPS.length]!);
  console.log(`round ${round + 1}: ${order.join(', ')} (load average ${load()})`);
  for (const setup of order) results.get(setup)!.push(await run(setup));
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};
const baseline: Setup = SETUPS.includes('gc-off') ? 'gc-off' : SETUPS[0]!;
for (const setup of SETUPS) {
  const runs = results.get(setup)!;
  AFTER_SECONDS.forEach((seconds, index) => {
    const value = median(runs.map((figures) => figures.afterMb[index]!));
    const base = median(results.get(baseline)!.map((figures) => figures.afterMb[index]!));
    reportFigure({
      name: `RSS ${seconds} s after ${ORDERS} large orders were projected (${setup})`,
      value: Number(value.toFixed(0)),
      unit: 'MB',
      ...(setup !== baseline ? { baseline: Number(base.toFixed(0)), baselineName: `${baseline}, same run` } : {}),
      ...(setup === 'on' ? { target: '<= 400' } : {}),
    });
  });
}
