// The command context of an HTTP request: who, which tenant, when, and the correlation trail.
import { randomUUID } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { CommandContext } from '../orders/commands.js';
import { ApiError } from './error-registry.js';
import { tenantCorrelationId } from './plugins/correlation.js';

export function commandContext(request: FastifyRequest): CommandContext {
  const caller = request.caller;
  // Routes that build commands sit behind authentication; reaching here without a caller is a bug.
  if (!caller) throw new ApiError('UNAUTHORIZED');
  return {
    commandId: randomUUID(),
    tenantId: caller.tenantId,
    actor: caller.actor,
    at: new Date().toISOString(),
    // Scoped to the tenant: another tenant reusing the id must not join this one's trace.
    correlationId: tenantCorrelationId(caller.tenantId, request.correlationId),
    ...(request.traceparent !== undefined ? { traceparent: request.traceparent } : {}),
  };
}
