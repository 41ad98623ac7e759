// The API's paginated reads answered as JSON text the database builds: one field of one row (a
// page's array, from string_agg(row_to_json(...)) on PostgreSQL, json_group_array(json_object(...))
// on SQLite), spliced into the answer's envelope with its cursor, instead of ~13 columns x 21
// rows parsed by the driver, mapped, picked and stringified again in JavaScript. The answers are
// those of the row-mapping readers (projections/order-summary.ts listOrderSummaries,
// projections/orders-by-customer.ts readCustomerOrders) through the route's JSON writer, byte for
// byte: the same fields in the same order, numbers as numbers, NULL as null, the same escapes, the
// same cursor (test/unit/readmodels/json-pages.unit.test.ts holds them equal on both backends).
// On PostgreSQL the work moves rather than vanishes: a page of 20 costs the API ~0.13 ms less CPU
// and the server's backend ~0.13-0.19 ms more (docs/benchmarks.md, session 11): right while the
// API's main thread is what queues, a cost for a server that several API hosts share.
import { decodeCursor, encodeCursor } from './cursor.js';
import { toBigInt } from './exact-sums.js';
import type { Dialect, ReadModelTx, SqlParams } from './read-model-store.js';

/** An answer field and the SQL expression of its value (keys are ours: letters only). */
export type JsonField = readonly [key: string, expression: string];

/**
 * The JSON array, as text, of the rows of `item` (a subquery whose columns are the answer's
 * fields, named as in the answer), in `orderBy`'s order: `[]` for none. PostgreSQL: row_to_json
 * joined by string_agg (compact, as JSON.stringify writes it; json_build_object looks up the type
 * of every argument of every row and costs the backend twice the CPU); SQLite:
 * json_group_array(json_object(...)).
 */
function jsonArraySql(dialect: Dialect, keys: readonly string[], orderBy: string): string {
  if (dialect === 'postgres') return `COALESCE('[' || string_agg(CAST(row_to_json(item) AS TEXT), ',' ORDER BY ${orderBy}) || ']', '[]')`;
  return `json_group_array(json_object(${keys.map((key) => `'${key}', "${key}"`).join(', ')}) ORDER BY ${orderBy})`;
}

/** A keyset page newest first by (createdAt, orderId): the rows' JSON array and the cursor after it. */
export interface JsonPage {
  /** The page's items as a JSON array (text). */
  items: string;
  /** Pass as `cursor` for the next page; absent on the last page. */
  nextCursor?: string;
}

interface PageSpec {
  /** `FROM ... WHERE ...` of the rows (without the cursor's condition). */
  from: string;
  params: SqlParams;
  /** The page's fields, in the answer's order: orderId first, createdAt among them (the cursor's). */
  fields: readonly JsonField[];
  /** The SQL of the sort key (newest first). */
  createdAt: string;
  id: string;
  limit: number;
  cursor: string | undefined;
}

interface PageRow {
  items: string | null;
  rows: number | string | null;
}

/**
 * The SELECT of a page, one row: its limit + 1 rows by the keyset index as one JSON text
 * (`items`) and how many there were (`rows`). No window or numbering (planning it cost the
 * backend as much again: every execution is planned anew, plan_cache_mode=force_custom_plan);
 * pageOf takes the extra row off. Throws InvalidCursorError for a cursor this service did not issue.
 */
function pageSelect(dialect: Dialect, spec: PageSpec): { sql: string; params: SqlParams } {
  const after = spec.cursor ? decodeCursor(spec.cursor) : undefined;
  return {
    sql: statementFor(`${dialect} ${after ? 'after' : 'first'} ${spec.from}`, () => pageSql(dialect, spec, after !== undefined)),
    params: [...spec.params, ...(after ? [after.createdAt, after.createdAt, after.orderId] : []), spec.limit + 1],
  };
}

function pageSql(dialect: Dialect, spec: PageSpec, after: boolean): string {
  const keys = spec.fields.map(([key]) => key);
  for (const key of keys) if (!/^[A-Za-z]+$/.test(key)) throw new Error(`'${key}' is not a field name a JSON answer may have`);
  if (keys[0] !== 'orderId' || !keys.includes('createdAt')) throw new Error('a JSON page starts with orderId and has createdAt (its cursor)');
  return `SELECT ${jsonArraySql(dialect, keys, '"createdAt" DESC, "orderId" DESC')} AS items, COUNT(*) AS rows
     FROM (SELECT ${spec.fields.map(([key, expression]) => `${expression} AS "${key}"`).join(', ')} ${spec.from}
           ${after ? `AND (${spec.createdAt} < ? OR (${spec.createdAt} = ? AND ${spec.id} < ?))` : ''}
           ORDER BY ${spec.createdAt} DESC, ${spec.id} DESC LIMIT ?) item`;
}

/**
 * The statements, built once for each shape (dialect, filters, cursor or not): a read builds no
 * SQL, and the store's lookup of its prepared statement hashes a string V8 has hashed already.
 */
const statements = new Map<string, string>();
function statementFor(shape: string, build: () => string): string {
  let sql = statements.get(shape);
  if (sql === undefined) {
    sql = build();
    statements.set(shape, sql);
  }
  return sql;
}

/** Where an item starts in a page's JSON text (a raw `"` is never inside a JSON string: it is escaped there). */
const ITEM_START = ',{"orderId":';

