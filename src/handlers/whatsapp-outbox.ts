// Every WhatsApp message the handler produced, per tenant, and where it stands. The row is the
// ledger that keeps a message from reaching a customer twice: with the Cloud API the intent is
// committed (`sending`) before the HTTP call, and nothing is sent automatically again once an
// attempt may have reached the provider.
//
// States:
//   queued     embedded default (WHATSAPP_MODE=outbox): kept here, sent nowhere
//   sending    an attempt is in flight (committed before the request)
//   sent       the provider accepted it (its `wamid` is known)
//   delivered  / read: from the provider's status webhooks
//   unsent     the provider answered that it did not take it (429, 408, 503, no connection):
//              safe to send again, and the handler's retry policy does
//   failed     the provider refused it for good (other 4xx), or reported it undeliverable
//   uncertain  an attempt may have reached the provider (timeout, crash, reset, 5xx): never
//              resent automatically; settled by a status webhook or by an operator
import { tableColumns, type ReadModelStore, type ReadModelTx } from '../readmodels/read-model-store.js';
import { ReadModelUnavailableError } from '../readmodels/read-model-health.js';
import type { WhatsAppTemplateMessage } from './whatsapp-message.js';

export const OUTBOX_STATES = ['queued', 'sending', 'sent', 'delivered', 'read', 'unsent', 'failed', 'uncertain'] as const;
export type OutboxState = (typeof OUTBOX_STATES)[number];

/** Who last decided the state: the handler's own attempt, a provider webhook, or an operator. */
export type SettledBy = 'handler' | 'webhook' | 'operator';

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
    settled_by TEXT
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
  const table = WHATSAPP_OUTBOX_SCHEMA.split('CREATE INDEX')[0] ?? '';
  // Under the schema-change lock (PostgreSQL): processes starting together do not collide.
  await store.migrate(table);
  const present = new Set(await tableColumns(store, 'whatsapp_outbox'));
  const missing = Object.entries(ADDED_COLUMNS).filter(([name]) => !present.has(name));
  // PostgreSQL: ADD COLUMN IF NOT EXISTS, under the schema-change lock (migrate).
  if (missing.length > 0 && store.dialect === 'postgres') await store.migrate(missing.map(([name, type]) => `ALTER TABLE whatsapp_outbox ADD COLUMN ${name} ${type};`).join('\n'));
  else if (missing.length > 0) {
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
  };
}

interface NewMessage {
  tenantId: string;
  orderId: string;
  eventId: string;
  message: WhatsAppTemplateMessage;
  at: Date;
}

/** Outbox mode: the message is kept, not sent. A redelivered event adds nothing. */
export async function addToOutbox(tx: ReadModelTx, entry: NewMessage & { status: 'queued' }): Promise<void> {
  await insert(tx, entry, 'queued', 0);
}

async function insert(tx: ReadModelTx, entry: NewMessage, status: OutboxState, attempts: number): Promise<boolean> {
  const at = entry.at.toISOString();
  const result = await tx.run(
    `INSERT INTO whatsapp_outbox (tenant_id, order_id, event_id, recipient, template, status, payload, created_at, attempts, attempt_started_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING`,
    entry.tenantId,
    entry.orderId,
    entry.eventId,
    entry.message.to,
    entry.message.template.name,
    status,
    JSON.stringify(entry.message),
    at,
    attempts,
    attempts > 0 ? at : null,
    at,
  );
  return result.changes === 1;
}

export type Claim = { claimed: true; attempt: number; message: OutboxMessage } | { claimed: false; message: OutboxMessage };

/** States from which a new attempt cannot send the message twice (the provider said no). */
const SENDABLE: readonly OutboxState[] = ['unsent', 'failed'];

/**
 * Records the intent to send (state `sending`, one more attempt) in its own committed
 * transaction, before any request leaves. Claimed only when no attempt may have reached the
 * provider: a new message, or one the provider refused. Otherwise returns what is there.
 */
