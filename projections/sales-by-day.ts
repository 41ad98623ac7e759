// Per tenant, day (UTC, of the event's occurredAt) and currency: orders placed and their value,
// money received, money refunded, orders cancelled.
import { defineProjection } from '../src/readmodels/projection.js';
import type { ReadModelTx } from '../src/readmodels/read-model-store.js';

export interface DailySales {
  day: string;
  currency: string;
  ordersPlaced: number;
  orderedAmount: number;
  paidAmount: number;
  refundedAmount: number;
  ordersCancelled: number;
}

const COLUMNS = {
  ordersPlaced: 'orders_placed',
  orderedAmount: 'ordered_amount',
  paidAmount: 'paid_amount',
  refundedAmount: 'refunded_amount',
  ordersCancelled: 'orders_cancelled',
} as const;

export default defineProjection({
  name: 'sales-by-day',
  handles: ['order.created', 'payment.processed', 'order.refunded', 'order.cancelled'],
  schema: `
    CREATE TABLE IF NOT EXISTS sales_by_day (
      tenant_id TEXT NOT NULL,
      day TEXT NOT NULL,
      currency TEXT NOT NULL,
      orders_placed INTEGER NOT NULL DEFAULT 0,
      ordered_amount INTEGER NOT NULL DEFAULT 0,
      paid_amount INTEGER NOT NULL DEFAULT 0,
      refunded_amount INTEGER NOT NULL DEFAULT 0,
      orders_cancelled INTEGER NOT NULL DEFAULT 0,
      PRIMARY KEY (tenant_id, day, currency)
    ) WITHOUT ROWID;
    -- The currency of an order, for events that do not repeat it (cancellation).
    CREATE TABLE IF NOT EXISTS sales_order_currency (
      tenant_id TEXT NOT NULL,
      order_id TEXT NOT NULL,
      currency TEXT NOT NULL,
      PRIMARY KEY (tenant_id, order_id)
    ) WITHOUT ROWID;
  `,
  async apply(event, tx) {
    if (event.type === 'inventory.stock_set') return;
    const { tenantId, orderId, occurredAt } = event.data;
    const day = occurredAt.slice(0, 10);
    const add = async (currency: string, changes: Partial<Record<keyof typeof COLUMNS, number>>) => {
      const entries = Object.entries(changes) as [keyof typeof COLUMNS, number][];
      const columns = entries.map(([key]) => COLUMNS[key]);
      await tx.run(
        `INSERT INTO sales_by_day (tenant_id, day, currency, ${columns.join(', ')}) VALUES (?, ?, ?, ${columns.map(() => '?').join(', ')})
         ON CONFLICT (tenant_id, day, currency) DO UPDATE SET ${columns.map((column) => `${column} = sales_by_day.${column} + excluded.${column}`).join(', ')}`,
        tenantId,
        day,
        currency,
        ...entries.map(([, value]) => value),
      );
    };
    switch (event.type) {
      case 'order.created':
        await tx.run(
          'INSERT INTO sales_order_currency (tenant_id, order_id, currency) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
          tenantId,
          orderId,
          event.data.currency,
        );
        await add(event.data.currency, { ordersPlaced: 1, orderedAmount: event.data.total });
        return;
      case 'payment.processed':
        await add(event.data.currency, { paidAmount: event.data.amount });
        return;
      case 'order.refunded':
        await add(event.data.currency, { refundedAmount: event.data.amount });
        return;
      case 'order.cancelled': {
        const known = await tx.get<{ currency: string }>(
          'SELECT currency FROM sales_order_currency WHERE tenant_id = ? AND order_id = ?',
          tenantId,
          orderId,
        );
        if (known) await add(known.currency, { ordersCancelled: 1 });
        return;
      }
      default:
        return;
    }
  },
  async reset(tx) {
    await tx.run('DELETE FROM sales_by_day');
    await tx.run('DELETE FROM sales_order_currency');
  },
});

/** Days in [from, to] (YYYY-MM-DD, inclusive), oldest first. */
export async function getSalesByDay(tx: ReadModelTx, tenantId: string, from: string, to: string): Promise<DailySales[]> {
  return (
    await tx.all<Record<string, string | number>>(
      `SELECT day, currency, orders_placed, ordered_amount, paid_amount, refunded_amount, orders_cancelled
       FROM sales_by_day WHERE tenant_id = ? AND day >= ? AND day <= ? ORDER BY day, currency`,
      tenantId,
      from,
      to,
    )
  ).map((row) => ({
      day: String(row.day),
      currency: String(row.currency),
      ordersPlaced: Number(row.orders_placed),
      orderedAmount: Number(row.ordered_amount),
      paidAmount: Number(row.paid_amount),
      refundedAmount: Number(row.refunded_amount),
      ordersCancelled: Number(row.orders_cancelled),
    }));
}
