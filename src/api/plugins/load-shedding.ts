// Shedding load before it piles up: per-API-key rate limiting (429) and, when the process is
// under pressure (event loop delay, heap), an early 503. Both answer problem+json with
// Retry-After, so a client backs off instead of queueing requests in our memory.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifyUnderPressure from '@fastify/under-pressure';
import { ApiError } from '../error-registry.js';
import { bearerToken, createKeyResolver } from './authentication.js';

export interface OverloadLimits {
  /** Shed when the mean event loop delay of the last sample exceeds this; 0: not checked. */
  maxEventLoopDelayMs: number;
  /** Shed when the V8 heap in use exceeds this; 0: not checked. */
  maxHeapUsedBytes: number;
  retryAfterSeconds: number;
  /** How often pressure is measured. */
  sampleIntervalMs: number;
}

export const DEFAULT_OVERLOAD_LIMITS: OverloadLimits = { maxEventLoopDelayMs: 1_000, maxHeapUsedBytes: 0, retryAfterSeconds: 5, sampleIntervalMs: 1_000 };

/** Per key: lowers only a runaway client; a busy tenant at benchmark rates stays under it. */
export const DEFAULT_RATE_LIMIT_PER_MINUTE = 120_000;

/** Liveness and metrics answer even under pressure: an overloaded process is not a dead one. */
export const NEVER_SHED: ReadonlySet<string> = new Set(['/health', '/metrics']);
/** Public routes probed by machines (load balancers, Prometheus) have no key to limit by. */
const NEVER_RATE_LIMITED = new Set([...NEVER_SHED, '/ready', '/openapi.json']);

const routeOf = (request: FastifyRequest) => request.routeOptions.url ?? '';

/** Whether the per-key rate limit applies to a route (its fastify URL template). */
export const isRateLimitedRoute = (url: string): boolean => !NEVER_RATE_LIMITED.has(url) && !url.startsWith('/docs');

/**
 * Register on the root instance before any route, so every route (whichever plugin adds it)
 * is covered, and before authentication: a request shed here costs no digest comparison, no
 * read and no append.
 */
export async function registerLoadShedding(
  scope: FastifyInstance,
  options: { apiKeys: ReadonlyMap<string, string>; overload: OverloadLimits; rateLimitPerMinute: number },
): Promise<void> {
  const { overload } = options;
  await scope.register(fastifyUnderPressure, {
    maxEventLoopDelay: overload.maxEventLoopDelayMs,
    maxHeapUsedBytes: overload.maxHeapUsedBytes,
    sampleInterval: overload.sampleIntervalMs,
    // A rejection goes to the problem+json error handler.
    pressureHandler: async (request, reply) => {
      if (NEVER_SHED.has(routeOf(request))) return;
      reply.header('retry-after', String(overload.retryAfterSeconds));
      throw new ApiError('SERVICE_OVERLOADED', 'the service is shedding load; retry after the Retry-After delay');
    },
  });
  if (options.rateLimitPerMinute <= 0) return;
  const resolve = createKeyResolver(options.apiKeys);
  await scope.register(fastifyRateLimit, {
    // Not per route: route hooks run after authentication, and a guessed key must count too.
    global: false,
    max: options.rateLimitPerMinute,
    timeWindow: 60_000,
    allowList: (request) => !isRateLimitedRoute(routeOf(request)),
    // One bucket per known key (by its digest fingerprint, never the key); unknown or missing
    // keys share their client address's bucket, so guessing keys is limited too.
    keyGenerator: (request) => {
      const token = bearerToken(request.headers.authorization);
      const caller = token ? resolve(token) : undefined;
      return caller ? caller.actor : `ip:${request.ip}`;
    },
    errorResponseBuilder: (_request, context) =>
      new ApiError('TOO_MANY_REQUESTS', `rate limit of ${context.max} requests per minute exceeded; retry in ${context.after}`),
  });
  scope.addHook('onRequest', scope.rateLimit());
}