export function claimSend(store: ReadModelStore, entry: NewMessage): Promise<Claim> {
  return store.transaction(async (tx): Promise<Claim> => {
    if (await insert(tx, entry, 'sending', 1)) return { claimed: true, attempt: 1, message: (await findByEvent(tx, entry.eventId))! };
    // Locked until this transaction ends: another worker's claim of the same message waits and then sees `sending`.
    const existing = (await findByEvent(tx, entry.eventId, true))!;
    if (!SENDABLE.includes(existing.status)) return { claimed: false, message: existing };
    return { claimed: true, attempt: await startAttempt(tx, existing, entry.at), message: (await findByEvent(tx, entry.eventId))! };
  });
}

/** An operator's resend: claims any message but one the provider already took or is being sent. */
export function claimResend(store: ReadModelStore, id: number, at: Date): Promise<Claim> {
  return store.transaction(async (tx): Promise<Claim> => {
    const existing = await findById(tx, id, true);
    if (!existing) throw new Error(`no WhatsApp message with id ${id}`);
    if (!['unsent', 'failed', 'uncertain'].includes(existing.status)) return { claimed: false, message: existing };
    return { claimed: true, attempt: await startAttempt(tx, existing, at), message: (await findById(tx, id))! };
  });
}

async function startAttempt(tx: ReadModelTx, existing: OutboxMessage, at: Date): Promise<number> {
  const attempt = existing.attempts + 1;
  await tx.run(
    `UPDATE whatsapp_outbox SET status = 'sending', attempts = ?, attempt_started_at = ?, updated_at = ?, settled_by = NULL WHERE id = ?`,
    attempt,
    at.toISOString(),
    at.toISOString(),
    existing.id,
  );
  return attempt;
}

/** The outcome of one attempt; ignored when a later attempt or a webhook has moved on. */
export async function recordAttemptOutcome(
  tx: ReadModelTx,
  entry: { eventId: string; attempt: number; at: Date } & (
    | { status: 'sent'; providerMessageId: string }
    | { status: 'unsent' | 'failed' | 'uncertain'; error: string }
  ),
): Promise<boolean> {
  const at = entry.at.toISOString();
  if (entry.status === 'sent') {
    // The answer can come after a webhook already said `delivered`: keep the id, not the step back.
    await tx.run('UPDATE whatsapp_outbox SET provider_message_id = coalesce(provider_message_id, ?) WHERE event_id = ?', entry.providerMessageId, entry.eventId);
    const result = await tx.run(
      `UPDATE whatsapp_outbox SET status = 'sent', last_error = NULL, updated_at = ?, settled_by = 'handler'
       WHERE event_id = ? AND attempts = ? AND status IN ('sending', 'uncertain')`,
      at,
      entry.eventId,
      entry.attempt,
    );
    return result.changes === 1;
  }
  // Only this attempt's own `sending` turns uncertain; a definite refusal also corrects an
  // `uncertain` another worker assumed while this attempt was still waiting for its answer.
  const from = entry.status === 'uncertain' ? "('sending')" : "('sending', 'uncertain')";
  const result = await tx.run(
    `UPDATE whatsapp_outbox SET status = ?, last_error = ?, updated_at = ?, settled_by = 'handler'
     WHERE event_id = ? AND attempts = ? AND status IN ${from}`,
    entry.status,
    entry.error,
    at,
    entry.eventId,
    entry.attempt,
  );
  return result.changes === 1;
}

/** A `sending` row found by a later delivery of its event: that attempt may have reached the provider. */
export async function markInterrupted(tx: ReadModelTx, message: OutboxMessage, at: Date): Promise<boolean> {
  const result = await tx.run(
    `UPDATE whatsapp_outbox SET status = 'uncertain', last_error = ?, updated_at = ?, settled_by = 'handler'
     WHERE id = ? AND attempts = ? AND status = 'sending'`,
    `attempt ${message.attempts} was interrupted (crash or timeout) and may have reached the provider`,
    at.toISOString(),
    message.id,
    message.attempts,
  );
  return result.changes === 1;
}

