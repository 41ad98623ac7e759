// The tail of the reads part of readmodels-postgres.bench.ts, taken apart:
// - a bare fastify process answering the same bodies from memory (no auth, no read models), under
//   the same open-loop load: the ceiling of HTTP, the load generator and the machine in this run;
// - with BENCH_RMPG_PROBE=1, bench/read-tail-probe.ts inside the API process: each read's time
//   in the process (received -> handler -> resolved -> sent -> finished) joined with the client's
//   latency by x-bench-seq, and the process's GC pauses and event-loop stalls, so that the
//   slowest 1% can be told apart: slow inside a handler, waiting in the process, or outside it.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProbeReport, ProbedRequest } from './read-tail-probe.js';
import { percentile } from './http-load.js';
import { startChild } from './children.js';

const here = dirname(fileURLToPath(import.meta.url));

/** One read as the load generator saw it: sent at `sentAt` (epoch ms), answered `ms` later. */
export interface ClientRead {
  seq: number;
  path: string;
  sentAt: number;
  ms: number;
}

// ---- child: the bare fastify server -----------------------------------------------------------

if (process.argv[2] === '--bare-read-server') {
  const bodies = JSON.parse(readFileSync(process.env.BARE_READ_BODIES!, 'utf8')) as Record<string, string>;
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false });
  for (const pathname of new Set(Object.keys(bodies).map((path) => path.split('?')[0]!))) {
    app.get(pathname, async (request, reply) => reply.type('application/json; charset=utf-8').send(bodies[request.url] ?? '{}'));
  }
  await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
  console.log(`listening on http://127.0.0.1:${process.env.PORT}`);
}

/** A bare fastify child on `port` answering each path with the body the service gave it. */
export function startBareReadServer(port: number, bodies: Record<string, string>, dir: string) {
  const file = join(dir, 'bare-read-bodies.json');
  writeFileSync(file, JSON.stringify(bodies));
  return startChild(['--import', 'tsx', join(here, 'read-tail.ts'), '--bare-read-server'], { PORT: String(port), BARE_READ_BODIES: file }, /listening on http:\/\/\S+/);
}

/** node flags that load the probe into a process writing to `out`, and its environment. */
export function probeFlags(out: string): { args: string[]; env: NodeJS.ProcessEnv } {
  return { args: ['--import', 'tsx', '--import', join(here, 'read-tail-probe.ts')], env: { READ_TAIL_PROBE_OUT: out } };
}

const fixed = (value: number) => (Number.isFinite(value) ? value.toFixed(1) : '-');
const spread = (values: number[]) => {
  const sorted = values.slice().sort((a, b) => a - b);
  return `p50 ${fixed(percentile(sorted, 50))} p99 ${fixed(percentile(sorted, 99))} max ${fixed(sorted.at(-1) ?? Number.NaN)}`;
};
const median = (values: number[]) => percentile(values.slice().sort((a, b) => a - b), 50);

