// Messages in a given state, made the way the service makes them: decided on their ledger stream
// in the event store, then shown in the outbox view.
import { randomUUID } from 'node:crypto';
import type { EventStoreDBClient } from '@eventstore/db-client';
import type { AttemptResult } from '../../../src/handlers/whatsapp-ledger.js';
import { whatsappMessageKey, whatsappStreamName } from '../../../src/handlers/whatsapp-ledger-events.js';
import { decideOnLedger } from '../../../src/handlers/whatsapp-ledger-store.js';
import { statusTemplateMessage } from '../../../src/handlers/whatsapp-message.js';
import { refreshOutboxRow } from '../../../src/handlers/whatsapp-outbox.js';
import type { ReadModelStore } from '../../../src/readmodels/read-model-store.js';

const writer = { actor: 'test' };

/** A message whose first attempt ended `outcome` (or is still `sending`); returns its key. */
export async function ledgerMessage(
  client: EventStoreDBClient,
  view: ReadModelStore | undefined,
  options: { tenantId?: string; outcome?: AttemptResult | 'interrupted' | 'sending' } = {},
): Promise<{ key: string; messageId: string; stream: string }> {
  const tenantId = options.tenantId ?? 'tenant-a';
  const messageId = randomUUID();
  const orderId = `o-${messageId.slice(0, 8)}`;
  const message = statusTemplateMessage({ to: '14155550100', status: 'PAID', language: 'en_US', customerName: 'Ann', orderId })!;
  const stream = whatsappStreamName(tenantId, messageId);
  const draft = { tenantId, orderId, messageId, message };
  let decided = await decideOnLedger(client, stream, { type: 'StartSend', draft, at: new Date() }, writer, { assumeNew: true });
  const outcome = options.outcome ?? 'interrupted';
  if (outcome === 'interrupted') decided = await decideOnLedger(client, stream, { type: 'StartSend', draft, at: new Date() }, writer);
  else if (outcome !== 'sending') decided = await decideOnLedger(client, stream, { type: 'RecordOutcome', attempt: 1, result: outcome, at: new Date() }, writer);
  if (view) await refreshOutboxRow(view, decided.state, decided.revision);
  return { key: whatsappMessageKey(tenantId, messageId), messageId, stream };
}
