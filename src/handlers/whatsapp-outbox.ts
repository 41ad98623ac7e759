// The outbox view: every WhatsApp message, per tenant, and where it stands, as the read-model
// table behind `GET /outbox` and `orders outbox`. It is a projection of the ledger streams
// (`whatsapp-<tenantId>-<messageId>`, whatsapp-ledger*.ts), which are the truth: each writer
// (handler, webhook, operator) refreshes a message's row from the state it appended, guarded by
// the stream revision, and a lost or damaged read-model file is rebuilt from the streams (at the
// handler's first event on a file that was never built, or `orders replay whatsapp-outbox`).
// Rows written before the ledger existed (`ledger_revision` NULL) are carried into it when a
// writer next meets them.
import { tableColumns, type ReadModelStore, type ReadModelTx } from '../readmodels/read-model-store.js';
import { ReadModelUnavailableError } from '../readmodels/read-model-health.js';
import type { WhatsAppMessage } from './whatsapp-ledger.js';
import { OUTBOX_STATES, type OutboxState, type SettledBy } from './whatsapp-ledger-events.js';
import type { WhatsAppTemplateMessage } from './whatsapp-message.js';

export { OUTBOX_STATES, type OutboxState, type SettledBy };

export const WHATSAPP_OUTBOX_SCHEMA = `
  CREATE TABLE IF NOT EXISTS whatsapp_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL,
    order_id TEXT NOT NULL,
    event_id TEXT NOT NULL UNIQUE,
    recipient TEXT NOT NULL,
    template TEXT NOT NULL,
    status TEXT NOT NULL,
    provider_message_id TEXT,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    attempt_started_at TEXT,
    updated_at TEXT,
    last_error TEXT,
    settled_by TEXT,
    ledger_revision INTEGER,
    source_position INTEGER
  );
  -- One row once the view holds every ledger stream (a new or replaced file has none).
  CREATE TABLE IF NOT EXISTS whatsapp_outbox_view (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    built_at TEXT NOT NULL,
    streams INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS whatsapp_outbox_by_tenant ON whatsapp_outbox (tenant_id, id);
  CREATE INDEX IF NOT EXISTS whatsapp_outbox_by_provider_id ON whatsapp_outbox (provider_message_id);
`;

/** Columns added after the first version of the table: added in place to an older database. */
const ADDED_COLUMNS: Record<string, string> = {
  attempts: 'INTEGER NOT NULL DEFAULT 0',
  attempt_started_at: 'TEXT',
  updated_at: 'TEXT',
  last_error: 'TEXT',
  settled_by: 'TEXT',
  ledger_revision: 'INTEGER',
  source_position: 'INTEGER',
};

const upgraded = new WeakSet<object>();

/** Creates the table, or brings an older one up to date; cheap after the first call per store. */
export async function ensureOutboxSchema(store: ReadModelStore): Promise<void> {
  if (upgraded.has(store)) return;
  try {
    await upgradeOutboxTable(store);
  } catch (error) {
    // A damaged read model (read-model-health.ts): its replacement gets the schema when it opens.
    if (!(error instanceof ReadModelUnavailableError)) throw error;
    await store.migrate(WHATSAPP_OUTBOX_SCHEMA);
    return;
  }
  await store.migrate(WHATSAPP_OUTBOX_SCHEMA);
  upgraded.add(store);
}

async function upgradeOutboxTable(store: ReadModelStore): Promise<void> {
  // Under the schema-change lock (PostgreSQL): processes starting together do not collide.
  await store.migrate(WHATSAPP_OUTBOX_SCHEMA.split('CREATE INDEX')[0] ?? '');
  const present = new Set(await tableColumns(store, 'whatsapp_outbox'));
  const missing = Object.entries(ADDED_COLUMNS).filter(([name]) => !present.has(name));
  if (missing.length === 0) return;
  // PostgreSQL: ADD COLUMN IF NOT EXISTS, under the lock (migrate).
  if (store.dialect === 'postgres') {
    await store.migrate(missing.map(([name, type]) => `ALTER TABLE whatsapp_outbox ADD COLUMN ${name} ${type};`).join('\n'));
    return;
  }
  await store.transaction(async (tx) => {
    for (const [name, type] of missing) {
      try {
        await tx.exec(`ALTER TABLE whatsapp_outbox ADD COLUMN ${name} ${type}`);
      } catch (error) {
        // Another process (the API next to the workers) upgraded the table at the same moment.
        if (!/duplicate column name/i.test(error instanceof Error ? error.message : '')) throw error;
      }
    }
  });
}

