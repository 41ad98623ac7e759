// Each customer's orders per tenant, with the customer's totals per currency: `gross` (every
// order's total, refunded ones included), `refunded` (money refunded on them) and `net` (gross
// minus refunded). The totals are kept as they change, a row per customer and currency
// (customer_totals: added to by each order and refund, exact as decimal text), so a read of them
// is one indexed row whatever the number of orders; the page's refunds per order are read from
// the order-summary projection's rows.
import { defineProjection } from '../src/readmodels/projection.js';
import type { ReadModelTx } from '../src/readmodels/read-model-store.js';
import type { OrderStatus } from '../src/orders/events.js';
import { decodeCursor, encodeCursor } from '../src/readmodels/cursor.js';
import { addToSums, toBigInt } from '../src/readmodels/exact-sums.js';

export interface CustomerOrder {
  orderId: string;
  status: OrderStatus;
  currency: string;
  total: number;
  /** Money refunded on the order (minor units). */
  refundedAmount: number;
  createdAt: string;
  updatedAt: string;
}

export interface CustomerOrders {
  customerId: string;
  orderCount: number;
  /** Per currency (minor units): order totals, refunds on them, and totals net of refunds. */
  totals: Record<string, CustomerTotals>;
  orders: CustomerOrder[];
  /** Pass as `cursor` for the next page; absent on the last page. */
  nextCursor?: string;
}

/** Decimal strings of minor units: sums over many orders may pass 2^53, and stay exact. */
export interface CustomerTotals {
  /** Sum of the order totals, cancelled and refunded orders included. */
  gross: string;
  /** Money refunded on those orders. */
  refunded: string;
  /** gross - refunded. */
  net: string;
}

interface CustomerOrderRow {
  refunded_amount: number;
  order_id: string;
  status: OrderStatus;
  currency: string;
  total: number;
  created_at: string;
  updated_at: string;
}

