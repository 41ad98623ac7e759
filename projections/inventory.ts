// Stock per tenant and SKU, rebuilt from the history alone: the counts the tenant records
// (`inventory.stock_set`, from PUT /inventory/:sku) and what its orders did with the items.
//
// The stock rule:
// - reserved   = units of open orders (PENDING or PAID): an order holds its items from creation
// - shipping takes the items out of stock: on hand goes down, reserved goes down
// - cancelling (before shipping) releases them; so does refunding a paid order that never shipped
// - a return puts the items back on hand (RETURN_POLICY: returned goods are restocked), and a
//   refund after a return changes nothing more
// - on hand   = the last count, minus units shipped after it, plus units returned after it
//               (never below 0: shipping more than was counted means the count was low)
// - available = on hand - reserved (never below 0); shortage = reserved - on hand (never below 0)
// - short orders: open orders take the units on hand in the order they were placed; those that
//   get less than they hold are short, by what they miss
//
// An order's events arrive in its stream's order (the revision guard), but a count and an
// order's events may be applied in any order: each change remembers its $all position, so the
// result does not depend on the order of application. The figures are kept as the events come, a
// row per SKU (inventory_figures: the latest count applied and its position, units reserved, units
// shipped and returned after that count), so a read of them is one row whatever the number of
// orders: a shipment or return adds to them only when later in $all than the count there, and a
// count applied takes them again from the SKU's lines. Under PostgreSQL a count locks the SKU's
// row before it reads the lines, so a shipment committed meanwhile on another host is either in
// what it reads or added after it.
import { defineProjection } from '../src/readmodels/projection.js';
import type { ReadModelStore, ReadModelTx } from '../src/readmodels/read-model-store.js';
import { InvalidCursorError, decodeCursor, encodeCursor } from '../src/readmodels/cursor.js';

/** What a return does to stock. Restocking is the default: returned goods are sellable again. */
export const RETURN_POLICY = 'restock' as const;

export interface ShortOrder {
  orderId: string;
  quantity: number;
  shortage: number;
}

export interface StockLevel {
  sku: string;
  onHand: number;
  reserved: number;
  available: number;
  shortage: number;
  /** Open orders not covered by the units on hand, oldest first (one page). */
  shortOrders: ShortOrder[];
  /** Pass as `cursor` for the next page of short orders; absent on the last page. */
  nextCursor?: string;
}

/** A count not applied yet (just appended): the level as it is once it is. */
export interface PendingCount {
  onHand: number;
  position: number;
}

type LineState = 'reserved' | 'released' | 'shipped' | 'returned';

