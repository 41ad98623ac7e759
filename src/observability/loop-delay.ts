// How long the event loop's turns have recently been, for code that must allow for them: the
// worst delay of the last quarter second, less the sampling resolution. Started by whoever needs
// it (the API's load shedding with a latency budget); read as 0 until then, so a process that
// never starts it pays for no timer.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

const RESOLUTION_MS = 10;
const SAMPLE_MS = 250;
let recentMs = 0;
let histogram: IntervalHistogram | undefined;

export const loopDelay = {
  start(): void {
    if (histogram) return;
    histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    histogram.enable();
    let lastSampleAt = performance.now();
    const timer = setInterval(() => {
      // The worst of the last quarter second: what a request arriving now may have waited. The
      // histogram records a delay between two of its ticks, and a reset forgets the last tick:
      // where a turn lasts longer than the sample (overload: 300-460 ms) it has none to show yet,
      // so it is kept until it has (the turn's delay comes with the next tick), and meanwhile
      // the reading stays as it was, or this timer's own lateness where that is more.
      const now = performance.now();
      const lateMs = now - lastSampleAt - SAMPLE_MS;
      lastSampleAt = now;
      if (histogram!.count === 0) {
        recentMs = Math.max(recentMs, lateMs);
        return;
      }
      recentMs = Math.max(0, histogram!.max / 1e6 - RESOLUTION_MS, lateMs);
      histogram!.reset();
    }, SAMPLE_MS);
    timer.unref();
  },
  /** The recent worst delay, ms; 0 when not started. */
  get ms(): number {
    return recentMs;
  },
};
