// The orders resource: create, read, history, and the lifecycle commands.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '../error-registry.js';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { CommandDeps } from '../../eventstore/handle-command.js';
import { loadOrder, readOrderStream } from '../../eventstore/order-stream.js';
import { foldOrder } from '../../orders/order-state.js';
import { OrderError } from '../../orders/order-errors.js';
import { normalizeId, orderKey } from '../../orders/stream-names.js';
import type { OrderCommand } from '../../orders/commands.js';
import { commandContext } from '../command-context.js';
import { etagFor, toOrderView } from '../order-view.js';
import { problemResponse } from '../problem.js';
import { createOrderBody, emptyBody, ifMatchHeaders, ifNoneMatchHeaders, orderHistory, orderIdParams, orderView, reasonBody, refundBody, shipBody } from '../schemas.js';
import { runOrderCommand } from './order-command.js';

// What each kind of route can answer besides success (the cross-cutting 413/415/429/503/500 are
// added to the document by the OpenAPI plugin). Reads never conflict; a create has no If-Match.
// 410: the order's stream was tombstoned, or its history truncated, in the event store.
const readErrors = { 400: problemResponse, 401: problemResponse, 404: problemResponse, 410: problemResponse };
const createErrors = { 400: problemResponse, 401: problemResponse, 409: problemResponse, 410: problemResponse };
const commandErrors = { 400: problemResponse, 401: problemResponse, 404: problemResponse, 409: problemResponse, 410: problemResponse, 412: problemResponse };
const security = [{ bearerAuth: [] }];

function tenantOf(request: FastifyRequest): string {
  // Behind authentication; reaching here without a caller is a bug.
  if (!request.caller) throw new ApiError('UNAUTHORIZED');
  return request.caller.tenantId;
}

function notFound(orderId: string): OrderError {
  return new OrderError('ORDER_NOT_FOUND', `order ${orderId} not found`, { orderId });
}

