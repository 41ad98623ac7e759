// Stock per tenant and SKU: on hand (set by the tenant), reserved by open orders, and the
// shortages of orders placed for more than was available.
import type { ReadModelTx } from '../readmodels/read-model-store.js';

export const INVENTORY_SCHEMA = `
  CREATE TABLE IF NOT EXISTS inventory_stock (
    tenant_id TEXT NOT NULL,
    sku TEXT NOT NULL,
    on_hand INTEGER NOT NULL DEFAULT 0,
    reserved INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, sku)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS inventory_reservations (
    tenant_id TEXT NOT NULL,
    order_id TEXT NOT NULL,
    sku TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    shortage INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, order_id, sku)
  ) WITHOUT ROWID;
  -- 'reserved' or 'released'; a release seen before the reservation (events of one order may be
  -- delivered out of order) is remembered so the late reservation is not made.
  CREATE TABLE IF NOT EXISTS inventory_orders (
    tenant_id TEXT NOT NULL,
    order_id TEXT NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (tenant_id, order_id)
  ) WITHOUT ROWID;
`;

export interface StockLevel {
  sku: string;
  onHand: number;
  reserved: number;
  /** onHand - reserved, never below 0. */
  available: number;
  /** Units reserved beyond what is on hand. */
  shortage: number;
  /** Open reservations that were short when made. */
  shortOrders: { orderId: string; quantity: number; shortage: number }[];
}

type Line = { sku: string; quantity: number };

function ensureSku(tx: ReadModelTx, tenantId: string, sku: string, at: string): { on_hand: number; reserved: number } {
  tx.run('INSERT INTO inventory_stock (tenant_id, sku, updated_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING', tenantId, sku, at);
  return tx.get<{ on_hand: number; reserved: number }>('SELECT on_hand, reserved FROM inventory_stock WHERE tenant_id = ? AND sku = ?', tenantId, sku)!;
}

/** Reserves every line, recording any shortage; a no-op when the order was already released. */
export function reserveStock(tx: ReadModelTx, tenantId: string, orderId: string, lines: Line[], at: string): void {
  const known = tx.get<{ state: string }>('SELECT state FROM inventory_orders WHERE tenant_id = ? AND order_id = ?', tenantId, orderId);
  if (known) return;
  tx.run("INSERT INTO inventory_orders (tenant_id, order_id, state) VALUES (?, ?, 'reserved')", tenantId, orderId);
  const bySku = new Map<string, number>();
  for (const line of lines) bySku.set(line.sku, (bySku.get(line.sku) ?? 0) + line.quantity);
  for (const [sku, quantity] of bySku) {
    const stock = ensureSku(tx, tenantId, sku, at);
    const available = Math.max(0, stock.on_hand - stock.reserved);
    const shortage = Math.max(0, quantity - available);
    tx.run(
      'INSERT INTO inventory_reservations (tenant_id, order_id, sku, quantity, shortage) VALUES (?, ?, ?, ?, ?)',
      tenantId,
      orderId,
      sku,
      quantity,
      shortage,
    );
    tx.run('UPDATE inventory_stock SET reserved = reserved + ?, updated_at = ? WHERE tenant_id = ? AND sku = ?', quantity, at, tenantId, sku);
  }
}

/** Gives back what the order reserved; remembers the release if the reservation comes later. */
export function releaseStock(tx: ReadModelTx, tenantId: string, orderId: string, at: string): void {
  const known = tx.get<{ state: string }>('SELECT state FROM inventory_orders WHERE tenant_id = ? AND order_id = ?', tenantId, orderId);
  if (known?.state === 'released') return;
  tx.run(
    `INSERT INTO inventory_orders (tenant_id, order_id, state) VALUES (?, ?, 'released')
     ON CONFLICT (tenant_id, order_id) DO UPDATE SET state = 'released'`,
    tenantId,
    orderId,
  );
  if (!known) return;
  const lines = tx.all<Line>('SELECT sku, quantity FROM inventory_reservations WHERE tenant_id = ? AND order_id = ?', tenantId, orderId);
  for (const line of lines) {
    tx.run('UPDATE inventory_stock SET reserved = reserved - ?, updated_at = ? WHERE tenant_id = ? AND sku = ?', line.quantity, at, tenantId, line.sku);
  }
  tx.run('DELETE FROM inventory_reservations WHERE tenant_id = ? AND order_id = ?', tenantId, orderId);
}

/** Sets the units on hand (a stock count or a delivery from the supplier). */
export function setStockOnHand(tx: ReadModelTx, tenantId: string, sku: string, onHand: number, at: string): void {
  tx.run(
    `INSERT INTO inventory_stock (tenant_id, sku, on_hand, updated_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (tenant_id, sku) DO UPDATE SET on_hand = excluded.on_hand, updated_at = excluded.updated_at`,
    tenantId,
    sku,
    onHand,
    at,
  );
}

export function getStockLevel(tx: ReadModelTx, tenantId: string, sku: string): StockLevel | undefined {
  const stock = tx.get<{ on_hand: number; reserved: number }>('SELECT on_hand, reserved FROM inventory_stock WHERE tenant_id = ? AND sku = ?', tenantId, sku);
  if (!stock) return undefined;
  const shortOrders = tx.all<{ orderId: string; quantity: number; shortage: number }>(
    `SELECT order_id AS orderId, quantity, shortage FROM inventory_reservations
     WHERE tenant_id = ? AND sku = ? AND shortage > 0 ORDER BY order_id`,
    tenantId,
    sku,
  );
  return {
    sku,
    onHand: stock.on_hand,
    reserved: stock.reserved,
    available: Math.max(0, stock.on_hand - stock.reserved),
    shortage: Math.max(0, stock.reserved - stock.on_hand),
    shortOrders,
  };
}
