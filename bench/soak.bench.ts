// The crash soak's throughput: acknowledged order commands per second over HTTP while the
// service is killed with SIGKILL and restarted, as a ratio to the same load without kills in
// the same run. Both runs are verified like `npm run soak`; a violation fails the bench.
// Env: SOAK_BENCH_SECONDS (20) per run, SOAK_BENCH_KILLS (2), SOAK_BENCH_CONCURRENCY (8).
import { formatSoakReport } from '../test/soak/soak-report.js';
import { runSoak, type SoakReport } from '../test/soak/run-soak.js';
import { reportFigure } from './report.js';

const SECONDS = Number(process.env.SOAK_BENCH_SECONDS ?? 20);
const KILLS = Number(process.env.SOAK_BENCH_KILLS ?? 2);
const CONCURRENCY = Number(process.env.SOAK_BENCH_CONCURRENCY ?? 8);

async function soak(kills: number): Promise<SoakReport> {
  const report = await runSoak({ durationMs: SECONDS * 1000, kills, concurrency: CONCURRENCY, catchUpTimeoutMs: 60_000 });
  console.log(`\n--- ${kills} kills\n${formatSoakReport(report)}`);
  return report;
}

const calm = await soak(0);
const killed = await soak(KILLS);

const restarts = killed.startTimesMs.slice(1);
const meanRestart = restarts.reduce((sum, ms) => sum + ms, 0) / Math.max(1, restarts.length);
console.log(`\n${SECONDS} s of load per run, ${CONCURRENCY} lifecycles at once`);
console.log(`no kills (baseline)   ${calm.ackedCommandsPerSecond.toFixed(1).padStart(8)} acked commands/s`);
console.log(`${KILLS} SIGKILLs           ${killed.ackedCommandsPerSecond.toFixed(1).padStart(8)} acked commands/s   ${(killed.ackedCommandsPerSecond / calm.ackedCommandsPerSecond).toFixed(2)}x baseline`);
console.log(`restart to ready      ${meanRestart.toFixed(0).padStart(8)} ms (first start ${killed.startTimesMs[0] ?? 0} ms)`);

reportFigure({
  name: `soak: acked commands with ${KILLS} SIGKILLs in ${SECONDS} s`,
  value: killed.ackedCommandsPerSecond,
  unit: 'commands/s',
  baseline: calm.ackedCommandsPerSecond,
  baselineName: 'same load, no kills',
});
reportFigure({ name: 'soak: restart after SIGKILL to ready', value: meanRestart, unit: 'ms', baseline: killed.startTimesMs[0] ?? 0, baselineName: 'first start' });
reportFigure({ name: 'soak: workers catch-up after the load', value: killed.workers?.catchUpSeconds ?? 0, unit: 's' });

if (calm.violations.length || killed.violations.length) {
  console.error('soak bench: the soak found violations (listed above)');
  process.exit(1);
}