export interface OutboxMessage {
  id: number;
  tenantId: string;
  orderId: string;
  eventId: string;
  recipient: string;
  template: string;
  status: OutboxState;
  providerMessageId: string | null;
  /** Attempts made to hand it to the provider (0 in outbox mode). */
  attempts: number;
  /** The provider's (phone-redacted) error, or why the state is uncertain. */
  lastError: string | null;
  settledBy: SettledBy | null;
  message: WhatsAppTemplateMessage;
  createdAt: string;
  updatedAt: string;
  /** The ledger stream's revision the row shows; null for a row from before the ledger. */
  ledgerRevision: number | null;
  /** The causing order event's commit position in $all; null for a message recorded before it was kept. */
  sourcePosition: number | null;
}

type Row = Record<string, string | number | null>;

function toMessage(row: Row): OutboxMessage {
  return {
    id: Number(row.id),
    tenantId: String(row.tenant_id),
    orderId: String(row.order_id),
    eventId: String(row.event_id),
    recipient: String(row.recipient),
    template: String(row.template),
    status: row.status as OutboxState,
    providerMessageId: row.provider_message_id === null ? null : String(row.provider_message_id),
    attempts: Number(row.attempts ?? 0),
    lastError: row.last_error === null || row.last_error === undefined ? null : String(row.last_error),
    settledBy: (row.settled_by ?? null) as SettledBy | null,
    message: JSON.parse(String(row.payload)) as WhatsAppTemplateMessage,
    createdAt: String(row.created_at),
    updatedAt: String(row.updated_at ?? row.created_at),
    ledgerRevision: row.ledger_revision === null || row.ledger_revision === undefined ? null : Number(row.ledger_revision),
    sourcePosition: row.source_position === null || row.source_position === undefined ? null : Number(row.source_position),
  };
}

/**
 * The row of a message as its ledger stands at `revision`; a row already showing a later
 * revision is left alone (writers race, and the later state wins whatever the order of writes).
 */
export async function writeOutboxRow(tx: ReadModelTx, message: WhatsAppMessage, revision: bigint): Promise<void> {
  await tx.run(
    `INSERT INTO whatsapp_outbox (tenant_id, order_id, event_id, recipient, template, status, provider_message_id, payload, created_at, attempts, updated_at, last_error, settled_by, ledger_revision, source_position)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (event_id) DO UPDATE SET status = excluded.status, provider_message_id = excluded.provider_message_id, attempts = excluded.attempts,
       updated_at = excluded.updated_at, last_error = excluded.last_error, settled_by = excluded.settled_by, ledger_revision = excluded.ledger_revision,
       source_position = coalesce(excluded.source_position, whatsapp_outbox.source_position)
     WHERE whatsapp_outbox.ledger_revision IS NULL OR whatsapp_outbox.ledger_revision < excluded.ledger_revision`,
    message.tenantId,
    message.orderId,
    message.messageId,
    message.message.to,
    message.message.template.name,
    message.status,
    message.providerMessageId,
    JSON.stringify(message.message),
    message.createdAt,
    message.attempts,
    message.updatedAt,
    message.lastError,
    message.settledBy,
    Number(revision),
    message.sourcePosition ?? null,
  );
}

/**
 * As writeOutboxRow, in its own transaction, and never failing the caller: the ledger append it
 * follows is the truth, and a view that missed it (read model damaged, disk full) is rebuilt.
 */
export async function refreshOutboxRow(store: ReadModelStore, message: WhatsAppMessage | undefined, revision: bigint | undefined): Promise<boolean> {
  if (!message || revision === undefined) return false;
  try {
    await ensureOutboxSchema(store);
    await store.transaction((tx) => writeOutboxRow(tx, message, revision));
    return true;
  } catch {
    return false;
  }
}

