// Payments of an order: idempotent by paymentId, and one paymentId pays one order of the tenant
// (a reservation stream, src/eventstore/payment-reservation.ts, taken before the payment).
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { CommandDeps } from '../../eventstore/handle-command.js';
import { loadOrder } from '../../eventstore/order-stream.js';
import { releasePaymentId, reservePaymentId, type PaymentIdUse } from '../../eventstore/payment-reservation.js';
import { inRequestContext } from '../../observability/http-tracing.js';
import type { RecordPayment } from '../../orders/commands.js';
import { eventMetadata } from '../../orders/event-factory.js';
import { isOrderError } from '../../orders/order-errors.js';
import { decide } from '../../orders/order-decider.js';
import { expectedRevisionFrom } from '../conditional-request.js';
import { normalizeId, orderKey } from '../../orders/stream-names.js';
import { commandContext } from '../command-context.js';
import { problemResponse } from '../problem.js';
import { ifMatchHeaders, orderIdParams, orderView, paymentBody } from '../schemas.js';
import { runOrderCommand } from './order-command.js';
import { deadlineCheck } from '../plugins/load-shedding.js';

export async function paymentsRoutes(scope: FastifyInstance, deps: CommandDeps): Promise<void> {
  scope.withTypeProvider<ZodTypeProvider>().post('/orders/:orderId/payments', {
    schema: {
      tags: ['payments'],
      operationId: 'recordPayment',
      summary: 'Record a verified payment (201; 200 when this paymentId was already recorded on this order; 409 PAYMENT_ID_IN_USE when another order of the tenant has it)',
      security: [{ bearerAuth: [] }],
      params: orderIdParams,
      headers: ifMatchHeaders,
      body: paymentBody,
      response: { 200: orderView, 201: orderView, 400: problemResponse, 401: problemResponse, 404: problemResponse, 409: problemResponse, 410: problemResponse, 412: problemResponse },
    },
    handler: async (request, reply) => {
      const { paymentId, amount, method, reference } = request.body;
      const command: RecordPayment = {
        type: 'RecordPayment',
        // Normalised at the edge: a retried payment counts once however its ids are written.
        orderId: normalizeId(request.params.orderId),
        paymentId: normalizeId(paymentId),
        amount,
        method,
        ...(reference !== undefined ? { reference } : {}),
        context: commandContext(request),
      };
      const use: PaymentIdUse = { tenantId: command.context.tenantId, paymentId: command.paymentId, orderId: command.orderId, metadata: eventMetadata(command.context) };
      // The order is asked first, so a payment it refuses (unknown order, nothing outstanding, a
      // stale If-Match) or a replay it already holds appends nothing, not even a reservation.
      // The reservation is the payment's first append: past the request's deadline, nothing is written.
      const reservation = (await wouldRecord(deps, request.headers['if-match'], command)) ? (deadlineCheck(request, reply)(), await inRequestContext(request, () => reservePaymentId(deps.client, use))) : undefined;
      try {
        const { view, appended } = await runOrderCommand(deps, request, reply, command);
        return reply.code(appended ? 201 : 200).send(view);
      } catch (error) {
        // Refused by the order after all (it moved meanwhile): the id goes back to the tenant,
        // unless the order does hold it. (A release that fails leaves the id with this order: a
        // retry of it still goes through.)
        if (reservation !== undefined && isOrderError(error) && error.code !== 'PAYMENT_CONFLICT') {
          await inRequestContext(request, () => releaseUnlessRecorded(deps, use, reservation)).catch(() => undefined);
        }
        throw error;
      }
    },
  });
}

/**
 * Whether the order would record this payment (throws the order's refusal). The command cache's
 * state may say yes (a stale one only costs a reservation and its release); anything else is
 * asked of the store.
 */
async function wouldRecord(deps: CommandDeps, ifMatch: string | string[] | undefined, command: RecordPayment): Promise<boolean> {
  const expected = expectedRevisionFrom(typeof ifMatch === 'string' ? ifMatch : undefined);
  const key = orderKey(command.context.tenantId, command.orderId);
  const cached = expected === undefined ? deps.cache?.get(key) : undefined;
  if (cached) {
    try {
      if (decide(command, cached.state).length > 0) return true;
    } catch {
      // Refused from memory: the store has the last word.
    }
  }
  const { state, revision } = await loadOrder(deps.client, key);
  if (expected !== undefined && expected !== revision) return false;
  return decide(command, state).length > 0;
}

async function releaseUnlessRecorded(deps: CommandDeps, use: PaymentIdUse, reservation: bigint): Promise<void> {
  const { state } = await loadOrder(deps.client, orderKey(use.tenantId, use.orderId));
  if (state.exists && state.tenantId === use.tenantId && state.payments[use.paymentId]) return;
  await releasePaymentId(deps.client, use, reservation);
}
