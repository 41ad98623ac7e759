// A one-line progress bar on stderr with rate and ETA. Drawn only on a terminal (a pipe or a log
// file gets the final summary alone) and at most every 100 ms, so it costs nothing per event.

export interface ProgressStep {
  /** Events processed so far. */
  events: number;
  /** Share of the work done, 0..1 (e.g. position reached / head position). */
  fraction: number;
}

export interface Progress {
  update(step: ProgressStep): void;
  /** Clears the bar. */
  finish(): void;
}

export interface ProgressOptions {
  label: string;
  stream?: NodeJS.WriteStream;
  now?: () => number;
}

const REDRAW_EVERY_MS = 100;
const BAR_WIDTH = 30;

export function createProgress({ label, stream = process.stderr, now = () => performance.now() }: ProgressOptions): Progress {
  if (!stream.isTTY) return { update: () => undefined, finish: () => undefined };
  const started = now();
  let lastDraw = -Infinity;
  let drawn = false;
  return {
    update(step) {
      const at = now();
      if (at - lastDraw < REDRAW_EVERY_MS) return;
      lastDraw = at;
      drawn = true;
      stream.write(`\r${renderProgressLine({ label, ...step, elapsedMs: at - started })}\x1b[K`);
    },
    finish() {
      if (drawn) stream.write('\r\x1b[K');
    },
  };
}

export function renderProgressLine({ label, events, fraction, elapsedMs }: ProgressStep & { label: string; elapsedMs: number }): string {
  const done = Math.max(0, Math.min(1, fraction));
  const filled = Math.round(done * BAR_WIDTH);
  const rate = elapsedMs > 0 ? (events * 1000) / elapsedMs : 0;
  const eta = done >= 1 ? '0s' : done > 0 ? formatDuration((elapsedMs * (1 - done)) / done) : '?';
  const percent = `${(done * 100).toFixed(0).padStart(3)}%`;
  return `${label} [${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${percent}  ${events.toLocaleString('en-US')} events  ${formatRate(rate)} events/s  ETA ${eta}`;
}

export function formatRate(perSecond: number): string {
  return Math.round(perSecond).toLocaleString('en-US');
}

export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}
