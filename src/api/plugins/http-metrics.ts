// Request count and latency per route template (never the raw URL: ids would explode labels).
import type { FastifyInstance } from 'fastify';
import { httpRequestDurationSeconds, httpRequestsTotal } from '../../observability/metrics.js';

export function registerHttpMetrics(app: FastifyInstance): void {
  app.addHook('onResponse', async (request, reply) => {
    const labels = { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) };
    httpRequestsTotal.inc(labels);
    httpRequestDurationSeconds.observe(labels, reply.elapsedTime / 1000);
  });
}
