import { describe, expect, it } from 'vitest';
import { loopDelay } from '../../../src/observability/loop-delay.js';

/** Keeps every turn of the loop busy for turnMs until `until`, then lets it go idle. */
function busyTurns(turnMs: number, forMs: number): Promise<void> {
  const until = performance.now() + forMs;
  return new Promise((resolve) => {
    const turn = () => {
      const end = performance.now() + turnMs;
      while (performance.now() < end);
      if (performance.now() < until) setImmediate(turn);
      else resolve();
    };
    setImmediate(turn);
  });
}

describe("the event loop's recent delay", () => {
  it('reads 0 until started', () => {
    expect(loopDelay.ms).toBe(0);
  });

  // Overload's long turns (300-460 ms) are longer than the quarter-second sample: a histogram
  // reset every sample never saw two of its ticks in one, and the reading stayed 0 exactly then.
  it('shows turns longer than its sample while they last', async () => {
    loopDelay.start();
    await busyTurns(400, 2_000);
    expect(loopDelay.ms).toBeGreaterThanOrEqual(250);
  });

  it('falls back once the loop is idle again', async () => {
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(loopDelay.ms).toBeLessThan(100);
  });
});
