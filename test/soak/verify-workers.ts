// What the handlers and projections must show once they caught up: each processed every event
// exactly once in effect. Read models equal a fresh replay, one notification per order event that
// calls for one, one WhatsApp message per status the customer hears about, stock reservations that
// add up, analytics that count every event once, and every parked event accounted for.
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { EventStoreDBClient } from '@eventstore/db-client';
import { projections } from '../../projections/index.js';
import { listGroups } from '../../src/cli/subscription-groups.js';
import { readParked } from '../../src/cli/parked-command.js';
import { loadHandlerConfig } from '../../src/handlers/handler-config.js';
import { createHandlers } from '../../src/handlers/index.js';
import { STATUS_TEMPLATES } from '../../src/handlers/whatsapp-message.js';
import { readModelFileIn } from '../../src/readmodels/read-model-store.js';
import type { OrderStatus } from '../../src/orders/events.js';
import { compareWithFreshReplay } from './fresh-replay.js';
import type { StoreHistory, StoredEvent } from './store-history.js';

const GROUP_PREFIX = 'order-store.';

export interface WorkerCounts {
  /** handler -> events it recorded as handled. */
  handled: Record<string, number>;
  notifications: number;
  whatsappMessages: number;
  /** Units reserved across tenants and SKUs. */
  unitsReserved: number;
  analyticsEvents: number;
  /** projection -> rows rebuilt by the dry-run replay. */
  replayedRows: Record<string, number>;
  /** group -> parked events. */
  parked: Record<string, number>;
  catchUpSeconds: number;
}

type Db = Database.Database;

interface Expected {
  /** handler -> ids of the order events of the types it handles. */
  handlerEvents: Map<string, Set<string>>;
  /** order stream -> last revision. */
  lastRevisions: Map<string, number>;
}

function expectedWork(history: StoreHistory): Expected {
  const handlerEvents = new Map<string, Set<string>>();
  const all = [...history.orders.values()].flat();
  for (const handler of createHandlers(loadHandlerConfig({}))) {
    const types = new Set<string>(handler.handles);
    handlerEvents.set(handler.name, new Set(all.filter((event) => types.has(event.type)).map((event) => event.id)));
  }
  const lastRevisions = new Map<string, number>();
  for (const events of history.orders.values()) {
    const last = events[events.length - 1];
    if (last) lastRevisions.set(last.streamId, last.revision);
  }
  return { handlerEvents, lastRevisions };
}

/** What is still to do; empty once every handler and projection caught up. */
function backlog(db: Db, expected: Expected): string[] {
  const left: string[] = [];
  for (const [handler, ids] of expected.handlerEvents) {
    const handled = (db.prepare('SELECT count(*) AS n FROM handled_events WHERE handler = ?').get(handler) as { n: number }).n;
    if (handled < ids.size) left.push(`handler ${handler}: ${handled} of ${ids.size} events handled`);
  }
  for (const projection of projections) {
    const rows = db.prepare('SELECT stream_id AS stream, revision FROM projection_revisions WHERE projection = ?').all(projection.name) as { stream: string; revision: number }[];
    const applied = new Map(rows.map((row) => [row.stream, row.revision]));
    let behind = 0;
    for (const [stream, revision] of expected.lastRevisions) if ((applied.get(stream) ?? -1) < revision) behind++;
    if (behind > 0) left.push(`projection ${projection.name}: ${behind} of ${expected.lastRevisions.size} orders behind`);
  }
  return left;
}

