import { describe, expect, it } from 'vitest';
import { OrderTurns } from '../../../src/eventstore/order-state-cache.js';

const later = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
};

describe('turns of commands on one order', () => {
  it('runs the commands of one key one after the other, in the order they came', async () => {
    const turns = new OrderTurns();
    const log: string[] = [];
    const gate = later();
    const first = turns.run('order-1', async () => {
      log.push('first started');
      await gate.promise;
      log.push('first done');
    });
    const second = turns.run('order-1', async () => {
      log.push('second started');
    });
    await Promise.resolve();
    expect(log).toEqual(['first started']);
    gate.resolve();
    await Promise.all([first, second]);
    expect(log).toEqual(['first started', 'first done', 'second started']);
  });

  it('a failed command hands its error to its caller and the turn to the next', async () => {
    const turns = new OrderTurns();
    const failed = turns.run('order-1', async () => {
      throw new Error('refused');
    });
    const next = turns.run('order-1', async () => 'ran');
    await expect(failed).rejects.toThrow('refused');
    await expect(next).resolves.toBe('ran');
  });

  it('another key never waits for a key whose command is still running', async () => {
    const turns = new OrderTurns();
    const stuck = later();
    void turns.run('order-1', () => stuck.promise);
    await expect(turns.run('order-2', async () => 'not held up')).resolves.toBe('not held up');
    stuck.resolve();
  });

  it('keeps nothing once a key has no command running or waiting', async () => {
    const turns = new OrderTurns();
    await Promise.all(Array.from({ length: 5 }, (_, index) => turns.run(`order-${index % 2}`, async () => index)));
    await new Promise((resolve) => setImmediate(resolve));
    expect(turns.busy).toBe(0);
  });
});
