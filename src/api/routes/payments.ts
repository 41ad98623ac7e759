// Payments of an order: idempotent by paymentId.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { CommandDeps } from '../../eventstore/handle-command.js';
import type { OrderCommand } from '../../orders/commands.js';
import { normalizeId } from '../../orders/stream-names.js';
import { commandContext } from '../command-context.js';
import { problemResponse } from '../problem.js';
import { ifMatchHeaders, orderIdParams, orderView, paymentBody } from '../schemas.js';
import { runOrderCommand } from './order-command.js';

export async function paymentsRoutes(scope: FastifyInstance, deps: CommandDeps): Promise<void> {
  scope.withTypeProvider<ZodTypeProvider>().post('/orders/:orderId/payments', {
    schema: {
      tags: ['payments'],
      operationId: 'recordPayment',
      summary: 'Record a verified payment (201; 200 when this paymentId was already recorded)',
      security: [{ bearerAuth: [] }],
      params: orderIdParams,
      headers: ifMatchHeaders,
      body: paymentBody,
      response: { 200: orderView, 201: orderView, 400: problemResponse, 401: problemResponse, 404: problemResponse, 409: problemResponse, 410: problemResponse, 412: problemResponse },
    },
    handler: async (request, reply) => {
      const { paymentId, amount, method, reference } = request.body;
      const command: OrderCommand = {
        type: 'RecordPayment',
        // Normalised at the edge: a retried payment counts once however its ids are written.
        orderId: normalizeId(request.params.orderId),
        paymentId: normalizeId(paymentId),
        amount,
        method,
        ...(reference !== undefined ? { reference } : {}),
        context: commandContext(request),
      };
      const { view, appended } = await runOrderCommand(deps, request, reply, command);
      return reply.code(appended ? 201 : 200).send(view);
    },
  });
}
