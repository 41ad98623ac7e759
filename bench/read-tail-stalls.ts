// What the API's main thread ran inside the event-loop stalls the read-tail probe saw:
//   node --import tsx bench/read-tail-stalls.ts <probe report .json> <main thread's .cpuprofile>
// Both from one `BENCH_RMPG_PARTS=reads BENCH_RMPG_PROBE=1 BENCH_RMPG_CPU_PROF=<dir>` run (the
// bench prints which report goes with which pid; the main thread's profile is CPU.*.<pid>.0.*).
// Prints the functions the samples inside the stalls were in (self and inclusive) and, for the
// longest stalls, their samples and schedstat split: a stall with few samples and most of its
// time waiting for a CPU is the scheduler's, one full of samples of one function is the code's.
import { readFileSync } from 'node:fs';
import type { ProbeReport } from './read-tail-probe.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

const [probeFile, profileFile] = process.argv.slice(2);
if (!probeFile || !profileFile) throw new Error('usage: read-tail-stalls.ts <probe report .json> <main thread .cpuprofile>');
const probe = JSON.parse(readFileSync(probeFile, 'utf8')) as ProbeReport;
const profile = JSON.parse(readFileSync(profileFile, 'utf8')) as CpuProfile;
if (probe.monotonicOriginUs === undefined) throw new Error(`${probeFile} has no monotonicOriginUs: a probe from before it was recorded`);

const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parentOf = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
const nameOf = (node: ProfileNode) =>
  `${node.callFrame.functionName || '(anonymous)'} ${node.callFrame.url.replace(/.*node_modules\//, '').replace(/^file:\/\/.*?\/(src|projections|bench)\//, '$1/')}:${node.callFrame.lineNumber + 1}`;

// Stalls in the profile's clock (us), in order of time.
const windows = probe.stalls.map((stall) => ({ from: probe.monotonicOriginUs + stall.at * 1000, to: probe.monotonicOriginUs + (stall.at + stall.ms + 1) * 1000, stall, samples: 0 })).sort((a, b) => a.from - b.from);
const self = new Map<string, number>();
const inclusive = new Map<string, number>();
const count = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
let inStalls = 0;
let at = profile.startTime;
let next = 0;
for (const [index, delta] of profile.timeDeltas.entries()) {
  at += delta;
  while (next < windows.length && windows[next]!.to <= at) next++;
  const window = windows[next];
  if (!window || at < window.from) continue;
  window.samples++;
  inStalls++;
  let node = byId.get(profile.samples[index]!);
  count(self, nameOf(node!));
  const seen = new Set<string>();
  for (; node; node = byId.get(parentOf.get(node.id) ?? -1)) {
    const name = nameOf(node);
    if (!seen.has(name)) count(inclusive, name);
    seen.add(name);
  }
}

const total = probe.stalls.reduce((sum, stall) => sum + stall.ms, 0);
console.log(`${probe.stalls.length} stalls >= 5 ms, ${total.toFixed(0)} ms in all; ${inStalls} samples in them of ${profile.samples.length}`);
const top = (map: Map<string, number>, n: number) =>
  [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, samples]) => `  ${String(samples).padStart(6)} ${((100 * samples) / Math.max(1, inStalls)).toFixed(1).padStart(5)}%  ${name}`)
    .join('\n');
console.log(`self:\n${top(self, 25)}`);
console.log(`inclusive:\n${top(inclusive, 40)}`);
console.log('longest stalls: ms, samples in it, ran / waited for a CPU (schedstat) ms');
for (const window of windows.slice().sort((a, b) => b.stall.ms - a.stall.ms).slice(0, 15)) {
  console.log(`  ${window.stall.ms.toFixed(1).padStart(7)} ${String(window.samples).padStart(6)}  ${window.stall.ranMs.toFixed(1)} / ${window.stall.waitedMs.toFixed(1)}`);
}
