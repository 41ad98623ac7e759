// `npm run soak`: the crash soak (see run-soak.ts), loopback only, bounded in time.
// Env: SOAK_SECONDS (60) of load, SOAK_KILLS (4) SIGKILLs spread over it, SOAK_CONCURRENCY (8)
// lifecycles at once, SOAK_CATCH_UP_SECONDS (60) for the workers afterwards, SOAK_KEEP=1 keeps
// the data directory and service log (they are always kept when something failed),
// SOAK_EXTRA_WORKERS (0) ROLE=workers processes competing for the same groups.
import { formatSoakReport } from './soak-report.js';
import { runSoak } from './run-soak.js';

const number = (name: string, fallback: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) {
    console.error(`soak: ${name} must be a non-negative number (got '${raw}')`);
    process.exit(2);
  }
  return value;
};

const report = await runSoak({
  durationMs: number('SOAK_SECONDS', 60) * 1000,
  kills: Math.floor(number('SOAK_KILLS', 4)),
  concurrency: Math.max(1, Math.floor(number('SOAK_CONCURRENCY', 8))),
  catchUpTimeoutMs: number('SOAK_CATCH_UP_SECONDS', 60) * 1000,
  keep: process.env.SOAK_KEEP === '1',
  extraWorkers: Math.floor(number('SOAK_EXTRA_WORKERS', 0)),
  progress: (line) => console.log(`soak: ${line}`),
});
console.log(`\n${formatSoakReport(report)}`);
process.exit(report.violations.length ? 1 : 0);
