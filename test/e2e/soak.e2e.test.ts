// A short crash soak: `orders serve` under lifecycle load, killed with SIGKILL twice and restarted
// on the same data, with a second ROLE=workers process competing for the same groups (killed with
// the second kill). Everything acknowledged must be in the store, whole, and processed exactly
// once in effect by every handler and projection. `npm run soak` is the long version.
import { describe, expect, it } from 'vitest';
import { formatSoakReport } from '../soak/soak-report.js';
import { runSoak } from '../soak/run-soak.js';

describe('the service killed with SIGKILL under load', () => {
  it('loses no acknowledged command, tears no append, and its workers (in two processes) apply every event exactly once', async () => {
    const report = await runSoak({ durationMs: 12_000, kills: 2, concurrency: 4, catchUpTimeoutMs: 30_000, extraWorkers: 1 });

    expect(report.violations, formatSoakReport(report)).toEqual([]);
    // Two kills of the service, one of them with the workers process.
    expect(report.kills).toBe(3);
    expect(report.extraWorkerEvents).toHaveLength(1);
    expect(Number.isNaN(report.extraWorkerEvents[0])).toBe(false);
    // The soak proved something: commands were acknowledged across the kills and checked.
    expect(report.load.acks).toBeGreaterThan(20);
    expect(report.streams?.acksChecked).toBe(report.load.acks);
    expect(Object.values(report.workers?.handled ?? {}).every((handled) => handled > 0)).toBe(true);
    expect(Object.keys(report.workers?.parked ?? {}).length).toBeGreaterThan(0);
  }, 120_000);
});
