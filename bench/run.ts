// `npm run bench [name-filter]`: runs every bench/*.bench.ts in its own process, one after
// the other, so one benchmark's memory and timers never skew another's figures. Each bench's
// `BENCH {json}` lines (bench/report.ts) are gathered into one table, printed at the end and
// written to bench/results/latest.json.
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseBenchLine, type BenchFigure } from './report.js';

interface BenchRun {
  file: string;
  exitCode: number | null;
  seconds: number;
  figures: BenchFigure[];
}

const here = dirname(fileURLToPath(import.meta.url));
const filter = process.argv[2];
const files = readdirSync(here)
  .filter((file) => file.endsWith('.bench.ts'))
  .filter((file) => !filter || file.includes(filter))
  .sort();

if (files.length === 0) {
  console.error(`bench: no benchmark matches '${filter ?? ''}'`);
  process.exit(2);
}

const startedAt = new Date();
const runs: BenchRun[] = [];
for (const file of files) {
  console.log(`\n=== ${file}`);
  runs.push(await runBench(file));
}

const resultsFile = join(here, 'results', 'latest.json');
mkdirSync(dirname(resultsFile), { recursive: true });
writeFileSync(
  resultsFile,
  `${JSON.stringify(
    {
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      filter: filter ?? null,
      machine: { node: process.version, platform: process.platform, cpus: availableParallelism(), cpuModel: cpus()[0]?.model ?? 'unknown' },
      benches: runs.map(({ file, exitCode, seconds, figures }) => ({ file, exitCode, seconds: Number(seconds.toFixed(1)), figures: figures.length })),
      figures: runs.flatMap((run) => run.figures.map((figure) => ({ bench: benchName(run.file), ...figure }))),
    },
    null,
    2,
  )}\n`,
);

console.log(`\n=== summary (${relative(process.cwd(), resultsFile)})\n`);
console.log(summaryTable(runs));
const failed = runs.filter((run) => run.exitCode !== 0);
for (const run of failed) console.log(`${run.file} FAILED (exit ${run.exitCode ?? 'by signal'})`);
process.exit(failed.length ? 1 : 0);

/** Runs one bench, passing its human output through and keeping its figures. */
function runBench(file: string): Promise<BenchRun> {
  const started = performance.now();
  const figures: BenchFigure[] = [];
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', join(here, file)], { stdio: ['inherit', 'pipe', 'inherit'] });
  createInterface({ input: child.stdout }).on('line', (line) => {
    const figure = parseBenchLine(line);
    if (figure) figures.push(figure);
    else console.log(line);
  });
  return new Promise((resolve) => {
    child.on('close', (code) => resolve({ file, exitCode: code, seconds: (performance.now() - started) / 1000, figures }));
  });
}

function benchName(file: string): string {
  return file.replace(/\.bench\.ts$/, '');
}

function summaryTable(benches: BenchRun[]): string {
  const header = ['bench', 'figure', 'value', 'baseline', 'ratio', 'target'];
  const rows = benches.flatMap((run) => {
    if (run.figures.length === 0) return [[benchName(run.file), run.exitCode === 0 ? '(reported no figures)' : '(failed)', '', '', '', '']];
    return run.figures.map((figure) => [
      benchName(run.file),
      figure.name,
      `${formatNumber(figure.value)} ${figure.unit}`,
      figure.baseline === undefined ? '' : `${formatNumber(figure.baseline)}${figure.baselineName ? ` (${figure.baselineName})` : ''}`,
      figure.ratio === undefined ? '' : `${figure.ratio.toFixed(figure.ratio < 10 ? 2 : 1)}x`,
      figure.target === undefined ? '' : `${figure.target} ${figure.met === undefined ? '' : figure.met ? 'met' : 'MISSED'}`.trim(),
    ]);
  });
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (column === 2 || column === 4 ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}

function formatNumber(value: number): string {
  const abs = Math.abs(value);
  const digits = abs >= 1000 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}
