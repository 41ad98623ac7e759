// Each customer's orders per tenant, with the customer's totals per currency: `gross` (every
// order's total, refunded ones included), `refunded` (money refunded on them) and `net` (gross
// minus refunded). Refunds are read from the order-summary projection's rows.
import { defineProjection } from '../src/readmodels/projection.js';
import type { ReadModelStore, ReadModelTx } from '../src/readmodels/read-model-store.js';
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
    -- A page of a customer's orders, newest first, without sorting all of them.
    CREATE INDEX IF NOT EXISTS customer_orders_by_created ON customer_orders (tenant_id, customer_id, created_at DESC, order_id DESC);
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
  return (await customerOrdersInOneStatement(tx, tenantId, customerId, limit, cursor)) ?? customerOrdersInTwo(tx, tenantId, customerId, limit, cursor);
}

/**
 * getCustomerOrders for the API: the page and the totals from one statement, which sees one
 * state on its own (no transaction: no BEGIN and COMMIT round trips); when the database cannot
 * sum them there (see sumsExactly), both statements of the exact path in one snapshot.
 */
export async function readCustomerOrders(store: ReadModelStore, tenantId: string, customerId: string, limit: number, cursor?: string): Promise<CustomerOrders> {
  return (await customerOrdersInOneStatement(store, tenantId, customerId, limit, cursor)) ?? store.snapshot((tx) => customerOrdersInTwo(tx, tenantId, customerId, limit, cursor));
}

const FROM_CUSTOMER = `FROM customer_orders c LEFT JOIN order_summary s ON s.tenant_id = c.tenant_id AND s.order_id = c.order_id
     WHERE c.tenant_id = ? AND c.customer_id = ?`;
const AFTER_CURSOR = 'AND (c.created_at < ? OR (c.created_at = ? AND c.order_id < ?))';
const PAGE_COLUMNS = 'c.order_id, c.status, c.currency, c.total, COALESCE(s.refunded_amount, 0) AS refunded_amount, c.created_at, c.updated_at';

/** The page's rows (`limit + 1` of them: one more says there is a next page) and the totals per currency as rows of their own. */
async function customerOrdersInOneStatement(tx: ReadModelTx, tenantId: string, customerId: string, limit: number, cursor?: string): Promise<CustomerOrders | undefined> {
  const after = cursor ? decodeCursor(cursor) : undefined;
  let rows: Array<{ kind: string; order_id: string; status: OrderStatus; currency: string; total: string; refunded: string; created_at: string; updated_at: string; orders: number }>;
  try {
    rows = await tx.all(
      `SELECT 'order' AS kind, order_id, status, currency, CAST(total AS TEXT) AS total, CAST(refunded_amount AS TEXT) AS refunded, created_at, updated_at, 1 AS orders
       FROM (SELECT ${PAGE_COLUMNS} ${FROM_CUSTOMER} ${after ? AFTER_CURSOR : ''} ORDER BY c.created_at DESC, c.order_id DESC LIMIT ?) page
       UNION ALL
       SELECT 'total', NULL, NULL, c.currency, CAST(SUM(c.total) AS TEXT), CAST(COALESCE(SUM(s.refunded_amount), 0) AS TEXT), NULL, NULL, COUNT(*)
       ${FROM_CUSTOMER} GROUP BY c.currency
       ORDER BY kind, created_at DESC, order_id DESC, currency`,
      tenantId,
      customerId,
      ...(after ? [after.createdAt, after.createdAt, after.orderId] : []),
      limit + 1,
      tenantId,
      customerId,
    );
  } catch (error) {
    // SQLite past 2^63: the exact path adds the rows up itself.
    if (error instanceof Error && /integer overflow/i.test(error.message)) return undefined;
    throw error;
  }
  const page = rows.filter((row) => row.kind === 'order');
  const totals = rows.filter((row) => row.kind === 'total');
  // A REAL an older version left among the amounts: the exact path.
  if (!totals.every((row) => INTEGER_TEXT.test(row.total) && INTEGER_TEXT.test(row.refunded))) return undefined;
  return customerOrdersOf(
    customerId,
    page.map((row) => ({ ...row, total: Number(row.total), refunded_amount: Number(row.refunded) })),
    totals.map((row) => ({ currency: row.currency, total: toBigInt(row.total).toString(), refunded: toBigInt(row.refunded).toString(), orders: row.orders })),
    limit,
  );
}

const INTEGER_TEXT = /^-?\d+$/;

/** The page, then the totals by sumsExactly (which falls back to adding the rows up here). */
async function customerOrdersInTwo(tx: ReadModelTx, tenantId: string, customerId: string, limit: number, cursor?: string): Promise<CustomerOrders> {
  const after = cursor ? decodeCursor(cursor) : undefined;
  const rows = await tx.all<CustomerOrderRow>(
    `SELECT ${PAGE_COLUMNS} ${FROM_CUSTOMER} ${after ? AFTER_CURSOR : ''}
     ORDER BY c.created_at DESC, c.order_id DESC LIMIT ?`,
    tenantId,
    customerId,
    ...(after ? [after.createdAt, after.createdAt, after.orderId] : []),
    limit + 1,
  );
  const sums = await sumsExactly<CurrencyTotals>(tx, {
    grouped: `SELECT c.currency, CAST(SUM(c.total) AS TEXT) AS total, CAST(COALESCE(SUM(s.refunded_amount), 0) AS TEXT) AS refunded, COUNT(*) AS orders
     ${FROM_CUSTOMER} GROUP BY c.currency ORDER BY c.currency`,
    perRow: `SELECT c.currency, CAST(c.total AS TEXT) AS total, CAST(COALESCE(s.refunded_amount, 0) AS TEXT) AS refunded, 1 AS orders ${FROM_CUSTOMER} ORDER BY c.currency`,
    params: [tenantId, customerId],
    keys: ['currency'],
    sums: ['total', 'refunded'],
    counts: ['orders'],
  });
  return customerOrdersOf(customerId, rows, sums, limit);
}

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
