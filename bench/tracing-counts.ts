// The counts of BENCH_TRACING_COUNTS=1 (tracing.bench.ts): the preloaded probe's counts of the
// service's main thread (tracing-count-probe.ts), and with BENCH_TRACING_SYSCALLS=1 the system
// calls of each of the service's threads from `perf stat --per-thread` (syscall tracepoints: the
// store's commits are its writer thread's fsyncs, an event loop's wake-ups its epoll_pwaits).
// Counted from the window's start until the service has worked off the backlog, divided by the
// window's commands: each command's whole batching, wherever the window ended.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ProbeCounts } from './tracing-count-probe.js';

/** `sql` also counts each read-model statement by its SQL (its first 90 characters). */
export const COUNTS = process.env.BENCH_TRACING_COUNTS === '1' || process.env.BENCH_TRACING_COUNTS === 'sql';
const SYSCALLS = process.env.BENCH_TRACING_SYSCALLS === '1';
const SYSCALL_NAMES = ['fsync', 'fdatasync', 'epoll_pwait', 'epoll_wait', 'read', 'write', 'writev', 'pwrite64', 'futex'];

/** What the service is started with to be counted: node's arguments and the probe's env. */
export function countingArgs(file: string): { args: string[]; env: Record<string, string> } {
  if (!COUNTS) return { args: [], env: {} };
  return { args: ['--import', 'tsx', '--import', fileURLToPath(new URL('./tracing-count-probe.ts', import.meta.url))], env: { TRACING_COUNT_PROBE_OUT: file } };
}

function probeCounts(file: string): ProbeCounts {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as ProbeCounts) : {};
}

/**
 * Starts counting the service `pid` (its probe writes `file`); the returned function, called once
 * the backlog is worked off, resolves with each count per command of the window.
 */
export function startCounting(pid: number, file: string): (commands: number) => Promise<ProbeCounts> {
  const before = probeCounts(file);
  const cpuBefore = threadCpuMs(pid);
  const perfOut = `${file}.perf.csv`;
  const perf = SYSCALLS ? spawn('perf', ['stat', '--per-thread', '-x', ',', '-o', perfOut, '-e', SYSCALL_NAMES.map((name) => `syscalls:sys_enter_${name}`).join(','), '-p', String(pid)], { stdio: 'ignore' }) : undefined;
  return async (commands) => {
    // The probe rewrites its file every 250 ms.
    await new Promise((resolve) => setTimeout(resolve, 400));
    const after = probeCounts(file);
    const per: ProbeCounts = {};
    for (const key of Object.keys(after)) per[key] = (after[key]! - (before[key] ?? 0)) / commands;
    Object.assign(per, cpuPerCommand(cpuBefore, threadCpuMs(pid), pid, commands));
    if (perf) {
      const exited = new Promise((resolve) => perf.once('exit', resolve));
      perf.kill('SIGINT');
      await exited;
      Object.assign(per, syscallsPerCommand(perfOut, pid, commands));
      rmSync(perfOut, { force: true });
    }
    return per;
  };
}

/** Each thread's CPU (user + system) so far, ms, by thread id (/proc: 10 ms ticks). */
function threadCpuMs(pid: number): Map<string, number> {
  const cpu = new Map<string, number>();
  const ticks = 1000 / 100;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        cpu.set(tid, (Number(fields[11]) + Number(fields[12])) * ticks);
      } catch {
        // The thread ended.
      }
    }
  } catch {
    // Not Linux, or the process ended.
  }
  return cpu;
}

/**
 * CPU ms a command by thread: the main thread, the two busiest others (the store's loop and its
 * writer, under this load) and the rest (V8's helpers, libuv's pool): where a setup's extra CPU goes.
 */
function cpuPerCommand(before: Map<string, number>, after: Map<string, number>, pid: number, commands: number): ProbeCounts {
  const spent = [...after].map(([tid, ms]) => [tid, ms - (before.get(tid) ?? 0)] as const);
  const others = spent.filter(([tid]) => tid !== String(pid)).sort((a, b) => b[1] - a[1]);
  const sum = (list: (readonly [string, number])[]) => list.reduce((total, [, ms]) => total + ms, 0) / commands;
  return {
    'cpu_ms.main': sum(spent.filter(([tid]) => tid === String(pid))),
    'cpu_ms.busiest other thread': sum(others.slice(0, 1)),
    'cpu_ms.second other thread': sum(others.slice(1, 2)),
    'cpu_ms.the other threads': sum(others.slice(2)),
  };
}

/** The threads by role: main, the store's writer (it fsyncs), the store (the other busiest loop), the rest. */
function syscallsPerCommand(file: string, pid: number, commands: number): ProbeCounts {
  if (!existsSync(file)) return {};
  const byThread = new Map<string, Record<string, number>>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [thread, value, , event] = line.split(',');
    const count = Number(value);
    if (!thread || !event?.startsWith('syscalls:') || !Number.isFinite(count)) continue;
    const tid = thread.split('-').pop()!;
    const calls = byThread.get(tid) ?? {};
    calls[event.replace('syscalls:sys_enter_', '')] = count;
    byThread.set(tid, calls);
  }
  const wakeUps = (calls: Record<string, number>) => (calls.epoll_pwait ?? 0) + (calls.epoll_wait ?? 0);
  const others = [...byThread].filter(([tid]) => tid !== String(pid));
  const writer = others.find(([, calls]) => (calls.fsync ?? 0) + (calls.fdatasync ?? 0) > 0)?.[0];
  const store = others.filter(([tid]) => tid !== writer).sort(([, a], [, b]) => wakeUps(b) - wakeUps(a))[0]?.[0];
  const per: ProbeCounts = {};
  for (const [tid, calls] of byThread) {
    const role = tid === String(pid) ? 'main' : tid === writer ? 'store writer' : tid === store ? 'store' : 'other threads';
    for (const [name, count] of Object.entries(calls)) if (count > 0) per[`syscalls.${role}.${name}`] = (per[`syscalls.${role}.${name}`] ?? 0) + count / commands;
  }
  return per;
}

/** One line per count: each setup's value per round. */
export function printCounts(perSetup: Record<string, ProbeCounts[]>): void {
  const setups = Object.keys(perSetup).filter((setup) => perSetup[setup]!.length > 0);
  if (setups.length === 0) return;
  const keys = [...new Set(setups.flatMap((setup) => perSetup[setup]!.flatMap((counts) => Object.keys(counts))))].sort();
  const format = (value: number | undefined) => (value === undefined ? '-' : value >= 100 ? value.toFixed(0) : value.toFixed(2));
  console.log(`counts per command (window and its backlog), each round: ${setups.join(' | ')}`);
  for (const key of keys) console.log(`  ${key.padEnd(40)} ${setups.map((setup) => perSetup[setup]!.map((counts) => format(counts[key])).join(' / ')).join('  |  ')}`);
}

/** The probe's file for a run whose data dir is `dataDir` (beside it: removed with it by `removeCounts`). */
export const countsFileFor = (dataDir: string) => `${dataDir}.tracing-counts.json`;
export const removeCounts = (dataDir: string) => rmSync(countsFileFor(dataDir), { force: true });
