// Per tenant, day (UTC, of the event's occurredAt) and currency: orders placed and their value,
// money received, money refunded, orders cancelled. The amounts are sums over every order of the
// day: kept as decimal text and added as BigInt, so they stay exact past 2^53 (and past SQLite's
// 2^63), and answered as decimal strings.
import { defineProjection } from '../src/readmodels/projection.js';
import type { ReadModelTx } from '../src/readmodels/read-model-store.js';
import { addDecimal, toBigInt } from '../src/readmodels/exact-sums.js';

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

/** Adds to one day's row: counts in SQL, amounts read, added as BigInt and written back as text. */
async function addToDay(tx: ReadModelTx, tenantId: string, day: string, currency: string, changes: Change): Promise<void> {
  const key = [tenantId, day, currency];
  const counts = Object.entries(COUNTS) as [keyof typeof COUNTS, string][];
  const amounts = Object.entries(AMOUNTS) as [keyof typeof AMOUNTS, string][];
  if (tx.dialect === 'postgres') {
    // One upsert, summed by the server (numeric is exact at any size): workers on other hosts
    // adding to the same day at once cannot lose each other's additions.
    const columns = [...counts, ...amounts].map(([, column]) => column);
    await tx.write(
      `INSERT INTO sales_by_day (tenant_id, day, currency, ${columns.join(', ')}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (tenant_id, day, currency) DO UPDATE SET ${[
         ...counts.map(([, column]) => `${column} = sales_by_day.${column} + excluded.${column}`),
         ...amounts.map(([, column]) => `${column} = CAST(CAST(sales_by_day.${column} AS NUMERIC) + CAST(excluded.${column} AS NUMERIC) AS TEXT)`),
       ].join(', ')}`,
      ...key,
      ...counts.map(([field]) => changes[field] ?? 0),
      ...amounts.map(([field]) => String(changes[field] ?? 0)),
    );
    return;
  }
  // SQLite: one writer at a time, so reading the row and writing it back is safe.
  const row = await tx.get<Record<string, unknown>>(
    'SELECT CAST(ordered_amount AS TEXT) AS ordered_amount, CAST(paid_amount AS TEXT) AS paid_amount, CAST(refunded_amount AS TEXT) AS refunded_amount FROM sales_by_day WHERE tenant_id = ? AND day = ? AND currency = ?',
    ...key,
  );
  if (!row) {
    // The day's first event: one insert with every column.
    await tx.write(
      `INSERT INTO sales_by_day (tenant_id, day, currency, ${[...counts, ...amounts].map(([, column]) => column).join(', ')}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ...key,
      ...counts.map(([field]) => changes[field] ?? 0),
      ...amounts.map(([field]) => String(changes[field] ?? 0)),
    );
    return;
  }
  const sets: string[] = [];
  const values: unknown[] = [];
  for (const [field, column] of counts) {
    const change = changes[field];
    if (change !== undefined) {
      sets.push(`${column} = ${column} + ?`);
      values.push(change);
    }
  }
  for (const [field, column] of amounts) {
    const change = changes[field];
    if (change !== undefined) {
      sets.push(`${column} = ?`);
      values.push(addDecimal(row[column] ?? '0', change));
    }
  }
  if (sets.length > 0) await tx.write(`UPDATE sales_by_day SET ${sets.join(', ')} WHERE tenant_id = ? AND day = ? AND currency = ?`, ...values, ...key);
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