/** Waits for the workers of the still-running service to process everything in the store. */
export async function waitForWorkers(dataDir: string, history: StoreHistory, timeoutMs: number): Promise<{ seconds: number; left: string[] }> {
  const file = readModelFileIn(dataDir);
  const expected = expectedWork(history);
  const started = performance.now();
  let left = ['the read-model database does not exist: did the workers run?'];
  while (performance.now() - started < timeoutMs) {
    if (existsSync(file)) {
      const db = new Database(file, { readonly: true });
      try {
        left = backlog(db, expected);
      } catch (error) {
        left = [`read models not readable yet: ${(error as Error).message}`];
      } finally {
        db.close();
      }
      if (left.length === 0) break;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return { seconds: (performance.now() - started) / 1000, left };
}

export async function verifyWorkers(options: {
  client: EventStoreDBClient;
  dataDir: string;
  history: StoreHistory;
}): Promise<{ counts: WorkerCounts; violations: string[] }> {
  const { client, dataDir, history } = options;
  const violations: string[] = [];
  const counts: WorkerCounts = { handled: {}, notifications: 0, whatsappMessages: 0, unitsReserved: 0, analyticsEvents: 0, replayedRows: {}, parked: {}, catchUpSeconds: 0 };
  const file = readModelFileIn(dataDir);
  if (!existsSync(file)) return { counts, violations: ['no read-model database: the workers never ran'] };
  const expected = expectedWork(history);
  const orderEvents = [...history.orders.values()].flat();
  const byId = new Map(orderEvents.map((event) => [event.id, event]));

  const db = new Database(file, { readonly: true });
  try {
    for (const [handler, ids] of expected.handlerEvents) {
      const handled = new Set((db.prepare('SELECT event_id AS id FROM handled_events WHERE handler = ?').all(handler) as { id: string }[]).map((row) => row.id));
      counts.handled[handler] = handled.size;
      const missing = [...ids].filter((id) => !handled.has(id));
      const foreign = [...handled].filter((id) => !ids.has(id));
      if (missing.length) violations.push(`handler ${handler} never handled ${missing.length} events (e.g. ${describe(byId.get(missing[0]!))})`);
      if (foreign.length) violations.push(`handler ${handler} recorded ${foreign.length} events that are not order events of its types (e.g. ${foreign[0]})`);
    }
    violations.push(...checkNotifications(history, counts));
    violations.push(...checkWhatsApp(db, history, counts));
    violations.push(...checkInventory(db, history, counts));
    violations.push(...checkAnalytics(db, history, counts));
    // The projections park each on its own, in the read models: nothing should park there either.
    const hasParkedTable = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'projection_parked'").get() !== undefined;
    const projectionParked = hasParkedTable ? (db.prepare('SELECT projection, stream_id, revision, event_type, reason FROM projection_parked').all() as Array<Record<string, string | number>>) : [];
    for (const entry of projectionParked) violations.push(`projection ${entry.projection} parked ${entry.event_type} ${entry.stream_id}@${entry.revision}: ${entry.reason}`);
  } finally {
    db.close();
  }

  for (const projection of projections) {
    const tables = await compareWithFreshReplay(projection, history.orderEventsInCommitOrder, file);
    counts.replayedRows[projection.name] = tables.reduce((sum, table) => sum + table.replayedRows, 0);
    for (const table of tables) {
      if (table.onlyLive || table.onlyReplayed) {
        violations.push(
          `projection ${projection.name}, table ${table.table}: the live model differs from a fresh replay (${table.liveRows} live rows, ${table.replayedRows} replayed; ${table.onlyLive} only live, ${table.onlyReplayed} only replayed)`,
        );
      }
    }
  }

  for (const info of await listGroups(client)) {
    if (!info.groupName.startsWith(GROUP_PREFIX)) continue;
    const parked = await readParked(client, info);
    counts.parked[info.groupName] = parked.length;
    // Every event the soak writes is valid and every handler can process it: nothing should park.
    for (const entry of parked) {
      violations.push(`group ${info.groupName} parked ${entry.type ?? '?'} ${entry.stream ?? '?'}@${entry.revision ?? '?'}: ${entry.reason ?? 'no reason given'}`);
    }
  }
  return { counts, violations };
}

function describe(event: StoredEvent | undefined): string {
  return event ? `${event.type} ${event.streamId}@${event.revision}` : 'unknown event';
}

function checkNotifications(history: StoreHistory, counts: WorkerCounts): string[] {
  const problems: string[] = [];
  for (const [orderId, events] of history.orders) {
    const causes = events.filter((event) => event.type === 'order.created' || event.type === 'order.status_changed');
    const notifications = history.notifications.get(orderId) ?? [];
    counts.notifications += notifications.length;
    const byCause = new Map<string, number>();
    for (const notification of notifications) {
      const cause = String(notification.metadata.$causationId);
      byCause.set(cause, (byCause.get(cause) ?? 0) + 1);
    }
    for (const [cause, times] of byCause) {
      if (times > 1) problems.push(`order ${orderId}: ${times} notifications for one event (${cause})`);
      if (!causes.some((event) => event.id === cause)) problems.push(`order ${orderId}: a notification caused by ${cause}, which is not one of its events`);
    }
    const unnotified = causes.filter((event) => !byCause.has(event.id));
    if (unnotified.length) problems.push(`order ${orderId}: no notification for ${unnotified.map(describe).join(', ')}`);
  }
  return problems;
}

function checkWhatsApp(db: Db, history: StoreHistory, counts: WorkerCounts): string[] {
  const problems: string[] = [];
  const rows = db.prepare('SELECT order_id AS orderId, event_id AS eventId, template FROM whatsapp_outbox').all() as { orderId: string; eventId: string; template: string }[];
  counts.whatsappMessages = rows.length;
  const expected = new Set<string>();
  for (const events of history.orders.values()) {
    const created = events.find((event) => event.type === 'order.created');
    const phone = (created?.data.customer as { phone?: string } | undefined)?.phone;
    if (!phone) continue;
    for (const event of events) {
      if (event.type === 'order.status_changed' && STATUS_TEMPLATES[event.data.newStatus as OrderStatus]) expected.add(event.id);
    }
  }
  const perTemplate = new Map<string, number>();
  for (const row of rows) {
    const key = `${row.orderId} ${row.template}`;
    perTemplate.set(key, (perTemplate.get(key) ?? 0) + 1);
    if (!expected.has(row.eventId)) problems.push(`WhatsApp outbox: message ${row.template} for order ${row.orderId} caused by ${row.eventId}, which calls for none`);
  }
  // Each order reaches each status at most once in the soak's lifecycles.
  for (const [key, times] of perTemplate) if (times > 1) problems.push(`WhatsApp outbox: ${times} messages ${key.split(' ')[1]} for order ${key.split(' ')[0]}`);
  const sent = new Set(rows.map((row) => row.eventId));
  const missing = [...expected].filter((id) => !sent.has(id));
  if (missing.length) problems.push(`WhatsApp outbox: ${missing.length} status changes got no message`);
  return problems;
}

/** The inventory projection: what open orders hold, and what shipped, per tenant and SKU. */
function checkInventory(db: Db, history: StoreHistory, counts: WorkerCounts): string[] {
  const problems: string[] = [];
  const want = new Map<string, { reserved: number; shipped: number }>();
  for (const events of history.orders.values()) {
    const created = events.find((event) => event.type === 'order.created');
    if (!created) continue;
    const tenant = String(created.data.tenantId);
    const shipped = events.some((event) => event.type === 'order.shipped');
    const released = !shipped && events.some((event) => event.type === 'order.cancelled' || event.type === 'order.refunded');
    for (const item of created.data.items as { sku: string; quantity: number }[]) {
      const key = `${tenant} ${item.sku}`;
      const entry = want.get(key) ?? { reserved: 0, shipped: 0 };
      if (shipped) entry.shipped += item.quantity;
      else if (!released) entry.reserved += item.quantity;
      want.set(key, entry);
    }
  }
  const rows = db
    .prepare(
      `SELECT tenant_id AS tenant, sku, COALESCE(SUM(CASE WHEN state = 'reserved' THEN quantity END), 0) AS reserved,
              COALESCE(SUM(CASE WHEN shipped_position IS NOT NULL THEN quantity END), 0) AS shipped
       FROM inventory_lines GROUP BY tenant_id, sku`,
    )
    .all() as { tenant: string; sku: string; reserved: number; shipped: number }[];
  const have = new Map(rows.map((row) => [`${row.tenant} ${row.sku}`, row]));
  for (const key of new Set([...want.keys(), ...have.keys()])) {
    const expected = want.get(key) ?? { reserved: 0, shipped: 0 };
    const found = have.get(key) ?? { reserved: 0, shipped: 0 };
    counts.unitsReserved += found.reserved;
    if (found.reserved !== expected.reserved || found.shipped !== expected.shipped) {
      problems.push(`inventory ${key}: ${found.reserved} reserved and ${found.shipped} shipped, the orders call for ${expected.reserved} and ${expected.shipped}`);
    }
  }
  return problems;
}

function checkAnalytics(db: Db, history: StoreHistory, counts: WorkerCounts): string[] {
  const problems: string[] = [];
  const rows = db.prepare('SELECT event_id AS id FROM analytics_events').all() as { id: string }[];
  counts.analyticsEvents = rows.length;
  const recorded = new Set(rows.map((row) => row.id));
  const events = [...history.orders.values()].flat();
  const missing = events.filter((event) => !recorded.has(event.id)).length;
  if (missing || rows.length !== events.length) problems.push(`analytics: ${rows.length} events recorded for ${events.length} order events (${missing} missing)`);
  const statuses = db.prepare('SELECT order_id AS orderId, status FROM analytics_orders').all() as { orderId: string; status: string }[];
  const statusOf = new Map(statuses.map((row) => [row.orderId, row.status]));
  let wrong = 0;
  for (const [orderId, orderEvents] of history.orders) {
    const changes = orderEvents.filter((event) => event.type === 'order.status_changed');
    const final = changes.length ? String(changes[changes.length - 1]!.data.newStatus) : 'PENDING';
    if (statusOf.get(orderId) !== final) wrong++;
  }
  if (wrong) problems.push(`analytics: ${wrong} orders show a status other than their last`);
  return problems;
}
