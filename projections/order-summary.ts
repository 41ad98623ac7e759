// One row per order: status, totals, paid and refunded amounts, customer, times.
import { defineProjection } from '../src/readmodels/projection.js';
import type { ReadModelTx } from '../src/readmodels/read-model-store.js';
import { decodeCursor, encodeCursor } from '../src/readmodels/cursor.js';
import { orderSummaryFilter } from '../src/readmodels/json-pages.js';
import type { OrderStatus } from '../src/orders/events.js';

export interface OrderSummary {
  orderId: string;
  tenantId: string;
  customerId: string | null;
  customerName: string | null;
  status: OrderStatus;
  currency: string;
  total: number;
  paidAmount: number;
  refundedAmount: number;
  itemCount: number;
  createdAt: string;
  updatedAt: string;
  /** Revision of the order's stream this row reflects (the ETag of the order). */
  revision: number;
}

interface OrderSummaryRow {
  order_id: string;
  tenant_id: string;
  customer_id: string | null;
  customer_name: string | null;
  status: OrderStatus;
  currency: string;
  total: number;
  paid_amount: number;
  refunded_amount: number;
  item_count: number;
  created_at: string;
  updated_at: string;
  revision: number;
}

export default defineProjection({
  name: 'order-summary',
  handles: ['order.created', 'order.status_changed', 'payment.processed', 'order.paid', 'order.refunded', 'order.cancelled'],
  schema: `
    CREATE TABLE IF NOT EXISTS order_summary (
      tenant_id TEXT NOT NULL,
      order_id TEXT NOT NULL,
      customer_id TEXT,
      customer_name TEXT,
      status TEXT NOT NULL,
      currency TEXT NOT NULL,
      total INTEGER NOT NULL,
      paid_amount INTEGER NOT NULL DEFAULT 0,
      refunded_amount INTEGER NOT NULL DEFAULT 0,
      item_count INTEGER NOT NULL,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL,
      revision INTEGER NOT NULL,
      PRIMARY KEY (tenant_id, order_id)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS order_summary_by_created ON order_summary (tenant_id, created_at DESC, order_id DESC);
    CREATE INDEX IF NOT EXISTS order_summary_by_status ON order_summary (tenant_id, status, created_at DESC, order_id DESC);
  `,
  async apply(event, tx) {
    if (event.type === 'inventory.stock_set') return;
    const { tenantId, orderId, occurredAt } = event.data;
    const touch = (set: string, ...values: unknown[]) =>
      tx.write(
        `UPDATE order_summary SET ${set}, updated_at = ?, revision = ? WHERE tenant_id = ? AND order_id = ?`,
        ...values,
        occurredAt,
        event.revision,
        tenantId,
        orderId,
      );
    switch (event.type) {
      case 'order.created':
        await tx.write(
          `INSERT INTO order_summary (tenant_id, order_id, customer_id, customer_name, status, currency, total, item_count, created_at, updated_at, revision)
           VALUES (?, ?, ?, ?, 'PENDING', ?, ?, ?, ?, ?, ?)
           ON CONFLICT (tenant_id, order_id) DO NOTHING`,
          tenantId,
          orderId,
          event.data.customer.id ?? event.data.customerId ?? null,
          event.data.customer.name ?? null,
          event.data.currency,
          event.data.total,
          event.data.items.reduce((sum, item) => sum + item.quantity, 0),
          occurredAt,
          occurredAt,
          event.revision,
        );
        return;
      case 'order.status_changed':
        await touch('status = ?', event.data.newStatus);
        return;
      case 'payment.processed':
      case 'order.paid':
      case 'order.cancelled':
        await touch('paid_amount = ?', event.data.paidAmount);
        return;
      case 'order.refunded':
        await touch('refunded_amount = refunded_amount + ?', event.data.amount);
        return;
      default:
        return;
    }
  },
  async reset(tx) {
    await tx.run('DELETE FROM order_summary');
  },
});

export async function getOrderSummary(tx: ReadModelTx, tenantId: string, orderId: string): Promise<OrderSummary | undefined> {
  const row = await tx.get<OrderSummaryRow>('SELECT * FROM order_summary WHERE tenant_id = ? AND order_id = ?', tenantId, orderId);
  return row ? toSummary(row) : undefined;
}

export interface OrderSummaryQuery {
  tenantId: string;
  status?: OrderStatus;
  customerId?: string;
  limit: number;
  cursor?: string;
}

export interface Page<T> {
  items: T[];
  /** Pass as `cursor` for the next page; absent on the last page. */
  nextCursor?: string;
}

/** Newest first, keyset-paginated. Throws InvalidCursorError for a cursor it did not issue. */
export async function listOrderSummaries(tx: ReadModelTx, query: OrderSummaryQuery): Promise<Page<OrderSummary>> {
  const { where, params } = orderSummaryFilter(query);
  if (query.cursor) {
    const after = decodeCursor(query.cursor);
    where.push('(created_at < ? OR (created_at = ? AND order_id < ?))');
    params.push(after.createdAt, after.createdAt, after.orderId);
  }
  const rows = await tx.all<OrderSummaryRow>(
    `SELECT * FROM order_summary WHERE ${where.join(' AND ')} ORDER BY created_at DESC, order_id DESC LIMIT ?`,
    ...params,
    query.limit + 1,
  );
  const items = rows.slice(0, query.limit).map(toSummary);
  const last = items[items.length - 1];
  return rows.length > query.limit && last ? { items, nextCursor: encodeCursor(last) } : { items };
}

function toSummary(row: OrderSummaryRow): OrderSummary {
  return {
    orderId: row.order_id,
    tenantId: row.tenant_id,
    customerId: row.customer_id,
    customerName: row.customer_name,
    status: row.status,
    currency: row.currency,
    total: row.total,
    paidAmount: row.paid_amount,
    refundedAmount: row.refunded_amount,
    itemCount: row.item_count,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    revision: row.revision,
  };
}
