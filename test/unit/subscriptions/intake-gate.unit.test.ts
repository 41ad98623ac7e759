import { describe, expect, it, vi } from 'vitest';
import { IntakeGate, NARROW_IN_FLIGHT } from '../../../src/subscriptions/intake-gate.js';

/** A gate on a clock the test moves; check() stands in for its timer. */
function gateAt(times = { holdMs: 1_000, maxClosedMs: 5_000, minOpenMs: 1_000 }) {
  let now = 0;
  const gate = new IntakeGate(times, () => now);
  const changes: boolean[] = [];
  gate.onChange((open) => changes.push(open));
  return {
    gate,
    changes,
    at(ms: number) {
      now = ms;
      gate.check();
    },
  };
}

describe('the workers\' intake gate', () => {
  it('is open while nothing is shed', () => {
    const { gate, changes } = gateAt();
    expect(gate.open).toBe(true);
    expect(changes).toEqual([]);
  });

  it('closes on a shed request and opens again once nothing was shed for holdMs', () => {
    const { gate, changes, at } = gateAt();
    gate.pressure();
    expect(gate.open).toBe(false);
    at(600);
    gate.pressure();
    at(1_500);
    expect(gate.open).toBe(false);
    at(1_600);
    expect(gate.open).toBe(true);
    expect(changes).toEqual([false, true]);
  });

  it('never stays closed longer than maxClosedMs, then stays open minOpenMs however much is shed', () => {
    const { gate, changes, at } = gateAt();
    for (let ms = 0; ms < 5_000; ms += 100) {
      at(ms);
      gate.pressure();
    }
    expect(gate.open).toBe(false);
    at(5_000);
    expect(gate.open).toBe(true);
    // Shedding goes on: the workers get their turn first.
    for (let ms = 5_000; ms < 6_000; ms += 100) {
      at(ms);
      gate.pressure();
      expect(gate.open).toBe(true);
    }
    at(6_000);
    gate.pressure();
    expect(gate.open).toBe(false);
    expect(changes).toEqual([false, true, false]);
  });

  it('opened by maxClosedMs while shedding goes on, lets each group take only a few events at a time; fully open once nothing was shed for holdMs', () => {
    const { gate, changes, at } = gateAt();
    expect(gate.limit(16)).toBe(16);
    for (let ms = 0; ms < 5_000; ms += 100) {
      at(ms);
      gate.pressure();
    }
    expect(gate.limit(16)).toBe(0);
    at(5_000);
    expect(gate.open).toBe(true);
    expect(gate.narrow).toBe(true);
    expect(gate.limit(16)).toBe(NARROW_IN_FLIGHT);
    expect(gate.limit(1)).toBe(1);
    at(5_500);
    gate.pressure();
    at(6_400);
    expect(gate.narrow).toBe(true);
    at(6_500);
    expect(gate.narrow).toBe(false);
    expect(gate.limit(16)).toBe(16);
    // Every change is told: closed, narrowly open, fully open.
    expect(changes).toEqual([false, true, true]);
  });

  it('opened because the shedding stopped, is fully open at once', () => {
    const { gate, at } = gateAt();
    gate.pressure();
    at(1_000);
    expect(gate.open).toBe(true);
    expect(gate.narrow).toBe(false);
    expect(gate.limit(16)).toBe(16);
  });

  it('widens by its own timer once the shedding stops while narrowly open', () => {
    vi.useFakeTimers();
    try {
      const gate = new IntakeGate({ holdMs: 1_000, maxClosedMs: 5_000, minOpenMs: 1_000 }, () => Date.now());
      for (let ms = 0; ms <= 5_500; ms += 100) {
        gate.pressure();
        vi.advanceTimersByTime(100);
      }
      expect(gate.narrow).toBe(true);
      vi.advanceTimersByTime(900);
      expect(gate.narrow).toBe(false);
      expect(gate.open).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it('opens by its own timer when the shedding stops', async () => {
    const gate = new IntakeGate({ holdMs: 20, maxClosedMs: 1_000, minOpenMs: 0 });
    const opened = new Promise<boolean>((resolve) => gate.onChange((open) => open && resolve(open)));
    gate.pressure();
    expect(gate.open).toBe(false);
    await expect(opened).resolves.toBe(true);
    expect(gate.open).toBe(true);
  });

  it('tells a listener nothing once it unsubscribed', () => {
    const gate = new IntakeGate();
    const seen: boolean[] = [];
    const leave = gate.onChange((open) => seen.push(open));
    leave();
    gate.pressure();
    expect(seen).toEqual([]);
  });
});
