// Liveness, readiness and metrics: public, no API key.
import type { FastifyInstance } from 'fastify';
import type { EventStoreDBClient } from '@eventstore/db-client';
import { isEventStoreReachable } from '../../eventstore/connection.js';
import { registry } from '../../observability/metrics.js';
import { z } from 'zod';
import { problem, problemResponse } from '../problem.js';
import { sendProblem } from '../error-handler.js';

export async function healthRoutes(app: FastifyInstance, deps: { client: EventStoreDBClient }): Promise<void> {
  app.get(
    '/health',
    { schema: { tags: ['operations'], operationId: 'getHealth', summary: 'The process is up', response: { 200: z.object({ status: z.literal('ok') }) } } },
    async () => ({ status: 'ok' as const }),
  );

  app.get('/ready', {
    schema: {
      tags: ['operations'],
      operationId: 'getReadiness',
      summary: 'The event store is reachable (503 while it is not)',
      response: { 200: z.object({ status: z.literal('ready') }), 503: problemResponse },
    },
  }, async (_request, reply) => {
    if (await isEventStoreReachable(deps.client)) return { status: 'ready' as const };
    return sendProblem(reply, problem('EVENT_STORE_UNAVAILABLE', 'the event store did not answer a read'));
  });

  app.get('/metrics', {
    schema: {
      tags: ['operations'],
      operationId: 'getMetrics',
      summary: 'Prometheus metrics',
      response: { 200: { description: 'Prometheus text exposition format', content: { [registry.contentType]: { schema: z.string() } } } },
    },
  }, async (_request, reply) => {
    return reply.type(registry.contentType).send(await registry.metrics());
  });
}