export async function ordersRoutes(scope: FastifyInstance, deps: CommandDeps): Promise<void> {
  const app = scope.withTypeProvider<ZodTypeProvider>();

  app.post('/orders', {
    schema: {
      tags: ['orders'],
      operationId: 'createOrder',
      summary: 'Create an order (idempotent for the same orderId and body)',
      security,
      body: createOrderBody,
      response: { 200: orderView.describe('Already created with this body: nothing appended'), 201: orderView.describe('Created'), ...createErrors },
    },
    handler: async (request, reply) => {
      const { customer, currency, items } = request.body;
      // Ids are normalised at the edge: an id is one id however it is written (a UUID in any case).
      const orderId = request.body.orderId === undefined ? randomUUID() : normalizeId(request.body.orderId);
      const command: OrderCommand = { type: 'CreateOrder', orderId, customer, currency, items, context: commandContext(request) };
      const { view, appended } = await runOrderCommand(deps, request, reply, command);
      reply.header('location', `/orders/${orderId}`);
      return reply.code(appended ? 201 : 200).send(view);
    },
  });

  app.get('/orders/:orderId', {
    schema: {
      tags: ['orders'],
      operationId: 'getOrder',
      summary: "An order's current state (ETag: its revision)",
      security,
      params: orderIdParams,
      headers: ifNoneMatchHeaders,
      response: { 200: orderView, 304: z.null().describe('Not modified: the order is still at the revision of If-None-Match'), ...readErrors },
    },
    handler: async (request, reply) => {
      const orderId = normalizeId(request.params.orderId);
      const tenantId = tenantOf(request);
      const { state, revision } = await loadOrder(deps.client, orderKey(tenantId, orderId));
      if (!state.exists || state.tenantId !== tenantId) throw notFound(orderId);
      const etag = etagFor(revision);
      reply.header('etag', etag);
      // A client polling an order it already has gets 304 until the order changes.
      if (request.headers['if-none-match'] === etag) return reply.code(304).send(null);
      return reply.send(toOrderView(state, revision));
    },
  });

  app.get('/orders/:orderId/events', {
    schema: { tags: ['orders'], operationId: 'getOrderEvents', summary: "An order's history, oldest first", security, params: orderIdParams, response: { 200: orderHistory, ...readErrors } },
    handler: async (request) => {
      const orderId = normalizeId(request.params.orderId);
      const tenantId = tenantOf(request);
      const { events: stored } = await readOrderStream(deps.client, orderKey(tenantId, orderId));
      const state = foldOrder(stored.map((entry) => entry.event));
      if (!state.exists || state.tenantId !== tenantId) throw notFound(orderId);
      return {
        orderId,
        events: stored.map((entry) => ({
          id: entry.id,
          type: entry.event.type,
          revision: Number(entry.revision),
          time: entry.created.toISOString(),
          data: entry.event.data,
          metadata: (entry.metadata ?? (typeof entry.rawMetadata === 'object' && entry.rawMetadata ? entry.rawMetadata : {})) as Record<string, unknown>,
        })),
      };
    },
  });

  const lifecycle = { tags: ['orders'], security, params: orderIdParams, headers: ifMatchHeaders, response: { 200: orderView, ...commandErrors } };

  app.post('/orders/:orderId/ship', {
    schema: { ...lifecycle, operationId: 'shipOrder', summary: 'Ship a PAID order', body: shipBody },
    handler: async (request, reply) => {
      const { carrier, trackingNumber } = request.body ?? {};
      const command: OrderCommand = {
        type: 'ShipOrder',
        orderId: normalizeId(request.params.orderId),
        ...(carrier !== undefined ? { carrier } : {}),
        ...(trackingNumber !== undefined ? { trackingNumber } : {}),
        context: commandContext(request),
      };
      return reply.send((await runOrderCommand(deps, request, reply, command)).view);
    },
  });

  app.post('/orders/:orderId/deliver', {
    schema: { ...lifecycle, operationId: 'deliverOrder', summary: 'Mark a SHIPPED order delivered', body: emptyBody },
    handler: async (request, reply) => {
      const command: OrderCommand = { type: 'DeliverOrder', orderId: normalizeId(request.params.orderId), context: commandContext(request) };
      return reply.send((await runOrderCommand(deps, request, reply, command)).view);
    },
  });

  app.post('/orders/:orderId/cancel', {
    schema: { ...lifecycle, operationId: 'cancelOrder', summary: 'Cancel a PENDING or PAID order', body: reasonBody },
    handler: async (request, reply) => {
      const reason = request.body?.reason;
      const command: OrderCommand = {
        type: 'CancelOrder',
        orderId: normalizeId(request.params.orderId),
        ...(reason !== undefined ? { reason } : {}),
        context: commandContext(request),
      };
      return reply.send((await runOrderCommand(deps, request, reply, command)).view);
    },
  });

  app.post('/orders/:orderId/return', {
    schema: { ...lifecycle, operationId: 'returnOrder', summary: 'Return a SHIPPED or DELIVERED order', body: reasonBody },
    handler: async (request, reply) => {
      const reason = request.body?.reason;
      const command: OrderCommand = {
        type: 'ReturnOrder',
        orderId: normalizeId(request.params.orderId),
        ...(reason !== undefined ? { reason } : {}),
        context: commandContext(request),
      };
      return reply.send((await runOrderCommand(deps, request, reply, command)).view);
    },
  });

  app.post('/orders/:orderId/refund', {
    schema: { ...lifecycle, operationId: 'refundOrder', summary: 'Refund a PAID, RETURNED or paid-then-CANCELLED order (default: everything paid)', body: refundBody },
    handler: async (request, reply) => {
      const amount = request.body?.amount;
      const command: OrderCommand = {
        type: 'RefundOrder',
        orderId: normalizeId(request.params.orderId),
        ...(amount !== undefined ? { amount } : {}),
        context: commandContext(request),
      };
      return reply.send((await runOrderCommand(deps, request, reply, command)).view);
    },
  });
}