/** Prints where the slowest 1% of the reads spent their time, against the median read. */
export function printTail(reads: ClientRead[], probe: ProbeReport, indent = '    '): void {
  const abs = (at: number) => probe.timeOrigin + at;
  const bySeq = new Map<number, ProbedRequest>(probe.requests.map((request) => [request.seq, request]));
  const joined = reads.flatMap((read) => {
    const server = bySeq.get(read.seq);
    return server?.finished === undefined || server.handlerStarted === undefined || server.handlerResolved === undefined || server.sent === undefined ? [] : [{ read, server: server as Required<ProbedRequest> }];
  });
  const inProcess = (row: (typeof joined)[number]) => row.server.finished - row.server.received;
  const parts = (rows: typeof joined) => ({
    outside: median(rows.map((row) => row.read.ms - inProcess(row))),
    beforeHandler: median(rows.map((row) => row.server.handlerStarted - row.server.received)),
    handler: median(rows.map((row) => row.server.handlerResolved - row.server.handlerStarted)),
    reply: median(rows.map((row) => row.server.sent - row.server.handlerResolved)),
    flush: median(rows.map((row) => row.server.finished - row.server.sent)),
  });
  const slowest = joined.slice().sort((a, b) => b.read.ms - a.read.ms).slice(0, Math.max(1, Math.ceil(joined.length / 100)));
  const line = (name: string, rows: typeof joined) => {
    const p = parts(rows);
    return `${name}: outside the process ${fixed(p.outside)}, before the handler ${fixed(p.beforeHandler)}, handler ${fixed(p.handler)}, reply ${fixed(p.reply)}, flush ${fixed(p.flush)} ms (medians)`;
  };
  console.log(`${indent}probe: ${joined.length} of ${reads.length} reads joined; in the process ${spread(joined.map(inProcess))} ms; handler ${spread(joined.map((row) => row.server.handlerResolved - row.server.handlerStarted))} ms`);
  console.log(`${indent}  ${line('median read', joined)}`);
  console.log(`${indent}  ${line(`slowest 1% (${slowest.length}, >= ${fixed(slowest.at(-1)?.read.ms ?? Number.NaN)} ms)`, slowest)}`);
  const firsts = (rows: typeof joined) => rows.filter((row) => row.server.first).length;
  const firstRows = joined.filter((row) => row.server.first);
  console.log(`${indent}  first request of a new connection: ${firsts(slowest)} of the slowest 1%, ${firstRows.length} of all (${line('those', firstRows).replace(/^those: /, '')})`);
  const byPath = new Map<string, number[]>();
  for (const row of slowest) byPath.set(row.read.path, [...(byPath.get(row.read.path) ?? []), row.read.ms]);
  console.log(`${indent}  slowest 1% by path: ${[...byPath].map(([path, values]) => `${path} ${values.length}`).join(', ')}`);
  const gcTotal = probe.gc.reduce((sum, entry) => sum + entry.ms, 0);
  const stallTotal = probe.stalls.reduce((sum, entry) => sum + entry.ms, 0);
  console.log(
    `${indent}  API event loop delay p50 ${fixed(probe.loopDelayMs.p50)} p99 ${fixed(probe.loopDelayMs.p99)} max ${fixed(probe.loopDelayMs.max)} ms; ` +
      `GC ${probe.gc.length} pauses, ${fixed(gcTotal)} ms in all, ${spread(probe.gc.map((entry) => entry.ms))} ms (kinds ${kinds(probe.gc)}); ` +
      `loop stalls >= 5 ms: ${probe.stalls.length}, ${fixed(stallTotal)} ms in all, ${spread(probe.stalls.map((entry) => entry.ms))} ms`,
  );
  // A slow read overlapping a pause or a stall of the API process: the process was not running it.
  const overlaps = (read: ClientRead, spans: Array<{ at: number; ms: number }>) => spans.some((span) => abs(span.at) < read.sentAt + read.ms && abs(span.at) + span.ms > read.sentAt);
  const withGc = slowest.filter((row) => overlaps(row.read, probe.gc)).length;
  const withStall = slowest.filter((row) => overlaps(row.read, probe.stalls)).length;
  const all = joined.length;
  const anyGc = joined.filter((row) => overlaps(row.read, probe.gc)).length;
  const anyStall = joined.filter((row) => overlaps(row.read, probe.stalls)).length;
  console.log(`${indent}  slowest 1% overlapping a GC pause ${withGc}/${slowest.length}, a loop stall ${withStall}/${slowest.length} (all reads: ${anyGc}/${all} and ${anyStall}/${all})`);
  const ran = probe.stalls.reduce((sum, entry) => sum + entry.ranMs, 0);
  const waited = probe.stalls.reduce((sum, entry) => sum + entry.waitedMs, 0);
  console.log(`${indent}  in the stalls the main thread ran ${fixed(ran)} ms and waited for a CPU ${fixed(waited)} ms (schedstat)`);
  const longest = probe.stalls.slice().sort((a, b) => b.ms - a.ms).slice(0, 5);
  console.log(`${indent}  longest stalls: ${longest.map((stall) => `${fixed(stall.ms)} ms (ran ${fixed(stall.ranMs)}, waited ${fixed(stall.waitedMs)})${probe.gc.some((entry) => entry.at < stall.at + stall.ms + 1 && entry.at + entry.ms > stall.at - 1) ? ' (GC in it)' : ''}`).join(', ')}`);
}

function kinds(gc: ProbeReport['gc']): string {
  // perf_hooks constants: 1 minor (scavenge), 2 major (mark-compact), 4 incremental, 8 weak callbacks.
  const names: Record<number, string> = { 1: 'minor', 2: 'major', 4: 'incremental', 8: 'weakcb' };
  const counts = new Map<string, { n: number; ms: number }>();
  for (const entry of gc) {
    const name = names[entry.kind] ?? String(entry.kind);
    const count = counts.get(name) ?? { n: 0, ms: 0 };
    counts.set(name, { n: count.n + 1, ms: count.ms + entry.ms });
  }
  return [...counts].map(([name, count]) => `${name} ${count.n} = ${fixed(count.ms)} ms`).join(', ');
}
