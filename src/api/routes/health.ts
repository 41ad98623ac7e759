// Liveness and readiness: public, no API key. Metrics: the operator's token (METRICS_TOKEN).
import type { FastifyInstance } from 'fastify';
import type { EventStoreDBClient } from '@eventstore/db-client';
import { notReadyReason } from '../../observability/readiness.js';
import { readModelHealthOf } from '../../readmodels/read-model-health.js';
import type { ReadModelStore } from '../../readmodels/read-model-store.js';
import { registry } from '../../observability/metrics.js';
import { METRICS_REFUSAL, isForwarded, metricsAccessFrom, metricsDecision } from '../../observability/metrics-access.js';
import { z } from 'zod';
import { problem, problemResponse } from '../problem.js';
import { sendProblem } from '../error-handler.js';

export async function healthRoutes(app: FastifyInstance, deps: { client: EventStoreDBClient; readModels?: ReadModelStore | undefined }): Promise<void> {
  const metricsAccess = metricsAccessFrom();
  const readModelHealth = deps.readModels ? readModelHealthOf(deps.readModels.location) : undefined;
  app.get(
    '/health',
    { schema: { tags: ['operations'], operationId: 'getHealth', summary: 'The process is up', response: { 200: z.object({ status: z.literal('ok') }) } } },
    async () => ({ status: 'ok' as const }),
  );

  app.get('/ready', {
    schema: {
      tags: ['operations'],
      operationId: 'getReadiness',
      summary: 'The event store answers and can write, and the read model is intact (503 with the reason while not)',
      response: { 200: z.object({ status: z.literal('ready') }), 503: problemResponse },
    },
  }, async (_request, reply) => {
    const notReady = await notReadyReason(deps.client, readModelHealth);
    if (!notReady) return { status: 'ready' as const };
    return sendProblem(reply, problem(notReady.code, notReady.detail, notReady.extensions));
  });

  app.get('/metrics', {
    schema: {
      tags: ['operations'],
      operationId: 'getMetrics',
      summary: "Prometheus metrics, the operator's: Authorization: Bearer <METRICS_TOKEN>, or without METRICS_TOKEN a direct client on the machine (401 otherwise; an API key never opens it)",
      response: {
        200: { description: 'Prometheus text exposition format', content: { [registry.contentType]: { schema: z.string() } } },
        401: problemResponse,
      },
    },
  }, async (request, reply) => {
    // Every tenant's traffic summed: not for tenants (src/observability/metrics-access.ts).
    const decision = metricsDecision(metricsAccess, { authorization: request.headers.authorization, remoteAddress: request.socket.remoteAddress, forwarded: isForwarded(request.headers) }, false);
    if (decision !== 'allowed') {
      reply.header('www-authenticate', 'Bearer realm="metrics"');
      return sendProblem(reply, problem(METRICS_REFUSAL.code, METRICS_REFUSAL.detail, {}, '/metrics'));
    }
    return reply.type(registry.contentType).send(await registry.metrics());
  });
}