/** As refreshOutboxRow for several messages, in one transaction. */
export async function refreshOutboxRows(store: ReadModelStore, rows: readonly { message: WhatsAppMessage; revision: bigint }[]): Promise<boolean> {
  if (rows.length === 0) return true;
  try {
    await ensureOutboxSchema(store);
    await store.transaction(async (tx) => {
      for (const row of rows) await writeOutboxRow(tx, row.message, row.revision);
    });
    return true;
  } catch {
    return false;
  }
}

/** A message of the outbox from before the ledger: what the ledger takes over. */
export async function legacyMessage(tx: ReadModelTx, eventId: string): Promise<WhatsAppMessage | undefined> {
  const row = await tx.get<Row>('SELECT * FROM whatsapp_outbox WHERE event_id = ? AND ledger_revision IS NULL', eventId);
  if (!row) return undefined;
  const found = toMessage(row);
  return {
    tenantId: found.tenantId,
    orderId: found.orderId,
    messageId: found.eventId,
    message: found.message,
    status: found.status,
    attempts: found.attempts,
    providerMessageId: found.providerMessageId,
    lastError: found.lastError,
    settledBy: found.settledBy,
    createdAt: found.createdAt,
    updatedAt: found.updatedAt,
  };
}

export async function outboxViewBuilt(tx: ReadModelTx): Promise<boolean> {
  return (await tx.get('SELECT 1 AS one FROM whatsapp_outbox_view WHERE id = 1')) !== undefined;
}

export async function markOutboxViewBuilt(tx: ReadModelTx, streams: number, at: Date): Promise<void> {
  await tx.run(
    'INSERT INTO whatsapp_outbox_view (id, built_at, streams) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET built_at = excluded.built_at, streams = excluded.streams',
    at.toISOString(),
    streams,
  );
}

export async function findById(tx: ReadModelTx, id: number): Promise<OutboxMessage | undefined> {
  const row = await tx.get<Row>('SELECT * FROM whatsapp_outbox WHERE id = ?', id);
  return row ? toMessage(row) : undefined;
}

export async function findByEvent(tx: ReadModelTx, eventId: string): Promise<OutboxMessage | undefined> {
  const row = await tx.get<Row>('SELECT * FROM whatsapp_outbox WHERE event_id = ?', eventId);
  return row ? toMessage(row) : undefined;
}

export async function findByProviderId(tx: ReadModelTx, providerMessageId: string): Promise<OutboxMessage | undefined> {
  const row = await tx.get<Row>('SELECT * FROM whatsapp_outbox WHERE provider_message_id = ?', providerMessageId);
  return row ? toMessage(row) : undefined;
}

/**
 * Newest first; `before` is the id of the last message of the previous page. Without
 * `tenantId` (the operator's CLI) every tenant's messages are listed.
 */
const IN_EVENT_ORDER = 'coalesce(source_position, -1)';
/** The `before` row's place in that order (-1 for a row no longer there: the rows without a position after it). */
const CURSOR = '(SELECT coalesce(max(coalesce(source_position, -1)), -1) FROM whatsapp_outbox WHERE id = ?)';

export async function listOutbox(
  tx: ReadModelTx,
  tenantId: string | undefined,
  options: { limit: number; before?: number; orderId?: string; status?: OutboxState },
): Promise<OutboxMessage[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (tenantId !== undefined) {
    where.push('tenant_id = ?');
    params.push(tenantId);
  }
  // In the order of the events that caused them (newest first), whatever order the rows were
  // written in; rows without a position (recorded before it was kept) come after, oldest last.
  // `before` is still a row id: the page goes on after that row in this order.
  if (options.before !== undefined) {
    where.push(`(${IN_EVENT_ORDER} < ${CURSOR} OR (${IN_EVENT_ORDER} = ${CURSOR} AND id < ?))`);
    params.push(options.before, options.before, options.before);
  }
  if (options.orderId) {
    where.push('order_id = ?');
    params.push(options.orderId);
  }
  if (options.status) {
    where.push('status = ?');
    params.push(options.status);
  }
  const rows = await tx.all<Row>(
    `SELECT * FROM whatsapp_outbox ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${IN_EVENT_ORDER} DESC, id DESC LIMIT ?`,
    ...params,
    options.limit,
  );
  return rows.map(toMessage);
}
