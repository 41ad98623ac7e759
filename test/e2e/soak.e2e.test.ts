// A short crash soak: `orders serve` under lifecycle load, killed with SIGKILL twice and restarted
// on the same data. Everything acknowledged must be in the store, whole, and processed exactly
// once in effect by every handler and projection. `npm run soak` is the long version.
import { describe, expect, it } from 'vitest';
import { formatSoakReport } from '../soak/soak-report.js';
import { runSoak } from '../soak/run-soak.js';

describe('the service killed with SIGKILL under load', () => {
  it('loses no acknowledged command, tears no append, and its workers apply every event exactly once', async () => {
    const report = await runSoak({ durationMs: 12_000, kills: 2, concurrency: 4, catchUpTimeoutMs: 30_000 });

    expect(report.violations, formatSoakReport(report)).toEqual([]);
    expect(report.kills).toBe(2);
    // The soak proved something: commands were acknowledged across the kills and checked.
    expect(report.load.acks).toBeGreaterThan(20);
    expect(report.streams?.acksChecked).toBe(report.load.acks);
    expect(Object.values(report.workers?.handled ?? {}).every((handled) => handled > 0)).toBe(true);
    expect(Object.keys(report.workers?.parked ?? {}).length).toBeGreaterThan(0);
  }, 120_000);
});
