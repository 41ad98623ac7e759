// Every WhatsApp message the handler produced, per tenant: `queued` on the embedded default (not
// sent anywhere), `sent` with the provider's id when the Cloud API accepted it.
import type { ReadModelTx } from '../readmodels/read-model-store.js';
import type { WhatsAppTemplateMessage } from './whatsapp-message.js';

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
    created_at TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS whatsapp_outbox_by_tenant ON whatsapp_outbox (tenant_id, id);
`;

export interface OutboxMessage {
  id: number;
  orderId: string;
  eventId: string;
  recipient: string;
  template: string;
  status: 'queued' | 'sent';
  providerMessageId: string | null;
  message: WhatsAppTemplateMessage;
  createdAt: string;
}

export function addToOutbox(
  tx: ReadModelTx,
  entry: { tenantId: string; orderId: string; eventId: string; message: WhatsAppTemplateMessage; status: 'queued' | 'sent'; providerMessageId?: string; at: Date },
): void {
  tx.run(
    `INSERT INTO whatsapp_outbox (tenant_id, order_id, event_id, recipient, template, status, provider_message_id, payload, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    entry.tenantId,
    entry.orderId,
    entry.eventId,
    entry.message.to,
    entry.message.template.name,
    entry.status,
    entry.providerMessageId ?? null,
    JSON.stringify(entry.message),
    entry.at.toISOString(),
  );
}

/** Newest first; `before` is the id of the last message of the previous page. */
export function listOutbox(tx: ReadModelTx, tenantId: string, options: { limit: number; before?: number; orderId?: string }): OutboxMessage[] {
  const where = ['tenant_id = ?'];
  const params: unknown[] = [tenantId];
  if (options.before !== undefined) {
    where.push('id < ?');
    params.push(options.before);
  }
  if (options.orderId) {
    where.push('order_id = ?');
    params.push(options.orderId);
  }
  const rows = tx.all<Record<string, string | number | null>>(
    `SELECT * FROM whatsapp_outbox WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`,
    ...params,
    options.limit,
  );
  return rows.map((row) => ({
    id: Number(row.id),
    orderId: String(row.order_id),
    eventId: String(row.event_id),
    recipient: String(row.recipient),
    template: String(row.template),
    status: row.status as 'queued' | 'sent',
    providerMessageId: row.provider_message_id === null ? null : String(row.provider_message_id),
    message: JSON.parse(String(row.payload)) as WhatsAppTemplateMessage,
    createdAt: String(row.created_at),
  }));
}
