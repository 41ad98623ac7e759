import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { limitHeapGrowth } from '../../../src/observability/heap-growth.js';

const moduleUrl = new URL('../../../src/observability/heap-growth.ts', import.meta.url).href;

/**
 * Full (mark-compact) collections in a fresh Node process that sets the growing percent the way
 * the service does and then promotes ~100 MB of short-lived garbage over ~15 MB live: a count, not a time.
 */
function fullCollections(percent: number): number {
  const script = `
    const { limitHeapGrowth } = await import(${JSON.stringify(moduleUrl)});
    limitHeapGrowth(${percent});
    const live = Array.from({ length: 200_000 }, (_, i) => ({ i, s: 'x'.repeat(50) + i }));
    const ring = new Array(300_000);
    for (let i = 0; i < 6_000_000; i++) ring[i % ring.length] = { i, s: 'item-' + i, a: [i, i + 1] };
    if (live.length !== 200_000) throw new Error('unreachable');
  `;
  const child = spawnSync(process.execPath, ['--trace-gc', '--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: fileURLToPath(new URL('../../..', import.meta.url)),
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(child.status, child.stderr).toBe(0);
  return child.stdout.split('\n').filter((line) => line.includes('Mark-Compact')).length;
}

describe('the heap growing limit', () => {
  it('set at run time, makes V8 collect the old generation sooner: more full collections for the same garbage than its own factor', () => {
    const ownFactor = fullCollections(0);
    const limited = fullCollections(50);
    expect(limited).toBeGreaterThanOrEqual(2 * Math.max(1, ownFactor));
  });

  it('refuses a negative or fractional percent', () => {
    expect(() => limitHeapGrowth(-1)).toThrow(RangeError);
    expect(() => limitHeapGrowth(1.5)).toThrow(RangeError);
  });
});
