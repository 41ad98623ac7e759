// The one protocol between a benchmark and `npm run bench`: besides its human output, a bench
// prints each headline figure as a `BENCH {json}` line, which bench/run.ts collects into one table.
export const BENCH_LINE_PREFIX = 'BENCH ';

export interface BenchFigure {
  /** What was measured, e.g. 'order commands over HTTP'. */
  name: string;
  value: number;
  /** e.g. 'commands/s', 'ms', 'MB'. */
  unit: string;
  /** The same-run baseline, in the same unit. */
  baseline?: number;
  /** What the baseline is, e.g. 'bare fastify'. */
  baselineName?: string;
  /** value / baseline; computed when a baseline is given. */
  ratio?: number;
  /** `>= 1000` / `<= 50` on the value, or `>= 0.5x` on the ratio. */
  target?: string;
  /** Whether the target was met; computed from `target`. */
  met?: boolean;
}

/** Prints the figure for bench/run.ts and returns it completed (ratio, met). */
export function reportFigure(figure: BenchFigure): BenchFigure {
  const ratio = figure.ratio ?? (figure.baseline ? figure.value / figure.baseline : undefined);
  const completed: BenchFigure = { ...figure, ...(ratio !== undefined ? { ratio } : {}) };
  const met = figure.met ?? (figure.target ? meetsTarget(completed, figure.target) : undefined);
  if (met !== undefined) completed.met = met;
  console.log(`${BENCH_LINE_PREFIX}${JSON.stringify(completed)}`);
  return completed;
}

/** Undefined when the target cannot be read (it is then shown, not judged). */
export function meetsTarget(figure: Pick<BenchFigure, 'value' | 'ratio'>, target: string): boolean | undefined {
  const match = /^\s*(>=|<=|>|<)\s*(-?\d+(?:\.\d+)?)\s*(x?)\s*$/.exec(target);
  if (!match) return undefined;
  const [, op, limitText, onRatio] = match;
  const actual = onRatio ? figure.ratio : figure.value;
  if (actual === undefined) return undefined;
  const limit = Number(limitText);
  switch (op) {
    case '>=':
      return actual >= limit;
    case '<=':
      return actual <= limit;
    case '>':
      return actual > limit;
    default:
      return actual < limit;
  }
}

/** Reads a `BENCH {json}` line; undefined for any other line or a malformed figure. */
export function parseBenchLine(line: string): BenchFigure | undefined {
  if (!line.startsWith(BENCH_LINE_PREFIX)) return undefined;
  try {
    const parsed = JSON.parse(line.slice(BENCH_LINE_PREFIX.length)) as Partial<BenchFigure>;
    if (typeof parsed.name !== 'string' || typeof parsed.value !== 'number' || typeof parsed.unit !== 'string') return undefined;
    return parsed as BenchFigure;
  } catch {
    return undefined;
  }
}
