// The fastify app factory: everything wired, nothing listening. Tests use inject(); main listens.
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { EventStoreDBClient } from '@eventstore/db-client';
import type { Logger } from '../observability/logger.js';
import type { OrderStateCache } from '../eventstore/order-state-cache.js';
import './request-context.js';
import type { z } from 'zod';
import { isOrderViewSchema, orderViewJson, type OrderView } from './schemas.js';
import { compileResponseJson } from './response-json.js';
import { registerProblemHandlers, sendFrameworkErrorProblem } from './error-handler.js';
import { correlationIdOf, registerCorrelation } from './plugins/correlation.js';
import { RESOLVED_KEY, requireApiKey } from './plugins/authentication.js';
import { registerHttpMetrics } from './plugins/http-metrics.js';
import { registerHttpTracing } from '../observability/http-tracing.js';
import { appendQueueOf } from '../eventstore/append-queue.js';
import { DEFAULT_OVERLOAD_LIMITS, DEFAULT_RATE_LIMIT_PER_MINUTE, registerLoadShedding, type OverloadLimits } from './plugins/load-shedding.js';
import { registerOpenApi } from './plugins/openapi.js';
import { healthRoutes } from './routes/health.js';
import { ordersRoutes } from './routes/orders.js';
import { paymentsRoutes } from './routes/payments.js';
import { queriesRoutes } from './queries-plugin.js';
import { whatsappWebhookRoutes } from './routes/whatsapp-webhook.js';
import { loadWhatsAppWebhookConfig, type WhatsAppWebhookConfig } from '../handlers/handler-config.js';
import type { ReadModelStore } from '../readmodels/read-model-store.js';

export interface AppDeps {
  client: EventStoreDBClient;
  /** API key -> tenantId, or HashedApiKeys (digest -> tenantId) as the config keeps them. */
  apiKeys: ReadonlyMap<string, string>;
  /** Requests per minute per API key before 429; 0 turns rate limiting off. */
  rateLimitPerMinute?: number;
  /** When the API sheds requests with 503 (commands / reads in flight and their wait, event loop delay, heap in use). */
  overload?: Partial<OverloadLimits>;
  logger?: Logger;
  /** A client that has not sent its whole request by then gets 408 (default 30 s). */
  requestTimeoutMs?: number;
  /** Largest accepted request body; larger ones get 413. */
  bodyLimitBytes?: number;
  /** Keeps recently written orders in memory to skip a read on the next command. */
  cache?: OrderStateCache;
  /** The read models the workers maintain; when given, the query routes are served. */
  readModels?: ReadModelStore;
  /** The WhatsApp status webhook's secrets (default: WHATSAPP_APP_SECRET / WHATSAPP_VERIFY_TOKEN). */
  whatsappWebhook?: WhatsAppWebhookConfig;
}

export const DEFAULT_BODY_LIMIT_BYTES = 64 * 1024;
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

export async function build(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    bodyLimit: deps.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
    // Slow senders cannot hold a connection and its buffers for long; headers come first.
    requestTimeout: deps.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    http: { headersTimeout: Math.min(10_000, deps.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS) },
    // The correlation id is the request id: logs and events name a request the same way.
    genReqId: correlationIdOf,
    frameworkErrors: sendFrameworkErrorProblem,
    // One line per request only when debugging: at 1,500 commands/s request logs cost real time.
    logController: new LogController({ disableRequestLogging: deps.logger?.level !== 'debug' && deps.logger?.level !== 'trace' }),
    // The pino Logger type parameter differs from FastifyBaseLogger only nominally; routes only
    // need the base instance type.
  }) as unknown as FastifyInstance;
  app.setValidatorCompiler(validatorCompiler);
  // Order views (every command's answer) and the reads' answers skip zod's encode pass: see
  // orderViewJson and response-json.ts.
  app.setSerializerCompiler<Parameters<typeof serializerCompiler>[0]['schema']>((route) => {
    if (isOrderViewSchema(route.schema)) return (data) => orderViewJson(data as OrderView);
    const read = route.method === 'GET' || route.method === 'HEAD' ? compileResponseJson(route.schema as z.ZodType) : undefined;
    return read ?? serializerCompiler(route);
  });
  acceptEmptyJsonBodies(app);

  app.decorateRequest('caller', undefined);
  app.decorateRequest(RESOLVED_KEY as unknown as string, undefined);
  registerProblemHandlers(app);
  registerCorrelation(app);
  // Before any route: it wraps each route's handler to run in the request's span.
  registerHttpTracing(app);
  registerHttpMetrics(app);
  await registerLoadShedding(app, {
    apiKeys: deps.apiKeys,
    overload: { ...DEFAULT_OVERLOAD_LIMITS, ...deps.overload },
    rateLimitPerMinute: deps.rateLimitPerMinute ?? DEFAULT_RATE_LIMIT_PER_MINUTE,
    appendQueue: appendQueueOf(deps.client),
  });
  await registerOpenApi(app, { rateLimitPerMinute: deps.rateLimitPerMinute ?? DEFAULT_RATE_LIMIT_PER_MINUTE });

  const commandDeps = { client: deps.client, ...(deps.cache ? { cache: deps.cache } : {}) };
  await app.register(async (scope) => healthRoutes(scope, deps));
  // Signed by the provider, not by an API key.
  if (deps.readModels) await app.register(async (scope) => whatsappWebhookRoutes(scope, { client: deps.client, readModels: deps.readModels!, config: deps.whatsappWebhook ?? loadWhatsAppWebhookConfig() }));
  await app.register(async (scope) => {
    requireApiKey(scope, deps.apiKeys);
    await ordersRoutes(scope, commandDeps);
    await paymentsRoutes(scope, commandDeps);
    if (deps.readModels) await queriesRoutes(scope, { readModels: deps.readModels, client: deps.client });
  });
  return app;
}

/** `Content-Type: application/json` with no body is a command without options, not an error. */
function acceptEmptyJsonBodies(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  // JSON only: everything else (text/plain included) is 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') {
      done(null, undefined);
      return;
    }
    parseJson(request, text, done);
  });
}
