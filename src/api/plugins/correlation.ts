// x-correlation-id in and out, and the W3C traceparent, for event metadata and logs.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';

export const CORRELATION_HEADER = 'x-correlation-id';
export const SAFE_CORRELATION_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;
const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * The request's correlation id, used as fastify's request id so logs and events agree. An
 * unusable id (too long, odd characters) is replaced rather than refused: tracing must never make
 * a command fail.
 */
export function correlationIdOf(request: IncomingMessage): string {
  const given = request.headers[CORRELATION_HEADER];
  return typeof given === 'string' && SAFE_CORRELATION_ID.test(given) ? given : randomUUID();
}

/**
 * The correlation id the events of a tenant's request carry: `<tenantId>:<given id>`. Tenants
 * choose their ids, so two tenants may send the same one; scoped, each one's `$bc-` trace (the
 * store's $by_correlation_id stream) holds only its own events. Tenant ids never contain ':', so
 * the first ':' splits it back. The response echoes the id as the caller gave it.
 */
export function tenantCorrelationId(tenantId: string, correlationId: string): string {
  return `${tenantId}:${correlationId}`;
}

export function registerCorrelation(app: FastifyInstance): void {
  app.decorateRequest('correlationId', '');
  app.decorateRequest('traceparent', undefined);
  app.addHook('onRequest', async (request, reply) => {
    request.correlationId = request.id;
    const traceparent = request.headers.traceparent;
    request.traceparent = typeof traceparent === 'string' && TRACEPARENT.test(traceparent) ? traceparent : undefined;
    reply.header(CORRELATION_HEADER, request.correlationId);
  });
}
