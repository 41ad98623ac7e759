// Sums the CPU profiles of `BENCH_TRACING_CPU_PROF=<dir> npm run bench tracing` by self time, per
// function and per file or package, per command, and diffs each setup against `off`:
//   node --import tsx bench/cpuprofile-summary.ts <dir> [top (30)] [thread (0: the main thread)]
// <dir> holds one folder per run (<setup>-<round>/: the profiles of its threads, named
// CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile, and the bench's run.json: the commands the
// service answered and each thread's CPU from /proc). A profile's times are wall-clock sample
// intervals, which a shared machine stretches (a descheduled thread's next sample gets the wait);
// its shares are not: so for the main thread a function's time per command is its share of the
// profile's busy samples (all but `(idle)`) times the thread's CPU from /proc, divided by the
// commands. For a worker thread (no /proc match) the profile's own busy time is used.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  startTime: number;
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}
interface RunInfo {
  setup: string;
  round: number;
  commands: number;
  /** The span counted (monotonic µs, as the profile's times): the window and its backlog. */
  fromUs: number;
  toUs: number;
  threads: { tid: number; name: string; cpuSeconds: number }[];
}

const [dir, topArg, threadArg] = process.argv.slice(2);
if (!dir) {
  console.error('usage: cpuprofile-summary.ts <dir> [top] [thread id]');
  process.exit(2);
}
const TOP = Number(topArg ?? 30);
const THREAD = Number(threadArg ?? 0);

/** Where a frame's code lives: a package, a file of the service, node's internals, or V8's own. */
export function placeOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  // The build the bench runs (test/helpers/global-build.ts keeps it under node_modules/.cache).
  const build = /\/order-store-test-builds\/[^/]+\/(.*)$/.exec(url);
  if (build) return build[1]!;
  const packageMatch = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (packageMatch) return packageMatch[1]!;
  if (url.startsWith('node:')) return url.startsWith('node:internal/') ? `node:internal/${url.split('/')[1]}` : url;
  const own = /\/(?:dist\/)?((?:src|projections)\/.*)$/.exec(url);
  return own ? own[1]! : url;
}

interface Summary {
  commands: number;
  /** µs of CPU per command of the thread, and per function and place. */
  total: number;
  functions: Map<string, number>;
  places: Map<string, number>;
}

function summarize(runDir: string): Summary | undefined {
  const info = JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')) as RunInfo;
  // The largest of the thread's profiles (a process that spawns another leaves both in the folder).
  const file = readdirSync(runDir)
    .filter((name) => name.endsWith('.cpuprofile') && Number(name.split('.').at(-3)) === THREAD)
    .sort((a, b) => statSync(join(runDir, b)).size - statSync(join(runDir, a)).size)[0];
  if (!file) return undefined;
  const profile = JSON.parse(readFileSync(join(runDir, file), 'utf8')) as Profile;
  const pid = Number(file.split('.').at(-4));
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<number, number>();
  // Only the samples of the counted span (a sample's time: the profile's start plus the deltas).
  let at = profile.startTime;
  profile.samples.forEach((id, index) => {
    const delta = profile.timeDeltas[index] ?? 0;
    at += delta;
    if (at >= info.fromUs && at <= info.toUs) self.set(id, (self.get(id) ?? 0) + delta);
  });
  let busyUs = 0;
  for (const [id, us] of self) if (byId.get(id)!.callFrame.functionName !== '(idle)') busyUs += us;
  // The main thread's CPU from /proc when it was recorded; else the profile's busy time.
  const main = THREAD === 0 ? info.threads.find((thread) => thread.tid === pid) : undefined;
  const scale = main ? (main.cpuSeconds * 1e6) / busyUs : 1;
  const functions = new Map<string, number>();
  const places = new Map<string, number>();
  for (const [id, us] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') continue;
    const place = placeOf(url, functionName);
    const perCommand = (us * scale) / info.commands;
    const name = `${functionName || '(anonymous)'} ${place}${url ? `:${lineNumber + 1}` : ''}`;
    functions.set(name, (functions.get(name) ?? 0) + perCommand);
    places.set(place, (places.get(place) ?? 0) + perCommand);
  }
  return { commands: info.commands, total: (busyUs * scale) / info.commands, functions, places };
}

const bySetup = new Map<string, Summary[]>();
for (const name of readdirSync(dir).sort()) {
  const setup = name.replace(/-\d+$/, '');
  let summary: Summary | undefined;
  try {
    summary = summarize(join(dir, name));
  } catch {
    continue;
  }
  if (!summary) continue;
  bySetup.set(setup, [...(bySetup.get(setup) ?? []), summary]);
}

/** The mean over a setup's runs of each key's µs per command. */
function meanOf(runs: Summary[], key: 'functions' | 'places'): Map<string, number> {
  const sum = new Map<string, number>();
  for (const run of runs) for (const [name, us] of run[key]) sum.set(name, (sum.get(name) ?? 0) + us / runs.length);
  return sum;
}

const off = bySetup.get('off');
/** Places that are tracing's own code. */
const TRACING = /^(src\/observability\/(trace-api|tracing|http-tracing|command-tracing|delivery-tracing|client-tracing|cli-tracing|esdb-instrumentation|esdb-trace-context|log-trace-context)\.|@opentelemetry\/)/;
for (const [setup, runs] of bySetup) {
  const total = runs.reduce((sum, run) => sum + run.total, 0) / runs.length;
  const own = runs.map((run) => [...run.places].reduce((sum, [place, us]) => (TRACING.test(place) ? sum + us : sum), 0));
  console.log(`\n${setup}: ${runs.length} run(s), ${runs.map((run) => run.commands).join(' / ')} commands, thread ${THREAD}: ${runs.map((run) => run.total.toFixed(0)).join(' / ')} µs CPU per command (mean ${total.toFixed(0)})`);
  console.log(`  tracing's own frames (src/observability, @opentelemetry/*): ${own.map((us, index) => `${us.toFixed(1)} µs (${((100 * us) / runs[index]!.total).toFixed(2)}%)`).join(' / ')} per command`);
  for (const key of ['places', 'functions'] as const) {
    const mine = meanOf(runs, key);
    const base = off && setup !== 'off' ? meanOf(off, key) : undefined;
    const names = new Set([...mine.keys(), ...(base ? base.keys() : [])]);
    const rows = [...names].map((name) => ({ name, us: mine.get(name) ?? 0, diff: base ? (mine.get(name) ?? 0) - (base.get(name) ?? 0) : 0 }));
    rows.sort((a, b) => (base ? Math.abs(b.diff) - Math.abs(a.diff) : b.us - a.us));
    console.log(`  ${key === 'places' ? 'per file or package' : 'per function'}${base ? ', by difference to off' : ''} (µs per command):`);
    for (const row of rows.slice(0, TOP)) console.log(`    ${row.us.toFixed(1).padStart(8)}${base ? `  ${(row.diff >= 0 ? '+' : '') + row.diff.toFixed(1)}`.padStart(10) : ''}  ${row.name}`);
  }
}
