// Per tenant, day (UTC, of the event's occurredAt) and currency: orders placed and their value,
// money received, money refunded, orders cancelled. The amounts are sums over every order of the
// day: kept as decimal text and added as BigInt, so they stay exact past 2^53 (and past SQLite's
// 2^63), and answered as decimal strings.
import { defineProjection } from '../src/readmodels/projection.js';
import type { ReadModelTx } from '../src/readmodels/read-model-store.js';
import { addToSums, toBigInt } from '../src/readmodels/exact-sums.js';

export interface DailySales {
  day: string;
  currency: string;
  ordersPlaced: number;
  /** Decimal strings of minor units. */
  orderedAmount: string;
  paidAmount: string;
  refundedAmount: string;
  ordersCancelled: number;
}

const COUNTS = { ordersPlaced: 'orders_placed', ordersCancelled: 'orders_cancelled' } as const;
const AMOUNTS = { orderedAmount: 'ordered_amount', paidAmount: 'paid_amount', refundedAmount: 'refunded_amount' } as const;
type Change = Partial<Record<keyof typeof COUNTS | keyof typeof AMOUNTS, number>>;

const SCHEMA = `
    CREATE TABLE IF NOT EXISTS sales_by_day (
      tenant_id TEXT NOT NULL,
      day TEXT NOT NULL,
      currency TEXT NOT NULL,
      orders_placed INTEGER NOT NULL DEFAULT 0,
      -- Decimal text: exact sums of any size (a database made before kept INTEGER columns, exact
      -- to 2^63; orders replay sales-by-day remakes them as TEXT).
      ordered_amount TEXT NOT NULL DEFAULT '0',
      paid_amount TEXT NOT NULL DEFAULT '0',
      refunded_amount TEXT NOT NULL DEFAULT '0',
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
  `;

export default defineProjection({
  name: 'sales-by-day',
  handles: ['order.created', 'payment.processed', 'order.refunded', 'order.cancelled'],
  schema: SCHEMA,
  async apply(event, tx) {
    if (event.type === 'inventory.stock_set') return;
    const { tenantId, orderId, occurredAt } = event.data;
    const day = occurredAt.slice(0, 10);
    const add = (currency: string, changes: Change) => addToDay(tx, tenantId, day, currency, changes);
    switch (event.type) {
      case 'order.created':
        await tx.write(
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
    // Dropped and made again, so a table of an older version takes the current column types.
    await tx.exec('DROP TABLE IF EXISTS sales_by_day');
    await tx.exec('DROP TABLE IF EXISTS sales_order_currency');
    await tx.exec(SCHEMA);
  },
});

/**
 * Adds to one day's row (addToSums: one numeric upsert on PostgreSQL, amounts read and added as
 * BigInt on SQLite). Every column is named, zeros for what the event does not change: the same
 * statement for every event, which a batch can send as one.
 */
async function addToDay(tx: ReadModelTx, tenantId: string, day: string, currency: string, changes: Change): Promise<void> {
  const columnsOf = <Names extends Record<string, string>>(names: Names) => Object.fromEntries(Object.entries(names).map(([field, column]) => [column, changes[field as keyof Change] ?? 0]));
  await addToSums(tx, 'sales_by_day', { tenant_id: tenantId, day, currency }, columnsOf(COUNTS), columnsOf(AMOUNTS));
}

/** Days in [from, to] (YYYY-MM-DD, inclusive), oldest first. */
export async function getSalesByDay(tx: ReadModelTx, tenantId: string, from: string, to: string): Promise<DailySales[]> {
  return (
    await tx.all<Record<string, string | number>>(
      `SELECT day, currency, orders_placed, CAST(ordered_amount AS TEXT) AS ordered_amount, CAST(paid_amount AS TEXT) AS paid_amount,
         CAST(refunded_amount AS TEXT) AS refunded_amount, orders_cancelled
       FROM sales_by_day WHERE tenant_id = ? AND day >= ? AND day <= ? ORDER BY day, currency`,
      tenantId,
      from,
      to,
    )
  ).map((row) => ({
    day: String(row.day),
    currency: String(row.currency),
    ordersPlaced: Number(row.orders_placed),
    orderedAmount: toBigInt(row.ordered_amount).toString(),
    paidAmount: toBigInt(row.paid_amount).toString(),
    refundedAmount: toBigInt(row.refunded_amount).toString(),
    ordersCancelled: Number(row.orders_cancelled),
  }));
}