export default defineProjection({
  name: 'inventory',
  // 2: inventory_figures, made by replaying the history (see version in projection.ts).
  version: 2,
  handles: ['inventory.stock_set', 'order.created', 'order.shipped', 'order.cancelled', 'order.returned', 'order.refunded'],
  schema: `
    CREATE TABLE IF NOT EXISTS inventory_counts (
      tenant_id TEXT NOT NULL,
      sku TEXT NOT NULL,
      on_hand INTEGER NOT NULL,
      counted_position INTEGER NOT NULL,
      counted_at TEXT NOT NULL,
      PRIMARY KEY (tenant_id, sku)
    ) WITHOUT ROWID;
    -- One row per order and SKU: what the order holds and what became of it.
    CREATE TABLE IF NOT EXISTS inventory_lines (
      tenant_id TEXT NOT NULL,
      order_id TEXT NOT NULL,
      sku TEXT NOT NULL,
      quantity INTEGER NOT NULL,
      state TEXT NOT NULL,
      opened_position INTEGER NOT NULL,
      shipped_position INTEGER,
      returned_position INTEGER,
      PRIMARY KEY (tenant_id, order_id, sku)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS inventory_lines_by_sku ON inventory_lines (tenant_id, sku, state, opened_position, order_id);
    -- on_hand NULL and counted_position -1: never counted.
    CREATE TABLE IF NOT EXISTS inventory_figures (
      tenant_id TEXT NOT NULL,
      sku TEXT NOT NULL,
      on_hand INTEGER,
      counted_position INTEGER NOT NULL DEFAULT -1,
      reserved INTEGER NOT NULL DEFAULT 0,
      shipped INTEGER NOT NULL DEFAULT 0,
      returned INTEGER NOT NULL DEFAULT 0,
      PRIMARY KEY (tenant_id, sku)
    ) WITHOUT ROWID;
  `,
  async apply(event, tx) {
    const position = event.position ?? 0;
    if (event.type === 'inventory.stock_set') {
      const { tenantId, sku, onHand, occurredAt } = event.data;
      // The latest count in $all wins, whatever order the counts are applied in.
      await tx.write(
        `INSERT INTO inventory_counts (tenant_id, sku, on_hand, counted_position, counted_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (tenant_id, sku) DO UPDATE SET on_hand = excluded.on_hand, counted_position = excluded.counted_position, counted_at = excluded.counted_at
         WHERE excluded.counted_position > inventory_counts.counted_position`,
        tenantId,
        sku,
        onHand,
        position,
        occurredAt,
      );
      // The SKU's row first (locked on PostgreSQL), then what its lines did after this count.
      await tx.write('INSERT INTO inventory_figures (tenant_id, sku) VALUES (?, ?) ON CONFLICT (tenant_id, sku) DO UPDATE SET counted_position = inventory_figures.counted_position', tenantId, sku);
      await tx.write(
        `UPDATE inventory_figures SET on_hand = ?, counted_position = ?,
           shipped = (SELECT COALESCE(SUM(quantity), 0) FROM inventory_lines WHERE tenant_id = ? AND sku = ? AND shipped_position > ?),
           returned = (SELECT COALESCE(SUM(quantity), 0) FROM inventory_lines WHERE tenant_id = ? AND sku = ? AND returned_position > ?)
         WHERE tenant_id = ? AND sku = ? AND counted_position < ?`,
        onHand,
        position,
        tenantId,
        sku,
        position,
        tenantId,
        sku,
        position,
        tenantId,
        sku,
        position,
      );
      return;
    }
    const { tenantId, orderId } = event.data;
    // The order's lines in `from` move to `to`, and each SKU's figures with them (first, from
    // the lines still in `from`: writes only, no read back): `reserved` by what leaves it,
    // `counted` (shipped or returned) by what comes after the SKU's count.
    const move = async (from: LineState, to: LineState, column?: 'shipped_position' | 'returned_position', counted?: 'shipped' | 'returned') => {
      const sets = [...(from === 'reserved' ? ['reserved = inventory_figures.reserved - l.quantity'] : []), ...(counted ? [`${counted} = inventory_figures.${counted} + CASE WHEN inventory_figures.counted_position < ? THEN l.quantity ELSE 0 END`] : [])];
      await tx.write(
        `UPDATE inventory_figures SET ${sets.join(', ')} FROM inventory_lines l
         WHERE l.tenant_id = ? AND l.order_id = ? AND l.state = ? AND inventory_figures.tenant_id = l.tenant_id AND inventory_figures.sku = l.sku`,
        ...(counted ? [position] : []),
        tenantId,
        orderId,
        from,
      );
      await tx.write(
        `UPDATE inventory_lines SET state = ?${column ? `, ${column} = ?` : ''} WHERE tenant_id = ? AND order_id = ? AND state = ?`,
        to,
        ...(column ? [position] : []),
        tenantId,
        orderId,
        from,
      );
    };
    switch (event.type) {
      case 'order.created': {
        const bySku = new Map<string, number>();
        for (const item of event.data.items) bySku.set(item.sku, (bySku.get(item.sku) ?? 0) + item.quantity);
        for (const [sku, quantity] of bySku) {
          await tx.write(
            `INSERT INTO inventory_lines (tenant_id, order_id, sku, quantity, state, opened_position) VALUES (?, ?, ?, ?, 'reserved', ?)
             ON CONFLICT DO NOTHING`,
            tenantId,
            orderId,
            sku,
            quantity,
            position,
          );
          await tx.write(
            'INSERT INTO inventory_figures (tenant_id, sku, reserved) VALUES (?, ?, ?) ON CONFLICT (tenant_id, sku) DO UPDATE SET reserved = inventory_figures.reserved + excluded.reserved',
            tenantId,
            sku,
            quantity,
          );
        }
        return;
      }
      case 'order.shipped':
        await move('reserved', 'shipped', 'shipped_position', 'shipped');
        return;
      case 'order.cancelled':
      case 'order.refunded':
        // Cancelled before shipping, or a paid order refunded without shipping: released. A
        // refund after a return finds nothing reserved and changes nothing.
        await move('reserved', 'released');
        return;
      case 'order.returned':
        await move('shipped', 'returned', 'returned_position', 'returned');
        return;
      default:
        return;
    }
  },
  async reset(tx) {
    await tx.run('DELETE FROM inventory_counts');
    await tx.run('DELETE FROM inventory_lines');
    await tx.run('DELETE FROM inventory_figures');
  },
});

const DEFAULT_PAGE = 50;

/** The figures of a SKU's stock, without the short orders. */
export interface StockFigures {
  onHand: number;
  reserved: number;
}

/**
 * The SKU's row of figures (one statement: one consistent state on its own); zeros for a SKU
 * nobody counted or ordered. `pending` (a count not applied yet) overrides the count: what the
 * lines did after it is then summed from them.
 */
export async function getStockFigures(tx: ReadModelTx, tenantId: string, sku: string, pending?: PendingCount): Promise<StockFigures> {
  if (pending) return figuresAfter(tx, tenantId, sku, pending);
  const row = await tx.get<{ on_hand: number | null; reserved: number; shipped: number; returned: number }>(
    'SELECT on_hand, reserved, shipped, returned FROM inventory_figures WHERE tenant_id = ? AND sku = ?',
    tenantId,
    sku,
  );
  return figuresOf(row?.on_hand ?? 0, row ?? { reserved: 0, shipped: 0, returned: 0 });
}