/** The page of `limit` items from the limit + 1 rows read, and the cursor after its last one. */
function pageOf(row: PageRow | undefined, limit: number): JsonPage {
  const items = row?.items ?? '[]';
  if (!row || Number(row.rows) <= limit) return { items };
  const kept = `${items.slice(0, items.lastIndexOf(ITEM_START))}]`;
  const lastStart = kept.lastIndexOf(ITEM_START);
  const last = JSON.parse(kept.slice(lastStart === -1 ? 1 : lastStart + 1, -1)) as { orderId: string; createdAt: string };
  return { items: kept, nextCursor: encodeCursor({ createdAt: last.createdAt, orderId: last.orderId }) };
}

/** `,"nextCursor":"..."` when there is one (base64url: nothing to escape). */
function cursorField(page: JsonPage): string {
  return page.nextCursor === undefined ? '' : `,"nextCursor":"${page.nextCursor}"`;
}

const ORDER_SUMMARY_FIELDS: readonly JsonField[] = [
  ['orderId', 'order_id'],
  ['tenantId', 'tenant_id'],
  ['customerId', 'customer_id'],
  ['customerName', 'customer_name'],
  ['status', 'status'],
  ['currency', 'currency'],
  ['total', 'total'],
  ['paidAmount', 'paid_amount'],
  ['refundedAmount', 'refunded_amount'],
  ['itemCount', 'item_count'],
  ['createdAt', 'created_at'],
  ['updatedAt', 'updated_at'],
  ['revision', 'revision'],
];

export interface OrderSummaryFilter {
  tenantId: string;
  status?: string;
  customerId?: string;
  limit: number;
  cursor?: string;
}

/** The conditions of an order list but its cursor's (listOrderSummaries' too): tenant, status, customer. */
export function orderSummaryFilter(query: Omit<OrderSummaryFilter, 'limit' | 'cursor'>): { where: string[]; params: unknown[] } {
  const where = ['tenant_id = ?'];
  const params: unknown[] = [query.tenantId];
  if (query.status) {
    where.push('status = ?');
    params.push(query.status);
  }
  if (query.customerId) {
    where.push('customer_id = ?');
    params.push(query.customerId);
  }
  return { where, params };
}

/** GET /orders as JSON text: listOrderSummaries' page (`{"items":[...],"nextCursor":"..."}`). */
export async function orderSummaryPageJson(tx: ReadModelTx, query: OrderSummaryFilter): Promise<string> {
  const { where, params } = orderSummaryFilter(query);
  const select = pageSelect(tx.dialect, {
    from: `FROM order_summary WHERE ${where.join(' AND ')}`,
    params,
    fields: ORDER_SUMMARY_FIELDS,
    createdAt: 'created_at',
    id: 'order_id',
    limit: query.limit,
    cursor: query.cursor,
  });
  const page = pageOf(await tx.get<PageRow>(select.sql, ...select.params), query.limit);
  return `{"items":${page.items}${cursorField(page)}}`;
}

const CUSTOMER_ORDER_FIELDS: readonly JsonField[] = [
  ['orderId', 'c.order_id'],
  ['status', 'c.status'],
  ['currency', 'c.currency'],
  ['total', 'c.total'],
  ['refundedAmount', 'COALESCE(s.refunded_amount, 0)'],
  ['createdAt', 'c.created_at'],
  ['updatedAt', 'c.updated_at'],
];

/**
 * GET /customers/:id/orders as JSON text: readCustomerOrders' answer. One statement (one state on
 * its own, no transaction): the page the database builds, then the customer's row of totals per
 * currency (decimal text, which may pass what SQLite can add: summed here exactly).
 */
export async function customerOrdersJson(tx: ReadModelTx, tenantId: string, customerId: string, limit: number, cursor?: string): Promise<string> {
  const select = pageSelect(tx.dialect, {
    from: `FROM customer_orders c LEFT JOIN order_summary s ON s.tenant_id = c.tenant_id AND s.order_id = c.order_id
     WHERE c.tenant_id = ? AND c.customer_id = ?`,
    params: [tenantId, customerId],
    fields: CUSTOMER_ORDER_FIELDS,
    createdAt: 'c.created_at',
    id: 'c.order_id',
    limit,
    cursor,
  });
  const rows = await tx.all<PageRow & { kind: string; currency: string | null; gross: string | null; refunded: string | null; orders: number | null }>(
    statementFor(
      // Keyed by the page's statement itself: the same string each time, its hash kept by V8.
      select.sql,
      () => `SELECT 'page' AS kind, items, rows, NULL AS currency, NULL AS gross, NULL AS refunded, NULL AS orders FROM (${select.sql}) page_row
     UNION ALL
     SELECT 'total', NULL, NULL, currency, CAST(gross AS TEXT), CAST(refunded AS TEXT), orders FROM customer_totals WHERE tenant_id = ? AND customer_id = ?
     ORDER BY kind, currency`,
    ),
    ...select.params,
    tenantId,
    customerId,
  );
  const page = pageOf(rows.find((row) => row.kind === 'page'), limit);
  const totals: Record<string, { gross: string; refunded: string; net: string }> = {};
  let orderCount = 0;
  for (const sum of rows) {
    if (sum.kind !== 'total') continue;
    const gross = toBigInt(sum.gross);
    const refunded = toBigInt(sum.refunded);
    totals[sum.currency!] = { gross: gross.toString(), refunded: refunded.toString(), net: (gross - refunded).toString() };
    orderCount += Number(sum.orders);
  }
  return `{"customerId":${JSON.stringify(customerId)},"orderCount":${orderCount},"totals":${JSON.stringify(totals)},"orders":${page.items}${cursorField(page)}}`;
}
