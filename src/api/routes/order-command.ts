// Runs an order command for a route and answers with the order, its ETag and revision.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { handleOrderCommand, type CommandDeps } from '../../eventstore/handle-command.js';
import type { OrderCommand } from '../../orders/commands.js';
import { OrderError } from '../../orders/order-errors.js';
import { expectedRevisionFrom } from '../conditional-request.js';
import { etagFor, toOrderView } from '../order-view.js';
import type { OrderView } from '../schemas.js';
import { deadlineCheck } from '../plugins/load-shedding.js';
import { inRequestContext } from '../../observability/http-tracing.js';

export interface CommandAnswer {
  view: OrderView;
  /** False when the command was an idempotent replay that appended nothing. */
  appended: boolean;
}

export async function runOrderCommand(deps: CommandDeps, request: FastifyRequest, reply: FastifyReply, command: OrderCommand): Promise<CommandAnswer> {
  const ifMatch = request.headers['if-match'];
  const expectedRevision = command.type === 'CreateOrder' ? undefined : expectedRevisionFrom(typeof ifMatch === 'string' ? ifMatch : undefined);
  // A command whose request has run out of its latency budget is answered 503 before it reaches the store.
  const beforeAppend = deadlineCheck(request, reply);
  // In the request's trace context: a route may have awaited something before (payments.ts).
  const result = await inRequestContext(request, () => handleOrderCommand(deps, command, expectedRevision === undefined ? { beforeAppend } : { expectedRevision, beforeAppend }));
  if (!result.state.exists) throw new OrderError('ORDER_NOT_FOUND', `order ${command.orderId} not found`, { orderId: command.orderId });
  reply.header('etag', etagFor(result.revision));
  return { view: toOrderView(result.state, result.revision), appended: result.events.length > 0 };
}
