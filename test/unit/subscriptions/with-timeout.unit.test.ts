import { describe, expect, it } from 'vitest';
import { withTimeout } from '../../../src/subscriptions/with-timeout.js';
import { HandlerTimeoutError } from '../../../src/subscriptions/errors.js';

describe('bounding a handler call in time', () => {
  it('rejects with HandlerTimeoutError and aborts the signal when the handler runs over', async () => {
    let seen: AbortSignal | undefined;
    const call = withTimeout('slow', 20, (signal) => {
      seen = signal;
      return new Promise(() => undefined);
    });
    await expect(call).rejects.toBeInstanceOf(HandlerTimeoutError);
    await expect(call).rejects.toThrow('slow did not finish within 20 ms');
    expect(seen?.aborted).toBe(true);
  });

  it('passes results and errors through, sync or async, and starts the handler at once', async () => {
    const order: string[] = [];
    const call = withTimeout('fast', 1_000, () => {
      order.push('started');
      return 42;
    });
    order.push('after call');
    await expect(call).resolves.toBe(42);
    expect(order).toEqual(['started', 'after call']);
    await expect(withTimeout('sync-throw', 1_000, () => { throw new Error('bad'); })).rejects.toThrow('bad');
  });
});
