// Liveness, readiness and metrics: public, no API key.
import type { FastifyInstance } from 'fastify';
import type { EventStoreDBClient } from '@eventstore/db-client';
import { isEventStoreReachable } from '../../eventstore/connection.js';
import { registry } from '../../observability/metrics.js';
import { problem } from '../problem.js';
import { sendProblem } from '../error-handler.js';

export async function healthRoutes(app: FastifyInstance, deps: { client: EventStoreDBClient }): Promise<void> {
  app.get('/health', { schema: { tags: ['operations'], summary: 'The process is up' } }, async () => ({ status: 'ok' }));

  app.get('/ready', { schema: { tags: ['operations'], summary: 'The event store is reachable' } }, async (_request, reply) => {
    if (await isEventStoreReachable(deps.client)) return { status: 'ready' };
    return sendProblem(reply, problem('EVENT_STORE_UNAVAILABLE', 'the event store did not answer a read'));
  });

  app.get('/metrics', { schema: { tags: ['operations'], summary: 'Prometheus metrics' } }, async (_request, reply) => {
    return reply.type(registry.contentType).send(await registry.metrics());
  });
}