export default defineProjection({
  name: 'orders-by-customer',
  // 2: customer_totals, made by replaying the history (see version in projection.ts).
  version: 2,
  handles: ['order.created', 'order.status_changed', 'order.refunded'],
  schema: `
    CREATE TABLE IF NOT EXISTS customer_orders (
      tenant_id TEXT NOT NULL,
      customer_id TEXT NOT NULL,
      order_id TEXT NOT NULL,
      status TEXT NOT NULL,
      currency TEXT NOT NULL,
      total INTEGER NOT NULL,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL,
      PRIMARY KEY (tenant_id, customer_id, order_id)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS customer_orders_by_order ON customer_orders (tenant_id, order_id);
    -- A page of a customer's orders, newest first, without sorting all of them.
    CREATE INDEX IF NOT EXISTS customer_orders_by_created ON customer_orders (tenant_id, customer_id, created_at DESC, order_id DESC);
    -- Per customer and currency (the order's): orders, the sum of their totals and the money
    -- refunded on them, as decimal text (sums may pass 2^53, and SQLite's 2^63).
    CREATE TABLE IF NOT EXISTS customer_totals (
      tenant_id TEXT NOT NULL,
      customer_id TEXT NOT NULL,
      currency TEXT NOT NULL,
      orders INTEGER NOT NULL DEFAULT 0,
      gross TEXT NOT NULL DEFAULT '0',
      refunded TEXT NOT NULL DEFAULT '0',
      PRIMARY KEY (tenant_id, customer_id, currency)
    ) WITHOUT ROWID;
  `,
  async apply(event, tx) {
    if (event.type === 'inventory.stock_set') return;
    const { tenantId, orderId, occurredAt } = event.data;
    switch (event.type) {
      case 'order.created': {
        const customerId = event.data.customer.id ?? event.data.customerId;
        // An anonymous order belongs to no customer's list.
        if (!customerId) return;
        await tx.write(
          `INSERT INTO customer_orders (tenant_id, customer_id, order_id, status, currency, total, created_at, updated_at)
           VALUES (?, ?, ?, 'PENDING', ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
          tenantId,
          customerId,
          orderId,
          event.data.currency,
          event.data.total,
          occurredAt,
          occurredAt,
        );
        // Behind the revision guard each event is applied once: the sums count it once.
        await addToSums(tx, 'customer_totals', { tenant_id: tenantId, customer_id: customerId, currency: event.data.currency }, { orders: 1 }, { gross: event.data.total, refunded: 0 });
        return;
      }
      case 'order.refunded': {
        // The order's customer and currency: an anonymous order's refund counts for nobody.
        const order = await tx.get<{ customer_id: string; currency: string }>(
          `SELECT customer_id, currency FROM customer_orders ${tx.dialect === 'sqlite' ? 'INDEXED BY customer_orders_by_order ' : ''}WHERE tenant_id = ? AND order_id = ?`,
          tenantId,
          orderId,
        );
        if (order) await addToSums(tx, 'customer_totals', { tenant_id: tenantId, customer_id: order.customer_id, currency: order.currency }, { orders: 0 }, { gross: 0, refunded: event.data.amount });
        return;
      }
      case 'order.status_changed':
        // Without INDEXED BY the planner (no ANALYZE statistics) picks the primary-key prefix
        // tenant_id and scans every order of the tenant: catch-up slowed quadratically.
        // (PostgreSQL has no INDEXED BY, and its planner finds the index.)
        await tx.write(
          `UPDATE customer_orders ${tx.dialect === 'sqlite' ? 'INDEXED BY customer_orders_by_order ' : ''}SET status = ?, updated_at = ? WHERE tenant_id = ? AND order_id = ?`,
          event.data.newStatus,
          occurredAt,
          tenantId,
          orderId,
        );
        return;
      default:
        return;
    }
  },
  async reset(tx) {
    await tx.run('DELETE FROM customer_orders');
    await tx.run('DELETE FROM customer_totals');
  },
});

/** Newest first, `limit` orders a page (keyset cursor); the totals cover all of them. */
export function getCustomerOrders(tx: ReadModelTx, tenantId: string, customerId: string, limit: number, cursor?: string): Promise<CustomerOrders> {
  return readCustomerOrders(tx, tenantId, customerId, limit, cursor);
}

/**
 * getCustomerOrders for the API: the page and the customer's row of totals per currency from one
 * statement, which sees one state on its own (no transaction: no BEGIN and COMMIT round trips).
 */
export async function readCustomerOrders(store: ReadModelTx, tenantId: string, customerId: string, limit: number, cursor?: string): Promise<CustomerOrders> {
  const after = cursor ? decodeCursor(cursor) : undefined;
  const rows = await store.all<CustomerOrderRow & { kind: string; total: string; refunded: string; orders: number }>(
    `SELECT 'order' AS kind, order_id, status, currency, CAST(total AS TEXT) AS total, CAST(refunded_amount AS TEXT) AS refunded, created_at, updated_at, 1 AS orders
     FROM (SELECT ${PAGE_COLUMNS} ${FROM_CUSTOMER} ${after ? AFTER_CURSOR : ''} ORDER BY c.created_at DESC, c.order_id DESC LIMIT ?) page
     UNION ALL
     SELECT 'total', NULL, NULL, currency, gross, refunded, NULL, NULL, orders FROM customer_totals WHERE tenant_id = ? AND customer_id = ?
     ORDER BY kind, created_at DESC, order_id DESC, currency`,
    tenantId,
    customerId,
    ...(after ? [after.createdAt, after.createdAt, after.orderId] : []),
    limit + 1,
    tenantId,
    customerId,
  );
  const page = rows.filter((row) => row.kind === 'order').map((row) => ({ ...row, total: Number(row.total), refunded_amount: Number(row.refunded) }));
  const totals = rows.filter((row) => row.kind === 'total').map((row) => ({ currency: row.currency, total: toBigInt(row.total).toString(), refunded: toBigInt(row.refunded).toString(), orders: Number(row.orders) }));
  return customerOrdersOf(customerId, page, totals, limit);
}

const FROM_CUSTOMER = `FROM customer_orders c LEFT JOIN order_summary s ON s.tenant_id = c.tenant_id AND s.order_id = c.order_id
     WHERE c.tenant_id = ? AND c.customer_id = ?`;
const AFTER_CURSOR = 'AND (c.created_at < ? OR (c.created_at = ? AND c.order_id < ?))';
const PAGE_COLUMNS = 'c.order_id, c.status, c.currency, c.total, COALESCE(s.refunded_amount, 0) AS refunded_amount, c.created_at, c.updated_at';

interface CurrencyTotals {
  currency: string;
  total: string;
  refunded: string;
  orders: number;
}

function customerOrdersOf(customerId: string, rows: CustomerOrderRow[], sums: CurrencyTotals[], limit: number): CustomerOrders {
  return {
    customerId,
    orderCount: sums.reduce((count, sum) => count + sum.orders, 0),
    totals: Object.fromEntries(
      sums.map((sum) => [sum.currency, { gross: sum.total, refunded: sum.refunded, net: (toBigInt(sum.total) - toBigInt(sum.refunded)).toString() }]),
    ),
    orders: rows.slice(0, limit).map((row) => ({
      orderId: row.order_id,
      status: row.status,
      currency: row.currency,
      total: row.total,
      refundedAmount: row.refunded_amount,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    })),
    ...(rows.length > limit ? { nextCursor: encodeCursor({ createdAt: rows[limit - 1]!.created_at, orderId: rows[limit - 1]!.order_id }) } : {}),
  };
}
