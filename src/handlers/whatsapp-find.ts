// Which ledger stream a webhook's status or an operator's id names. The message key
// (`<tenantId>-<messageId>`, sent as biz_opaque_callback_data) names it without any read; a bare
// message id (sent before the ledger), a `wamid` or the outbox view's row id go through the view.
// A message the view holds from before the ledger is carried into its stream first.
import type { EventStoreDBClient } from '@eventstore/db-client';
import type { ReadModelStore } from '../readmodels/read-model-store.js';
import { parseWhatsAppMessageKey, whatsappStreamName } from './whatsapp-ledger-events.js';
import { decideOnLedger, type LedgerWriter } from './whatsapp-ledger-store.js';
import { findByEvent, findById, findByProviderId, legacyMessage, type OutboxMessage } from './whatsapp-outbox.js';

export interface MessageRef {
  /** A message key, or a bare message id. */
  key?: string | undefined;
  providerMessageId?: string | undefined;
  /** The outbox view's row id (`orders outbox` lists it). */
  viewId?: number | undefined;
}

export async function findMessageStream(
  client: EventStoreDBClient,
  view: ReadModelStore | undefined,
  ref: MessageRef,
  writer: LedgerWriter,
): Promise<{ stream: string; tenantId: string; messageId: string } | undefined> {
  const parsed = ref.key ? parseWhatsAppMessageKey(ref.key) : undefined;
  if (parsed) return { stream: whatsappStreamName(parsed.tenantId, parsed.messageId), ...parsed };
  if (!view) return undefined;
  const row = await viewRow(view, ref);
  if (!row) return undefined;
  const stream = whatsappStreamName(row.tenantId, row.eventId);
  if (row.ledgerRevision === null) {
    const snapshot = await legacyMessage(view, row.eventId);
    if (snapshot) await decideOnLedger(client, stream, { type: 'CarryOver', snapshot, at: new Date() }, writer);
  }
  return { stream, tenantId: row.tenantId, messageId: row.eventId };
}

async function viewRow(view: ReadModelStore, ref: MessageRef): Promise<OutboxMessage | undefined> {
  try {
    if (ref.viewId !== undefined) return await findById(view, ref.viewId);
    return (ref.key ? await findByEvent(view, ref.key) : undefined) ?? (ref.providerMessageId ? await findByProviderId(view, ref.providerMessageId) : undefined);
  } catch {
    // A damaged view: only what names its stream can be found.
    return undefined;
  }
}
