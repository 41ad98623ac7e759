// Turns every failure into problem+json with a stable code. Validation lists every failing
// field; unexpected errors are logged and answered without internals.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { UnavailableError, DeadlineExceededError, StreamDeletedError } from '@eventstore/db-client';
import { OrderError } from '../orders/order-errors.js';
import { ConcurrencyConflictError, OrderHistoryTruncatedError, PreconditionFailedError, isStorageFullError } from '../eventstore/errors.js';
import { isCorruptionError, ReadModelUnavailableError } from '../readmodels/read-model-health.js';
import { isConnectionLoss } from '../readmodels/connection-loss.js';
import { STORAGE_FULL_RETRY_AFTER_SECONDS } from '../observability/readiness.js';
import { ApiError, type ApiErrorCode } from './error-registry.js';
import { PROBLEM_CONTENT_TYPE, problem, type Problem } from './problem.js';
import { CORRELATION_HEADER } from './plugins/correlation.js';

export function sendProblem(reply: FastifyReply, body: Problem): FastifyReply {
  // RFC 6750: a 401 names the scheme the client must use.
  if (body.code === 'UNAUTHORIZED') reply.header('www-authenticate', 'Bearer realm="order-store"');
  if (body.code === 'STORAGE_FULL' || body.code === 'READ_MODEL_UNAVAILABLE') reply.header('retry-after', String(STORAGE_FULL_RETRY_AFTER_SECONDS));
  // A string payload bypasses the route's response serializer, which only knows success shapes.
  return reply.code(body.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(body));
}

/**
 * For fastify's `frameworkErrors` option: errors the router raises before any hook runs (a
 * malformed URL, a path parameter over the length limit) would otherwise go out as plain JSON.
 */
export function sendFrameworkErrorProblem(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  // No hook ran: the correlation id goes out here, as on every other answer.
  reply.header(CORRELATION_HEADER, request.id);
  return sendProblem(reply, toProblem(error, request));
}

export function registerProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: unknown, request, reply) => sendProblem(reply, toProblem(error, request)));
  // Every route's method and path, so a known path asked with another method gets 405 + Allow.
  const routes: Array<{ method: string; path: RegExp }> = [];
  app.addHook('onRoute', (route) => {
    const path = new RegExp(`^${route.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[^/]+/g, '[^/]+')}/?$`);
    for (const method of [route.method].flat()) routes.push({ method: method.toUpperCase(), path });
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    const allowed = [...new Set(routes.filter((route) => route.path.test(path)).map((route) => route.method))];
    if (allowed.length > 0) {
      reply.header('allow', allowed.join(', '));
      return sendProblem(reply, problem('METHOD_NOT_ALLOWED', `${request.method} is not allowed on ${path} (allowed: ${allowed.join(', ')})`, {}, request.url));
    }
    return sendProblem(reply, problem('ROUTE_NOT_FOUND', `no route ${request.method} ${path}`, {}, request.url));
  });
}

let storageFullLoggedAt = 0;

function toProblem(error: unknown, request: FastifyRequest): Problem {
  const instance = request.url;
  if (hasZodFastifySchemaValidationErrors(error)) {
    const part = (error as FastifyError).validationContext ?? 'body';
    const errors = error.validation.flatMap((issue) => {
      const field = `${part}${issue.instancePath.replaceAll('/', '.')}`.replace(/\.$/, '');
      // Name each refused unknown field rather than only its parent object.
      const unknownKeys = issue.keyword === 'unrecognized_keys' ? (issue.params as { keys?: unknown }).keys : undefined;
      if (Array.isArray(unknownKeys)) return unknownKeys.map((key) => ({ field: `${field}.${String(key)}`, message: 'is not a known field' }));
      return [{ field, message: issue.message }];
    });
    return problem('VALIDATION_FAILED', `${errors.length} invalid field(s) in ${part}`, { errors }, instance);
  }
  if (error instanceof OrderError) {
    // `status` is the HTTP status in a problem, so the order's status travels as currentStatus.
    const { status: currentStatus, ...details } = error.details;
    return problem(error.code, error.message, { ...stringifyBigInts(details), ...(currentStatus ? { currentStatus } : {}) }, instance);
  }
  if (error instanceof PreconditionFailedError) {
    return problem('PRECONDITION_FAILED', error.message, { currentRevision: error.actualRevision?.toString() ?? null }, instance);
  }
  if (error instanceof ConcurrencyConflictError) return problem('CONCURRENCY_CONFLICT', error.message, {}, instance);
  if (error instanceof StreamDeletedError) return problem('ORDER_DELETED', 'the order was deleted for good in the event store', {}, instance);
  if (error instanceof OrderHistoryTruncatedError) return problem('ORDER_HISTORY_TRUNCATED', 'the order\'s first events were truncated in the event store', {}, instance);
  if (error instanceof ApiError) return problem(error.code, error.message, error.extensions, instance);
  if (error instanceof UnavailableError || error instanceof DeadlineExceededError) {
    request.log.error({ err: error }, 'event store unavailable');
    return problem('EVENT_STORE_UNAVAILABLE', 'the event store did not answer; retry later', {}, instance);
  }
  // Faults of the machinery, not of the request: logged once by the health that noticed them
  // (read model) or once a minute (the store's full disk), never once per request.
  if (error instanceof ReadModelUnavailableError || isCorruptionError(error)) {
    return problem('READ_MODEL_UNAVAILABLE', error instanceof ReadModelUnavailableError ? error.message : 'the read model is corrupt; rebuild it with `orders replay`', {}, instance);
  }
  // The read models' PostgreSQL (READ_MODEL_URL) is out of reach: reads wait for it; commands,
  // which need only the event store, go on.
  if (isConnectionLoss(error)) {
    return problem('READ_MODEL_UNAVAILABLE', 'the read models\' database cannot be reached; retry later', {}, instance);
  }
  if (isStorageFullError(error)) {
    if (Date.now() - storageFullLoggedAt > 60_000) {
      storageFullLoggedAt = Date.now();
      request.log.error({ err: error }, 'storage full: commands are refused with 503 until disk space is freed');
    }
    return problem('STORAGE_FULL', 'storage full: the disk is full and nothing was written; retry later', {}, instance);
  }
  const fastifyCode = fastifyClientErrorCode(error);
  if (fastifyCode) return problem(fastifyCode, (error as Error).message, {}, instance);
  request.log.error({ err: error }, 'unhandled error');
  return problem('INTERNAL_ERROR', 'something went wrong; the error was logged', {}, instance);
}

/** Fastify's own 4xx errors (body parsing, limits, media types), mapped onto our codes. */
function fastifyClientErrorCode(error: unknown): ApiErrorCode | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  if (typeof status !== 'number' || status < 400 || status >= 500) return undefined;
  switch (status) {
    case 413:
      return 'PAYLOAD_TOO_LARGE';
    case 414:
      return 'URI_TOO_LONG';
    case 415:
      return 'UNSUPPORTED_MEDIA_TYPE';
    case 405:
      return 'METHOD_NOT_ALLOWED';
    case 429:
      return 'TOO_MANY_REQUESTS';
    case 404:
      return 'ROUTE_NOT_FOUND';
    default:
      return 'MALFORMED_REQUEST';
  }
}

function stringifyBigInts(details: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(details).map(([key, value]) => [key, typeof value === 'bigint' ? value.toString() : value]));
}
