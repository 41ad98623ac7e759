// A one-line progress bar on stderr with rate and ETA. Drawn only on a terminal (a pipe or a log
// file gets the final summary alone) and at most every 100 ms, so it costs nothing per event.

export interface Progress {
  /** `done` events so far; cheap to call for every event. */
  update(done: number): void;
  /** Clears the bar. */
  finish(): void;
}

export interface ProgressOptions {
  total: number;
  label: string;
  stream?: NodeJS.WriteStream;
  now?: () => number;
}

const REDRAW_EVERY_MS = 100;
const BAR_WIDTH = 30;

export function createProgress({ total, label, stream = process.stderr, now = () => performance.now() }: ProgressOptions): Progress {
  if (!stream.isTTY) return { update: () => undefined, finish: () => undefined };
  const started = now();
  let lastDraw = -Infinity;
  let drawn = false;
  return {
    update(done) {
      const at = now();
      if (at - lastDraw < REDRAW_EVERY_MS) return;
      lastDraw = at;
      drawn = true;
      stream.write(`\r${renderProgressLine({ label, done, total, elapsedMs: at - started })}\x1b[K`);
    },
    finish() {
      if (drawn) stream.write('\r\x1b[K');
    },
  };
}

export function renderProgressLine({ label, done, total, elapsedMs }: { label: string; done: number; total: number; elapsedMs: number }): string {
  const fraction = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(fraction * BAR_WIDTH);
  const rate = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;
  const eta = rate > 0 && total > done ? formatDuration(((total - done) / rate) * 1000) : total > done ? '?' : '0s';
  const percent = `${(fraction * 100).toFixed(0).padStart(3)}%`;
  return `${label} [${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${percent} ${done}/${total} events  ${formatRate(rate)} events/s  ETA ${eta}`;
}

export function formatRate(perSecond: number): string {
  return Math.round(perSecond).toLocaleString('en-US');
}

export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}
