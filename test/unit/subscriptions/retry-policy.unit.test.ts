import { describe, expect, it } from 'vitest';
import { decideOnFailure, DEFAULT_RETRY_POLICY, type RetryPolicy } from '../../../src/subscriptions/retry-policy.js';
import { PermanentHandlerError } from '../../../src/subscriptions/errors.js';
import { OutOfOrderEventError } from '../../../src/readmodels/apply-projection.js';
import { EventSchemaError } from '../../../src/orders/events.js';

const policy: RetryPolicy = { maxRetries: 3, baseDelayMs: 100, maxDelayMs: 1_000, outOfOrderMaxRetries: 5, outOfOrderDelayMs: 10 };
const noJitter = () => 1;

describe('the retry policy', () => {
  it('retries a transient failure with exponentially growing delays, capped', () => {
    const delays = [0, 1, 2, 3].map((retries) => decideOnFailure(new Error('down'), retries, { ...policy, maxRetries: 10 }, noJitter));
    expect(delays.map((decision) => (decision.action === 'retry' ? decision.delayMs : -1))).toEqual([100, 200, 400, 800]);
    const late = decideOnFailure(new Error('down'), 8, { ...policy, maxRetries: 10 }, noJitter);
    expect(late).toMatchObject({ action: 'retry', delayMs: 1_000 });
  });

  it('jitters each delay within the upper half of its step', () => {
    expect(decideOnFailure(new Error('x'), 2, policy, () => 0)).toMatchObject({ delayMs: 200 });
    expect(decideOnFailure(new Error('x'), 2, policy, () => 0.5)).toMatchObject({ delayMs: 300 });
  });

  it('parks once the retries are used up, with the error in the reason', () => {
    const decision = decideOnFailure(new TypeError('cannot read x'), 3, policy);
    expect(decision).toEqual({ action: 'park', reason: 'failed 4 times: TypeError: cannot read x' });
  });

  it('parks at once what retrying cannot fix', () => {
    expect(decideOnFailure(new PermanentHandlerError('HTTP 400'), 0, policy)).toEqual({ action: 'park', reason: 'PermanentHandlerError: HTTP 400' });
    expect(decideOnFailure(new EventSchemaError('order.created', ['total: required']), 0, policy).action).toBe('park');
  });

  it('lets an early event wait for its predecessor on its own, longer budget', () => {
    const early = new OutOfOrderEventError('order-1', 3, 1);
    expect(decideOnFailure(early, 4, policy)).toMatchObject({ action: 'retry', delayMs: 50 });
    expect(decideOnFailure(early, 5, policy)).toMatchObject({ action: 'park' });
    expect(decideOnFailure(early, 0, DEFAULT_RETRY_POLICY).action).toBe('retry');
  });
});
