// Query strings and answers of the read-model routes.
import { z } from 'zod';
import { ORDER_STATUSES } from '../orders/order-status.js';
import { OUTBOX_STATES } from '../handlers/whatsapp-outbox.js';

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date as YYYY-MM-DD').refine((value) => !Number.isNaN(Date.parse(`${value}T00:00:00Z`)) && new Date(`${value}T00:00:00Z`).toISOString().startsWith(value), 'is not a calendar date');
const limit = (fallback: number) => z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(1, 'must be at least 1').max(200, 'must be at most 200').default(fallback);
const idText = z.string().trim().min(1).max(128);

export const listOrdersQuery = z.strictObject({
  status: z.enum(ORDER_STATUSES, { error: `must be one of ${ORDER_STATUSES.join(', ')}` }).optional(),
  customerId: idText.optional(),
  limit: limit(50),
  cursor: z.string().min(1).max(512).optional(),
});

export const customerParams = z.strictObject({ customerId: idText });
export const customerOrdersQuery = z.strictObject({ limit: limit(50), cursor: z.string().min(1).max(512).optional() });
export const skuParams = z.strictObject({ sku: z.string().trim().min(1).max(64) });
export const stockQuery = z.strictObject({ limit: limit(50), cursor: z.string().min(1).max(512).optional() });
export const stockBody = z.strictObject({ onHand: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) });
export const salesQuery = z
  .strictObject({ from: day.optional(), to: day.optional() })
  .refine((query) => !query.from || !query.to || query.from <= query.to, { message: 'from must not be after to', path: ['from'] });
export const outboxQuery = z.strictObject({
  limit: limit(50),
  before: z.coerce.number().int().positive().optional(),
  orderId: idText.optional(),
  status: z.enum(OUTBOX_STATES, { error: `must be one of ${OUTBOX_STATES.join(', ')}` }).optional(),
});

const status = z.enum(ORDER_STATUSES);
/** A sum of amounts over many orders: exact, so a decimal string (it may pass 2^53). */
const sum = z.string().regex(/^-?\d+$/).meta({ description: 'Exact sum in minor units as a decimal string (sums may exceed 2^53)', example: '18014398509481982' });

export const orderSummarySchema = z
  .object({
    orderId: z.string(),
    tenantId: z.string(),
    customerId: z.string().nullable(),
    customerName: z.string().nullable(),
    status,
    currency: z.string(),
    total: z.number(),
    paidAmount: z.number(),
    refundedAmount: z.number(),
    itemCount: z.number(),
    createdAt: z.string(),
    updatedAt: z.string(),
    revision: z.number(),
  })
  .meta({ id: 'OrderSummary' });

export const orderSummaryPage = z.object({ items: z.array(orderSummarySchema), nextCursor: z.string().optional() }).meta({ id: 'OrderSummaryPage' });

export const customerOrdersSchema = z
  .object({
    customerId: z.string(),
    orderCount: z.number(),
    totals: z
      .record(z.string(), z.object({ gross: sum, refunded: sum, net: sum }))
      .describe('Per currency, minor units: gross = order totals (refunded orders included), refunded = money refunded on them, net = gross - refunded'),
    orders: z.array(z.object({ orderId: z.string(), status, currency: z.string(), total: z.number(), refundedAmount: z.number(), createdAt: z.string(), updatedAt: z.string() })),
    nextCursor: z.string().optional(),
  })
  .meta({ id: 'CustomerOrders' });

export const stockLevelSchema = z
  .object({
    sku: z.string(),
    onHand: z.number(),
    reserved: z.number(),
    available: z.number(),
    shortage: z.number(),
    shortOrders: z.array(z.object({ orderId: z.string(), quantity: z.number(), shortage: z.number() })),
    nextCursor: z.string().optional(),
  })
  .meta({ id: 'StockLevel' });

export const salesReportSchema = z
  .object({
    from: z.string(),
    to: z.string(),
    days: z.array(
      z.object({
        day: z.string(),
        currency: z.string(),
        ordersPlaced: z.number(),
        orderedAmount: sum,
        paidAmount: sum,
        refundedAmount: sum,
        ordersCancelled: z.number(),
      }),
    ),
    byStatus: z.array(z.object({ status: z.string(), currency: z.string(), orders: z.number(), total: sum })),
  })
  .meta({ id: 'SalesReport' });

export const outboxSchema = z
  .object({
    items: z.array(
      z.object({
        id: z.number(),
        orderId: z.string(),
        eventId: z.string(),
        recipient: z.string(),
        template: z.string(),
        status: z.enum(OUTBOX_STATES).meta({ description: 'queued (embedded default, sent nowhere), sending, sent, delivered, read, unsent (the provider declined it: retried), failed, uncertain (may have reached the provider: never resent automatically)' }),
        providerMessageId: z.string().nullable(),
        attempts: z.number(),
        lastError: z.string().nullable(),
        settledBy: z.enum(['handler', 'webhook', 'operator']).nullable(),
        message: z.record(z.string(), z.unknown()),
        createdAt: z.string(),
        updatedAt: z.string(),
      }),
    ),
  })
  .meta({ id: 'WhatsAppOutbox' });
