// Child processes of the benchmarks: the service or the store in its own process, as deployed,
// so the load generator in the bench process does not take their CPU.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * How a service is started: this checkout's (`otherBin` undefined) runs the build the tests use
 * when the bench made one (test/helpers/global-build.ts sets ORDERS_DIST_DIR: compiled
 * JavaScript, as `npm start` runs), else its sources through tsx; another checkout's bin runs
 * that checkout's own dist/, or its sources when it has none.
 */
export function checkoutEnv(otherBin: string | undefined): NodeJS.ProcessEnv {
  if (!otherBin) return { ORDERS_FROM_SOURCE: '1' };
  const dist = join(dirname(otherBin), '..', 'dist');
  return existsSync(join(dist, 'src', 'cli', 'main.js')) ? { ORDERS_DIST_DIR: dist, ORDERS_FROM_SOURCE: '0' } : { ORDERS_DIST_DIR: '', ORDERS_FROM_SOURCE: '1' };
}

/** Starts `node <args>` and resolves once its stdout matches `pattern`. */
export function startChild(args: string[], childEnv: NodeJS.ProcessEnv, pattern: RegExp): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...childEnv }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let output = '';
    child.once('exit', (code) => reject(new Error(`child exited early with ${code}: ${output}`)));
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      const match = output.match(pattern);
      if (match) resolve({ child, match });
    });
  });
}

/** SIGTERM, and wait for the exit. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** CPU seconds (user + system, all threads) a process has used so far, from /proc; NaN elsewhere. */
export function cpuSecondsOf(pid: number | undefined): number {
  if (pid === undefined || pid === 0) return Number.NaN;
  try {
    return cpuSecondsIn(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return Number.NaN;
  }
}

/** User + system CPU seconds of a /proc `stat` line (a process's or a thread's). */
function cpuSecondsIn(stat: string): number {
  // Fields after the command name (which may hold spaces and parentheses): utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export interface ThreadCpu {
  tid: number;
  name: string;
  cpuSeconds: number;
}

/** Each thread's name and CPU seconds so far (Linux /proc; empty elsewhere). */
export function threadCpu(pid: number | undefined): ThreadCpu[] {
  try {
    return readdirSync(`/proc/${pid}/task`).map((tid) => {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      return { tid: Number(tid), name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(') ')), cpuSeconds: cpuSecondsIn(stat) };
    });
  } catch {
    return [];
  }
}

/**
 * The service's memory by kind, from its /metrics (the API thread's V8 heap used and reserved,
 * external and array buffers, and the rest of the RSS: the store's thread, SQLite, malloc).
 */
export async function memoryOf(port: number): Promise<string> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text().catch(() => '');
  const value = (name: string) => Number(new RegExp(`^${name} ([\\d.e+]+)`, 'm').exec(text)?.[1] ?? Number.NaN) / 2 ** 20;
  const rss = value('process_resident_memory_bytes');
  const heapTotal = value('nodejs_heap_size_total_bytes');
  const external = value('nodejs_external_memory_bytes');
  const mb = (n: number) => n.toFixed(0);
  return `rss ${mb(rss)}, heap used ${mb(value('nodejs_heap_size_used_bytes'))} of ${mb(heapTotal)}, external ${mb(external)}, other ${mb(rss - heapTotal - external)}`;
}

/** The RSS by kind from /proc (anonymous: heaps, malloc, buffers; file: the mapped code and libraries). */
export function residentOf(pid: number | undefined): string {
  const status = (() => {
    try {
      return readFileSync(`/proc/${pid}/status`, 'utf8');
    } catch {
      return '';
    }
  })();
  const mb = (name: string) => (Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) / 1024).toFixed(0);
  return `RssAnon ${mb('RssAnon')}, RssFile ${mb('RssFile')}`;
}
