// HTTP bodies and answers. Unknown fields are refused; amounts are integers in minor units.
import { z } from 'zod';
import { ORDER_STATUSES } from '../orders/order-status.js';
import { MAX_AMOUNT } from '../orders/money.js';

const CURRENCIES = new Set(Intl.supportedValuesOf('currency'));
const text = (max: number) => z.string().trim().min(1).max(max);
const MAX_TEXT = MAX_AMOUNT.toLocaleString('en-US');
/** Minor units, 0..10^12: the bound of one line, one order, one payment, one refund. */
const money = z.number().int().min(0).max(MAX_AMOUNT, `must be at most ${MAX_TEXT} minor units`);
const positiveMoney = z.number().int().min(1).max(MAX_AMOUNT, `must be at most ${MAX_TEXT} minor units`);

export const currencySchema = z.string().refine((code) => /^[A-Z]{3}$/.test(code) && CURRENCIES.has(code), 'must be an ISO 4217 currency code such as EUR');
export const e164Schema = z.string().regex(/^\+[1-9]\d{1,14}$/, 'must be an E.164 phone number such as +14155550100');

export const orderIdParams = z.strictObject({ orderId: z.uuid('must be a UUID') });

export const createOrderBody = z
  .strictObject({
    orderId: z.uuid('must be a UUID').optional(),
    customer: z.strictObject({ id: text(128).optional(), name: text(200).optional(), phone: e164Schema.optional() }),
    currency: currencySchema,
    items: z
      .array(
        z.strictObject({
          sku: text(64),
          name: text(200).optional(),
          quantity: z.number().int().min(1).max(1_000_000),
          unitPrice: money,
        }),
      )
      .min(1, 'must hold at least one item')
      .max(200, 'holds at most 200 items'),
  })
  .superRefine((body, ctx) => {
    body.items.forEach((item, index) => {
      if (item.quantity * item.unitPrice > MAX_AMOUNT) {
        ctx.addIssue({ code: 'custom', path: ['items', index], message: `the line total (quantity x unitPrice) must be at most ${MAX_TEXT} minor units` });
      }
    });
    const total = body.items.reduce((sum, item) => sum + item.quantity * item.unitPrice, 0);
    if (total > MAX_AMOUNT) ctx.addIssue({ code: 'custom', path: ['items'], message: `the order total must be at most ${MAX_TEXT} minor units` });
  });

export const paymentBody = z.strictObject({
  paymentId: text(128),
  amount: positiveMoney,
  method: text(64),
  reference: text(256).optional(),
});

// Bodies of the lifecycle commands may be omitted entirely (`curl -X POST .../deliver`): fastify
// hands a missing body over as null.
export const shipBody = z.strictObject({ carrier: text(100).optional(), trackingNumber: text(100).optional() }).nullish();
export const reasonBody = z.strictObject({ reason: text(500).optional() }).nullish();
export const refundBody = z.strictObject({ amount: positiveMoney.optional() }).nullish();
export const emptyBody = z.strictObject({}).nullish();

export const ifMatchHeaders = z.looseObject({
  'if-match': z.string().optional().describe('Stream revision from a previous ETag ("7", 7 or W/"7"; * for any): the command applies only at that revision, else 412'),
});

export const ifNoneMatchHeaders = z.looseObject({
  'if-none-match': z.string().optional().describe('The ETag the client has: 304 while the order is still at that revision'),
});

export const orderView = z
  .object({
    orderId: z.string(),
    tenantId: z.string(),
    status: z.enum(ORDER_STATUSES),
    currency: z.string(),
    items: z.array(z.object({ sku: z.string(), name: z.string().optional(), quantity: z.number().int(), unitPrice: z.number().int() })),
    total: z.number().int(),
    paidAmount: z.number().int(),
    refundedAmount: z.number().int(),
    customer: z.object({ id: z.string().optional(), name: z.string().optional(), phone: z.string().optional() }),
    /** The order stream's revision: the ETag, and what If-Match takes. */
    revision: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Order' });
export type OrderView = z.infer<typeof orderView>;

export const orderHistory = z
  .object({
    orderId: z.string(),
    events: z.array(
      z.object({
        id: z.string(),
        type: z.string(),
        /** The event's revision in the order's stream. A position in $all is the store's, across every tenant: not handed out. */
        revision: z.number().int(),
        time: z.string(),
        data: z.record(z.string(), z.unknown()),
        metadata: z.record(z.string(), z.unknown()),
      }),
    ),
  })
  .meta({ id: 'OrderHistory' });
export type OrderHistory = z.infer<typeof orderHistory>;