const RANK: Partial<Record<OutboxState, number>> = { sent: 1, delivered: 2, read: 3 };

/**
 * A status from the provider's webhook. Moves forward only (sent < delivered < read); `failed`
 * is taken unless the message was already delivered or read. Returns the message, if known.
 */
export async function applyProviderStatus(
  tx: ReadModelTx,
  status: { messageId: string | undefined; providerMessageId: string | undefined; status: string; error?: string; at: Date },
): Promise<OutboxMessage | undefined> {
  const message =
    (status.messageId ? await findByEvent(tx, status.messageId, true) : undefined) ??
    (status.providerMessageId ? await findByProviderId(tx, status.providerMessageId) : undefined);
  if (!message) return undefined;
  const next = status.status as OutboxState;
  const current = RANK[message.status] ?? 0;
  let apply = false;
  if (next === 'sent' || next === 'delivered' || next === 'read') apply = (RANK[next] ?? 0) > current;
  else if (next === 'failed') apply = current < (RANK.delivered ?? 2);
  if (status.providerMessageId) await tx.run('UPDATE whatsapp_outbox SET provider_message_id = coalesce(provider_message_id, ?) WHERE id = ?', status.providerMessageId, message.id);
  if (apply) {
    await tx.run(
      `UPDATE whatsapp_outbox SET status = ?, last_error = ?, updated_at = ?, settled_by = 'webhook' WHERE id = ?`,
      next,
      next === 'failed' ? (status.error ?? 'the provider reported the message failed') : null,
      status.at.toISOString(),
      message.id,
    );
  }
  return findById(tx, message.id);
}

/** An operator's decision on a message whose outcome is unknown (or wrong). */
export async function settleByOperator(tx: ReadModelTx, id: number, status: 'sent' | 'failed', note: string, at: Date): Promise<OutboxMessage | undefined> {
  await tx.run(`UPDATE whatsapp_outbox SET status = ?, last_error = ?, updated_at = ?, settled_by = 'operator' WHERE id = ?`, status, note, at.toISOString(), id);
  return findById(tx, id);
}

/** `lock`: PostgreSQL holds the row for this transaction (FOR UPDATE); SQLite's write lock already does. */
const forUpdate = (tx: ReadModelTx, lock: boolean) => (lock && tx.dialect === 'postgres' ? ' FOR UPDATE' : '');

export async function findById(tx: ReadModelTx, id: number, lock = false): Promise<OutboxMessage | undefined> {
  const row = await tx.get<Row>(`SELECT * FROM whatsapp_outbox WHERE id = ?${forUpdate(tx, lock)}`, id);
  return row ? toMessage(row) : undefined;
}

export async function findByEvent(tx: ReadModelTx, eventId: string, lock = false): Promise<OutboxMessage | undefined> {
  const row = await tx.get<Row>(`SELECT * FROM whatsapp_outbox WHERE event_id = ?${forUpdate(tx, lock)}`, eventId);
  return row ? toMessage(row) : undefined;
}

async function findByProviderId(tx: ReadModelTx, providerMessageId: string): Promise<OutboxMessage | undefined> {
  const row = await tx.get<Row>('SELECT * FROM whatsapp_outbox WHERE provider_message_id = ?', providerMessageId);
  return row ? toMessage(row) : undefined;
}

/**
 * Newest first; `before` is the id of the last message of the previous page. Without
 * `tenantId` (the operator's CLI) every tenant's messages are listed.
 */
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
  if (options.before !== undefined) {
    where.push('id < ?');
    params.push(options.before);
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
    `SELECT * FROM whatsapp_outbox ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`,
    ...params,
    options.limit,
  );
  return rows.map(toMessage);
}
