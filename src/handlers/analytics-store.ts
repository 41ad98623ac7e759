// Analytics: every order event per tenant (type, time, status change, amount) and each order's
// latest status and value, for sales per status and activity per day.
import type { ReadModelTx } from '../readmodels/read-model-store.js';
import { sumsExactly } from '../readmodels/exact-sums.js';

export const ANALYTICS_SCHEMA = `
  CREATE TABLE IF NOT EXISTS analytics_events (
    tenant_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    order_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    day TEXT NOT NULL,
    old_status TEXT,
    new_status TEXT,
    amount INTEGER,
    currency TEXT,
    PRIMARY KEY (tenant_id, event_id)
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS analytics_events_by_day ON analytics_events (tenant_id, day, event_type);
  -- The latest status wins by stream revision, so out-of-order delivery cannot roll it back.
  CREATE TABLE IF NOT EXISTS analytics_orders (
    tenant_id TEXT NOT NULL,
    order_id TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'PENDING',
    status_revision INTEGER NOT NULL DEFAULT -1,
    total INTEGER,
    currency TEXT,
    PRIMARY KEY (tenant_id, order_id)
  ) WITHOUT ROWID;
`;

export interface RecordedOrderEvent {
  tenantId: string;
  eventId: string;
  orderId: string;
  type: string;
  occurredAt: string;
  revision: number;
  oldStatus?: string;
  newStatus?: string;
  amount?: number;
  currency?: string;
  /** On order.created: the order's value. */
  total?: number;
}

export async function recordOrderEvent(tx: ReadModelTx, event: RecordedOrderEvent): Promise<void> {
  await tx.write(
    `INSERT INTO analytics_events (tenant_id, event_id, order_id, event_type, occurred_at, day, old_status, new_status, amount, currency)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    event.tenantId,
    event.eventId,
    event.orderId,
    event.type,
    event.occurredAt,
    event.occurredAt.slice(0, 10),
    event.oldStatus ?? null,
    event.newStatus ?? null,
    event.amount ?? null,
    event.currency ?? null,
  );
  // The order's row in one upsert: made on its first event; the value from order.created; the
  // status from the event of the highest revision that carries one (-1: carries none).
  const statusRevision = event.newStatus !== undefined ? event.revision : -1;
  await tx.write(
    `INSERT INTO analytics_orders (tenant_id, order_id, status, status_revision, total, currency) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (tenant_id, order_id) DO UPDATE SET
       status = CASE WHEN excluded.status_revision > analytics_orders.status_revision THEN excluded.status ELSE analytics_orders.status END,
       status_revision = CASE WHEN excluded.status_revision > analytics_orders.status_revision THEN excluded.status_revision ELSE analytics_orders.status_revision END,
       total = CASE WHEN excluded.total IS NULL THEN analytics_orders.total ELSE excluded.total END,
       currency = CASE WHEN excluded.total IS NULL THEN analytics_orders.currency ELSE excluded.currency END`,
    event.tenantId,
    event.orderId,
    event.newStatus ?? 'PENDING',
    statusRevision,
    event.total ?? null,
    event.total !== undefined ? (event.currency ?? null) : null,
  );
}

export interface SalesByStatus {
  status: string;
  currency: string;
  orders: number;
  /** Decimal string of minor units: exact however many orders it sums. */
  total: string;
}

/** Orders per current status and currency, with their summed value. */
export async function getSalesByStatus(tx: ReadModelTx, tenantId: string): Promise<SalesByStatus[]> {
  const where = 'FROM analytics_orders WHERE tenant_id = ? AND currency IS NOT NULL';
  const rows = await sumsExactly<{ status: string; currency: string; orders: number; total: string }>(tx, {
    grouped: `SELECT status, currency, COUNT(*) AS orders, CAST(COALESCE(SUM(total), 0) AS TEXT) AS total ${where} GROUP BY status, currency ORDER BY status, currency`,
    perRow: `SELECT status, currency, 1 AS orders, CAST(COALESCE(total, 0) AS TEXT) AS total ${where} ORDER BY status, currency`,
    params: [tenantId],
    keys: ['status', 'currency'],
    sums: ['total'],
    counts: ['orders'],
  });
  return rows.map(({ status, currency, orders, total }) => ({ status, currency, orders, total }));
}

export interface DailyActivity {
  day: string;
  eventType: string;
  events: number;
  /** Decimal string of minor units. */
  amount: string;
}

/** Order events per day and type in [from, to] (YYYY-MM-DD, inclusive). */
export async function getDailyActivity(tx: ReadModelTx, tenantId: string, from: string, to: string): Promise<DailyActivity[]> {
  const where = 'FROM analytics_events WHERE tenant_id = ? AND day >= ? AND day <= ?';
  return sumsExactly<DailyActivity>(tx, {
    grouped: `SELECT day, event_type AS "eventType", COUNT(*) AS events, CAST(COALESCE(SUM(amount), 0) AS TEXT) AS amount ${where} GROUP BY day, event_type ORDER BY day, event_type`,
    perRow: `SELECT day, event_type AS "eventType", 1 AS events, CAST(COALESCE(amount, 0) AS TEXT) AS amount ${where} ORDER BY day, event_type`,
    params: [tenantId, from, to],
    keys: ['day', 'eventType'],
    sums: ['amount'],
    counts: ['events'],
  });
}
