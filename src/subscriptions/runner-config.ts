// Runner knobs from the environment; every one has a default.
import { z } from 'zod';
import { DEFAULT_RUNNER_OPTIONS, type RunnerOptions } from './runner.js';

const positive = (fallback: number) => z.coerce.number({ error: 'must be a number' }).int('must be a whole number').positive('must be positive').default(fallback);
const d = DEFAULT_RUNNER_OPTIONS;

const environment = z.object({
  SUBSCRIPTION_GROUP_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'must be letters, digits, _ . -').default(d.groupPrefix),
  HANDLER_TIMEOUT_MS: positive(d.handlerTimeoutMs),
  HANDLER_MAX_IN_FLIGHT: positive(d.handlerMaxInFlight),
  HANDLER_MAX_RETRIES: z.coerce.number({ error: 'must be a number' }).int().min(0, 'must be 0 or more').default(d.retry.maxRetries),
  HANDLER_RETRY_BASE_MS: positive(d.retry.baseDelayMs),
  HANDLER_RETRY_MAX_MS: positive(d.retry.maxDelayMs),
  PROJECTION_MAX_IN_FLIGHT: positive(d.projectionMaxInFlight),
  SUBSCRIPTION_MESSAGE_TIMEOUT_MS: positive(d.messageTimeoutMs),
  PROJECTION_BOOTSTRAP: z.enum(['read', 'group'], { error: "must be 'read' or 'group'" }).default(d.projectionBootstrap),
});

export function loadRunnerOptions(env: NodeJS.ProcessEnv = process.env): RunnerOptions {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const result = environment.safeParse(present);
  if (!result.success) {
    const issue = result.error.issues[0];
    const name = String(issue?.path[0] ?? 'environment');
    throw new Error(`invalid configuration: ${name} ${issue?.message ?? 'is invalid'} (got '${present[name] ?? ''}')`);
  }
  const p = result.data;
  if (p.SUBSCRIPTION_MESSAGE_TIMEOUT_MS <= p.HANDLER_TIMEOUT_MS + p.HANDLER_RETRY_MAX_MS) {
    throw new Error(
      'invalid configuration: SUBSCRIPTION_MESSAGE_TIMEOUT_MS must exceed HANDLER_TIMEOUT_MS + HANDLER_RETRY_MAX_MS, or the server redelivers events still being worked on',
    );
  }
  return {
    ...d,
    groupPrefix: p.SUBSCRIPTION_GROUP_PREFIX,
    handlerTimeoutMs: p.HANDLER_TIMEOUT_MS,
    handlerMaxInFlight: p.HANDLER_MAX_IN_FLIGHT,
    projectionMaxInFlight: p.PROJECTION_MAX_IN_FLIGHT,
    messageTimeoutMs: p.SUBSCRIPTION_MESSAGE_TIMEOUT_MS,
    projectionBootstrap: p.PROJECTION_BOOTSTRAP,
    retry: { ...d.retry, maxRetries: p.HANDLER_MAX_RETRIES, baseDelayMs: p.HANDLER_RETRY_BASE_MS, maxDelayMs: p.HANDLER_RETRY_MAX_MS },
  };
}
