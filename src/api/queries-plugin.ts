// The read side: order lists, a customer's orders, stock, sales and the WhatsApp outbox, answered
// from the read models the workers maintain (eventually consistent: an order shows up here
// shortly after its command's response). Tenant-scoped: the tenant comes from the API key.
import type { EventStoreDBClient } from '@eventstore/db-client';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { projections } from '../../projections/index.js';
import { getSalesByDay } from '../../projections/sales-by-day.js';
import { getStockLevel, readStockLevel } from '../../projections/inventory.js';
import { ANALYTICS_SCHEMA, getSalesByStatus } from '../handlers/analytics-store.js';
import { carryOverLegacyStockCounts, recordStockCount } from '../handlers/inventory-store.js';
import { ReadModelUnavailableError } from '../readmodels/read-model-health.js';
import { normalizeId } from '../orders/stream-names.js';
import { commandContext } from './command-context.js';
import { ensureOutboxSchema, listOutbox } from '../handlers/whatsapp-outbox.js';
import { InvalidCursorError } from '../readmodels/cursor.js';
import { customerOrdersJson, orderSummaryPageJson } from '../readmodels/json-pages.js';
import type { ReadModelStore } from '../readmodels/read-model-store.js';
import { ApiError } from './error-registry.js';
import { problemSchema } from './problem.js';
import {
  customerOrdersQuery,
  customerOrdersSchema,
  customerParams,
  listOrdersQuery,
  orderSummaryPage,
  outboxQuery,
  outboxSchema,
  salesQuery,
  salesReportSchema,
  skuParams,
  stockBody,
  stockQuery,
  stockLevelSchema,
} from './query-schemas.js';

export interface QueryDeps {
  readModels: ReadModelStore;
  /** Where PUT /inventory/:sku records the count (an event: stock is a projection). */
  client: EventStoreDBClient;
}

const errors = { 400: problemSchema, 401: problemSchema };
const security = [{ bearerAuth: [] }];
const DAY_MS = 86_400_000;

function tenantOf(request: FastifyRequest): string {
  const tenantId = request.caller?.tenantId;
  if (!tenantId) throw new ApiError('UNAUTHORIZED');
  return tenantId;
}

/** A cursor this service did not issue is a validation failure of the `cursor` field. */
async function withCursor<T>(query: () => Promise<T>): Promise<T> {
  try {
    return await query();
  } catch (error) {
    if (error instanceof InvalidCursorError) {
      throw new ApiError('VALIDATION_FAILED', '1 invalid field(s) in querystring', { errors: [{ field: 'cursor', message: error.message }] });
    }
    throw error;
  }
}

/**
 * An answer that is JSON text already (built by the database, of the route's schema): sent as it
 * is, without the route's serializer (fastify sends a string body of a JSON type unchanged).
 */
function sendJsonText(reply: FastifyReply, json: string): FastifyReply {
  return reply.header('content-type', 'application/json; charset=utf-8').send(json);
}

