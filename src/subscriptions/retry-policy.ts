// What to do with an event whose processing failed: retry after a delay, or park it.
// Pure, so the schedule is unit-tested without a server.
import { EventSchemaError } from '../orders/events.js';
import { OutOfOrderEventError } from '../readmodels/apply-projection.js';
import { PermanentHandlerError, errorMessage } from './errors.js';
import { isInfrastructureFault } from '../readmodels/read-model-health.js';

export interface RetryPolicy {
  /** Failed attempts retried before the event is parked (so maxRetries + 1 attempts in all). */
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** An early event waits for its predecessor this many times before it is parked. */
  outOfOrderMaxRetries: number;
  outOfOrderDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxRetries: 5,
  baseDelayMs: 100,
  maxDelayMs: 5_000,
  outOfOrderMaxRetries: 200,
  outOfOrderDelayMs: 10,
};

export type FailureDecision = { action: 'retry'; delayMs: number; reason: string } | { action: 'park'; reason: string };

/** `retries`: how many times this event was already retried. `random` in [0, 1) adds jitter. */
export function decideOnFailure(error: unknown, retries: number, policy: RetryPolicy, random: () => number = Math.random): FailureDecision {
  const reason = errorMessage(error);
  if (error instanceof PermanentHandlerError || error instanceof EventSchemaError) return { action: 'park', reason };
  if (error instanceof OutOfOrderEventError) {
    if (retries >= policy.outOfOrderMaxRetries) return { action: 'park', reason: `gave up waiting: ${reason}` };
    // Its predecessor is usually in flight right now: wait briefly, growing slowly to 20x.
    const delayMs = Math.min(policy.outOfOrderDelayMs * (1 + retries), policy.outOfOrderDelayMs * 20);
    return { action: 'retry', delayMs, reason };
  }
  // A full disk, a read model being rebuilt, a store out of reach: nothing is wrong with the
  // event, so it is never parked for it; it waits (backoff capped at maxDelayMs) until the fault
  // heals. (The group's server-side maxRetryCount stays the last safety net.)
  if (isInfrastructureFault(error)) {
    const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(retries, 20));
    return { action: 'retry', delayMs: Math.round(exponential / 2 + (exponential / 2) * random()), reason };
  }
  if (retries >= policy.maxRetries) return { action: 'park', reason: `failed ${retries + 1} times: ${reason}` };
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retries);
  // Full jitter over the upper half, so competing workers do not retry in lock step.
  const delayMs = Math.round(exponential / 2 + (exponential / 2) * random());
  return { action: 'retry', delayMs, reason };
}
