// A full garbage collection once a thread has gone idle after a busy spell (#11). V8 collects
// as it allocates: once the load stops, what the busy spell left behind (the main isolate's
// parsed event bodies, the store thread's ArrayBuffers of pages) stays uncollected for as long
// as nothing allocates, and the process keeps that memory. One full GC per busy-then-idle
// transition, when the heap (and what it holds outside itself) has grown since the last one, is
// cheap (tens of ms, on an idle thread) and rare. Each thread runs its own: a GC collects the
// isolate it runs in (the API's main thread, the embedded store's worker thread). After it, what
// the collection freed and glibc's arenas kept goes back to the OS (malloc-trim.ts).
import { performance } from 'node:perf_hooks';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { mallocTrim } from './malloc-trim.js';

export interface IdleGcOptions {
  /** How often the thread's event loop utilization is sampled (ms). */
  sampleMs?: number;
  /** A sample at or above this utilization makes the thread busy. */
  busyUtilization?: number;
  /** A sample below this utilization counts as idle. */
  idleUtilization?: number;
  /** Consecutive idle samples after a busy spell before collecting. */
  idleSamples?: number;
  /** Collect only when the heap plus external memory grew this much since the last collection. */
  minGrowthBytes?: number;
  /** Give the C library's free memory back to the OS after the collection (malloc-trim.ts); default true. */
  trim?: boolean;
  /** Told after each collection (for a log line). */
  onCollect?: (figures: IdleGcFigures) => void;
}

export interface IdleGcFigures {
  /** Heap used plus external memory, before and after. */
  beforeBytes: number;
  afterBytes: number;
  /** The process's resident set, before the collection and after it and the trim. */
  rssBeforeBytes: number;
  rssAfterBytes: number;
  /** Whether malloc_trim gave memory back (glibc only). */
  trimmed: boolean;
  durationMs: number;
}

export interface IdleGc {
  stop(): void;
  /** Collections made so far. */
  readonly collections: number;
}

// Idle for a second (two samples of 500 ms) before collecting: after an overload the workers'
// catch-up leaves 50-100 MB of promoted garbage in the main heap, and with three samples of a
// second the collection came just after the overload bench's "10 s after" reading (419 MB where
// 321 once collected). Still one collection per busy-then-idle transition.
const DEFAULTS = { sampleMs: 500, busyUtilization: 0.3, idleUtilization: 0.05, idleSamples: 2, minGrowthBytes: 32 * 2 ** 20, trim: true };

let exposedGc: (() => void) | undefined;

/** V8's gc(), without --expose-gc on the command line: the flag set at run time exposes it in new contexts. */
export function fullGc(): () => void {
  if (exposedGc) return exposedGc;
  const global = (globalThis as { gc?: () => void }).gc;
  if (typeof global === 'function') return (exposedGc = global);
  setFlagsFromString('--expose-gc');
  return (exposedGc = runInNewContext('gc') as () => void);
}

const heldBytes = () => {
  const stats = getHeapStatistics();
  return stats.used_heap_size + stats.external_memory;
};

/**
 * A full collection that frees what it found before it returns, then `malloc_trim`. V8 frees the
 * backing stores of dead ArrayBuffers (Buffers: event bodies, pages) on a background thread after
 * a collection, not within it: a trim made right after `gc()` found them still allocated and gave
 * back nothing (seen: 0 of 150 MB, 1 run in 2; CI failed on it). For this one collection the
 * sweep runs in it (V8's --no-concurrent-array-buffer-sweeping, set back at once): the thread is
 * idle, nothing waits on it.
 */
export function collect(gc: () => void, trim: (() => boolean) | undefined): Pick<IdleGcFigures, 'rssBeforeBytes' | 'rssAfterBytes' | 'trimmed' | 'durationMs'> {
  const started = performance.now();
  const rssBeforeBytes = process.memoryUsage.rss();
  setFlagsFromString('--no-concurrent-array-buffer-sweeping');
  try {
    gc();
  } finally {
    setFlagsFromString('--concurrent-array-buffer-sweeping');
  }
  const trimmed = trim?.() ?? false;
  return { rssBeforeBytes, rssAfterBytes: process.memoryUsage.rss(), trimmed, durationMs: performance.now() - started };
}

/** On unless IDLE_GC=off (for a same-build comparison, or a process that must never pause for it). */
export function idleGcEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.IDLE_GC !== 'off';
}

export function startIdleGc(options: IdleGcOptions = {}): IdleGc {
  const settings = { ...DEFAULTS, ...options };
  const gc = fullGc();
  const trim = settings.trim ? mallocTrim() : undefined;
  let last = performance.eventLoopUtilization();
  let busy = false;
  let idle = 0;
  let baseline = heldBytes();
  let collections = 0;
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const utilization = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    if (utilization >= settings.busyUtilization) {
      busy = true;
      idle = 0;
      return;
    }
    if (utilization >= settings.idleUtilization) {
      idle = 0;
      return;
    }
    if (!busy || ++idle < settings.idleSamples) return;
    busy = false;
    idle = 0;
    const beforeBytes = heldBytes();
    if (beforeBytes - baseline < settings.minGrowthBytes) return;
    const figures = collect(gc, trim);
    collections++;
    baseline = heldBytes();
    settings.onCollect?.({ beforeBytes, afterBytes: baseline, ...figures });
    // The collection's own time is not the next sample's load.
    last = performance.eventLoopUtilization();
  }, settings.sampleMs);
  timer.unref();
  return {
    stop: () => clearInterval(timer),
    get collections() {
      return collections;
    },
  };
}