/** Register inside the scope that requires an API key. */
export async function queriesRoutes(scope: FastifyInstance, deps: QueryDeps): Promise<void> {
  const { readModels, client } = deps;
  // The API may start before any worker created the tables: create them (idempotent DDL).
  for (const projection of projections) await readModels.migrate(projection.schema);
  for (const ddl of [ANALYTICS_SCHEMA]) await readModels.migrate(ddl);
  await ensureOutboxSchema(readModels);
  // Stock counts an earlier version kept only in its read model become events, once.
  // A damaged read model holds no counts worth carrying: the routes answer 503 until it is rebuilt.
  await carryOverLegacyStockCounts(client, readModels).catch((error: unknown) => {
    if (!(error instanceof ReadModelUnavailableError)) throw error;
  });
  const app = scope.withTypeProvider<ZodTypeProvider>();

  app.get('/orders', {
    schema: {
      tags: ['queries'],
      operationId: 'listOrders',
      summary: 'Orders, newest first, by status and customer (paginated: pass nextCursor as cursor)',
      security,
      querystring: listOrdersQuery,
      response: { 200: orderSummaryPage, ...errors },
    },
    // The page as the JSON text the database builds (json-pages.ts): no row mapping, no stringify.
    handler: async (request, reply) => {
      const { status, customerId, limit, cursor } = request.query;
      const body = await withCursor(() =>
        orderSummaryPageJson(readModels, {
          tenantId: tenantOf(request),
          limit,
          ...(status ? { status } : {}),
          ...(customerId ? { customerId } : {}),
          ...(cursor ? { cursor } : {}),
        }),
      );
      return sendJsonText(reply, body);
    },
  });

  app.get('/customers/:customerId/orders', {
    schema: {
      tags: ['queries'],
      operationId: 'getCustomerOrders',
      summary: "A customer's orders, newest first (paginated: pass nextCursor as cursor), with totals per currency",
      security,
      params: customerParams,
      querystring: customerOrdersQuery,
      response: { 200: customerOrdersSchema, ...errors },
    },
    handler: async (request, reply) =>
      sendJsonText(reply, await withCursor(() => customerOrdersJson(readModels, tenantOf(request), request.params.customerId, request.query.limit, request.query.cursor))),
  });

  app.get('/inventory/:sku', {
    schema: {
      tags: ['queries'],
      operationId: 'getStockLevel',
      summary: 'Stock of a SKU: on hand, reserved by open orders, available, shortage, and the short orders (paginated: pass nextCursor as cursor)',
      security,
      params: skuParams,
      querystring: stockQuery,
      response: { 200: stockLevelSchema, ...errors },
    },
    // A SKU nobody counted or ordered has nothing on hand: not an error.
    handler: async (request) => withCursor(() => readStockLevel(readModels, tenantOf(request), request.params.sku, request.query)),
  });

  app.put('/inventory/:sku', {
    schema: {
      tags: ['queries'],
      operationId: 'setStockOnHand',
      summary: 'Record the units on hand of a SKU (a stock count or a delivery): an inventory.stock_set event',
      security,
      params: skuParams,
      body: stockBody,
      response: { 200: stockLevelSchema, ...errors },
    },
    handler: async (request) => {
      const tenantId = tenantOf(request);
      const { sku } = request.params;
      const { onHand } = request.body;
      const position = await recordStockCount(client, sku, onHand, commandContext(request));
      // The projection applies the count shortly: answer with the level as it is once it has.
      return getStockLevel(readModels, tenantId, sku, {}, { onHand, position });
    },
  });

  app.get('/analytics/sales', {
    schema: {
      tags: ['queries'],
      operationId: 'getSalesReport',
      summary: 'Sales per day in [from, to] (default: the last 30 days) and orders per current status',
      security,
      querystring: salesQuery,
      response: { 200: salesReportSchema, ...errors },
    },
    handler: async (request) => {
      const tenantId = tenantOf(request);
      const to = request.query.to ?? new Date().toISOString().slice(0, 10);
      const from = request.query.from ?? new Date(Date.parse(`${to}T00:00:00Z`) - 29 * DAY_MS).toISOString().slice(0, 10);
      if (from > to) throw new ApiError('VALIDATION_FAILED', '1 invalid field(s) in querystring', { errors: [{ field: 'from', message: 'from must not be after to' }] });
      // Both from one snapshot: the days and the statuses count the same orders.
      return readModels.snapshot(async (tx) => ({ from, to, days: await getSalesByDay(tx, tenantId, from, to), byStatus: await getSalesByStatus(tx, tenantId) }));
    },
  });

  app.get('/outbox', {
    schema: {
      tags: ['queries'],
      operationId: 'listOutbox',
      summary: 'WhatsApp messages produced for this tenant, newest first, each with its state (queued: not sent, on the embedded default)',
      security,
      querystring: outboxQuery,
      response: { 200: outboxSchema, ...errors },
    },
    handler: async (request) => {
      const { limit, before, orderId, status } = request.query;
      const items = await listOutbox(readModels, tenantOf(request), {
        limit,
        ...(before ? { before } : {}),
        ...(orderId ? { orderId: normalizeId(orderId) } : {}),
        ...(status ? { status } : {}),
      });
      return { items: items.map((item) => ({ ...item, message: item.message as unknown as Record<string, unknown> })) };
    },
  });
}