function figuresOf(counted: number, row: { reserved: number; shipped: number; returned: number }): StockFigures {
  const restocked = RETURN_POLICY === 'restock' ? Number(row.returned) : 0;
  return { onHand: Math.max(0, Number(counted) - Number(row.shipped) + restocked), reserved: Number(row.reserved) };
}

/** A count not applied yet and what the SKU's lines did after it, summed from them in one statement. */
async function figuresAfter(tx: ReadModelTx, tenantId: string, sku: string, pending: PendingCount): Promise<StockFigures> {
  const row = (await tx.get<{ reserved: number; shipped: number; returned: number }>(
    `SELECT COALESCE(SUM(CASE WHEN state = 'reserved' THEN quantity END), 0) AS reserved,
       COALESCE(SUM(CASE WHEN shipped_position > ? THEN quantity END), 0) AS shipped,
       COALESCE(SUM(CASE WHEN returned_position > ? THEN quantity END), 0) AS returned
     FROM inventory_lines WHERE tenant_id = ? AND sku = ?`,
    pending.position,
    pending.position,
    tenantId,
    sku,
  ))!;
  return figuresOf(pending.onHand, row);
}

/** The stock of a SKU (zeros for one nobody counted or ordered); `pending` overrides the count. */
export async function getStockLevel(
  tx: ReadModelTx,
  tenantId: string,
  sku: string,
  page: { limit?: number; cursor?: string } = {},
  pending?: PendingCount,
): Promise<StockLevel> {
  const figures = await getStockFigures(tx, tenantId, sku, pending);
  const { items, nextCursor } = await shortOrders(tx, tenantId, sku, figures, page.limit ?? DEFAULT_PAGE, page.cursor);
  return stockLevel(sku, figures, items, nextCursor);
}

/**
 * getStockLevel in one statement for a SKU none of whose orders are short (the common case);
 * a short one's figures and short orders are read again together, in one snapshot.
 */
export async function readStockLevel(store: ReadModelStore, tenantId: string, sku: string, page: { limit?: number; cursor?: string } = {}): Promise<StockLevel> {
  const figures = await getStockFigures(store, tenantId, sku);
  if (figures.reserved > figures.onHand) return store.snapshot((tx) => getStockLevel(tx, tenantId, sku, page));
  if (page.cursor) positionCursor(page.cursor);
  return stockLevel(sku, figures, []);
}

function stockLevel(sku: string, figures: StockFigures, shortOrders: ShortOrder[], nextCursor?: string): StockLevel {
  return {
    sku,
    onHand: figures.onHand,
    reserved: figures.reserved,
    available: Math.max(0, figures.onHand - figures.reserved),
    shortage: Math.max(0, figures.reserved - figures.onHand),
    shortOrders,
    ...(nextCursor ? { nextCursor } : {}),
  };
}

/** Open orders, oldest first, take the units on hand; those left short, one keyset page. */
async function shortOrders(tx: ReadModelTx, tenantId: string, sku: string, figures: StockFigures, limit: number, cursor: string | undefined): Promise<{ items: ShortOrder[]; nextCursor?: string }> {
  const after = cursor ? positionCursor(cursor) : undefined;
  // The units on hand cover every open order: none is short.
  if (figures.reserved <= figures.onHand) return { items: [] };
  const { onHand } = figures;
  const rows = await tx.all<{ order_id: string; quantity: number; shortage: number; opened_position: number }>(
    `WITH open_orders AS (
       SELECT order_id, quantity, opened_position,
              SUM(quantity) OVER (ORDER BY opened_position, order_id ROWS UNBOUNDED PRECEDING) AS held
       FROM inventory_lines WHERE tenant_id = ? AND sku = ? AND state = 'reserved')
     SELECT order_id, quantity, CASE WHEN quantity < held - ? THEN quantity ELSE held - ? END AS shortage, opened_position FROM open_orders
     WHERE held > ? ${after ? 'AND (opened_position > ? OR (opened_position = ? AND order_id > ?))' : ''}
     ORDER BY opened_position, order_id LIMIT ?`,
    tenantId,
    sku,
    onHand,
    onHand,
    onHand,
    ...(after ? [after.position, after.position, after.orderId] : []),
    limit + 1,
  );
  const items = rows.slice(0, limit).map((row) => ({ orderId: row.order_id, quantity: row.quantity, shortage: row.shortage }));
  const last = rows[limit - 1];
  return rows.length > limit && last ? { items, nextCursor: encodeCursor({ createdAt: String(last.opened_position), orderId: last.order_id }) } : { items };
}

function positionCursor(text: string): { position: number; orderId: string } {
  const cursor = decodeCursor(text);
  if (!/^-?\d+$/.test(cursor.createdAt)) throw new InvalidCursorError();
  return { position: Number(cursor.createdAt), orderId: cursor.orderId };
}
