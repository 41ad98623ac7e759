import { describe, expect, it, vi } from 'vitest';
import { startIdleGc, type IdleGcFigures } from '../../../src/observability/idle-gc.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Keeps the event loop busy for `ms`, and until `keep` holds `objects` (the busy spell of a
 * burst): the heap grows by the same ~40 MB however little CPU a loaded machine gives the spell
 * (CI's failure: a spell that got a fraction of a core, and a scavenge at its end, grew it less
 * than the collection's threshold).
 */
async function busySpell(ms: number, keep: unknown[], objects = 300_000): Promise<void> {
  const until = performance.now() + ms;
  while (performance.now() < until || keep.length < objects) {
    const spin = performance.now() + 15;
    while (performance.now() < spin) keep.push({ body: 'x'.repeat(64) + String(Math.random()) });
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('the idle full GC', () => {
  it('collects once after a busy spell that grew the heap, when the thread has gone idle, and not again while it stays idle', async () => {
    const collected: IdleGcFigures[] = [];
    const idleGc = startIdleGc({ sampleMs: 50, idleSamples: 3, minGrowthBytes: 4 * 2 ** 20, onCollect: (figures) => collected.push(figures) });
    try {
      const garbage: unknown[] = [];
      await busySpell(600, garbage);
      garbage.length = 0;
      expect(idleGc.collections).toBe(0);
      // Three idle samples of 50 ms after the spell; a machine busy with other test files delays them.
      await vi.waitFor(() => expect(idleGc.collections).toBe(1), { timeout: 5_000, interval: 50 });
      expect(collected[0]!.afterBytes).toBeLessThan(collected[0]!.beforeBytes);
      await sleep(400);
      expect(idleGc.collections).toBe(1);
    } finally {
      idleGc.stop();
    }
  });

  it('does not collect after a busy spell that left the heap as it was', async () => {
    const idleGc = startIdleGc({ sampleMs: 50, idleSamples: 3, minGrowthBytes: 2 ** 30 });
    try {
      await busySpell(400, []);
      await sleep(500);
      expect(idleGc.collections).toBe(0);
    } finally {
      idleGc.stop();
    }
  });
});
