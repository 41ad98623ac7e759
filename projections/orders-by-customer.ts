// Each customer's orders per tenant, with the customer's totals per currency: `gross` (every
// order's total, refunded ones included), `refunded` (money refunded on them) and `net` (gross
// minus refunded). Refunds are read from the order-summary projection's rows.
import { defineProjection } from '../src/readmodels/projection.js';
import type { ReadModelTx } from '../src/readmodels/read-model-store.js';
import type { OrderStatus } from '../src/orders/events.js';
import { decodeCursor, encodeCursor } from '../src/readmodels/cursor.js';
import { sumsExactly, toBigInt } from '../src/readmodels/exact-sums.js';

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
  handles: ['order.created', 'order.status_changed'],
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
  },
});

/** Newest first, `limit` orders a page (keyset cursor); the totals cover all of them. */
export async function getCustomerOrders(tx: ReadModelTx, tenantId: string, customerId: string, limit: number, cursor?: string): Promise<CustomerOrders> {
  const after = cursor ? decodeCursor(cursor) : undefined;
  const rows = await tx.all<CustomerOrderRow>(
    `SELECT c.order_id, c.status, c.currency, c.total, COALESCE(s.refunded_amount, 0) AS refunded_amount, c.created_at, c.updated_at
     FROM customer_orders c LEFT JOIN order_summary s ON s.tenant_id = c.tenant_id AND s.order_id = c.order_id
     WHERE c.tenant_id = ? AND c.customer_id = ? ${after ? 'AND (c.created_at < ? OR (c.created_at = ? AND c.order_id < ?))' : ''}
     ORDER BY c.created_at DESC, c.order_id DESC LIMIT ?`,
    tenantId,
    customerId,
    ...(after ? [after.createdAt, after.createdAt, after.orderId] : []),
    limit + 1,
  );
  const from = `FROM customer_orders c LEFT JOIN order_summary s ON s.tenant_id = c.tenant_id AND s.order_id = c.order_id
     WHERE c.tenant_id = ? AND c.customer_id = ?`;
  const sums = await sumsExactly<{ currency: string; total: string; refunded: string; orders: number }>(tx, {
    grouped: `SELECT c.currency, CAST(SUM(c.total) AS TEXT) AS total, CAST(COALESCE(SUM(s.refunded_amount), 0) AS TEXT) AS refunded, COUNT(*) AS orders
     ${from} GROUP BY c.currency ORDER BY c.currency`,
    perRow: `SELECT c.currency, CAST(c.total AS TEXT) AS total, CAST(COALESCE(s.refunded_amount, 0) AS TEXT) AS refunded, 1 AS orders ${from} ORDER BY c.currency`,
    params: [tenantId, customerId],
    keys: ['currency'],
    sums: ['total', 'refunded'],
    counts: ['orders'],
  });
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
