// One attempt to hand a claimed message to the provider, and its outcome appended to the
// message's ledger stream (then shown in the outbox view): shared by the handler and by
// `orders outbox resend`, so both follow the same rules.
import type { EventStoreDBClient } from '@eventstore/db-client';
import type { ReadModelStore } from '../readmodels/read-model-store.js';
import { classifySendFailure, type WhatsAppSender } from './whatsapp-cloud-api.js';
import type { AttemptResult, WhatsAppMessage } from './whatsapp-ledger.js';
import { whatsappMessageKey, whatsappStreamName } from './whatsapp-ledger-events.js';
import { decideOnLedger, type Decided, type LedgerWriter, type LoadedMessage } from './whatsapp-ledger-store.js';
import { refreshOutboxRow } from './whatsapp-outbox.js';
import { inContext } from '../observability/trace-api.js';

export type AttemptOutcome =
  | { status: 'sent'; providerMessageId: string; ledger: Decided }
  | { status: 'unsent' | 'failed' | 'uncertain'; error: unknown; reason: string; ledger: Decided };

/**
 * Sends and classifies, then appends the outcome: whatever happens to the caller afterwards (a
 * crash, a timeout, another worker that finished the event), the ledger says what the provider
 * answered. The append does not follow `signal`: an answer after the handler's timeout is
 * recorded too.
 */
export async function attemptSend(
  deps: { client: EventStoreDBClient; store: ReadModelStore | undefined },
  sender: WhatsAppSender,
  claim: LoadedMessage & { state: WhatsAppMessage },
  attempt: number,
  signal: AbortSignal,
  writer: LedgerWriter,
): Promise<AttemptOutcome> {
  const message = claim.state;
  let result: AttemptResult;
  let error: unknown;
  try {
    // The message key is what the provider's webhooks carry back (biz_opaque_callback_data).
    // In the writer's trace context: the provider call is a client span of the delivery's trace.
    const providerMessageId = await inContext(writer.traceContext, () => sender.send(message.message, signal, whatsappMessageKey(message.tenantId, message.messageId)));
    result = { status: 'sent', providerMessageId };
  } catch (failure) {
    error = failure;
    const kind = classifySendFailure(failure);
    result = { status: kind === 'refused' ? 'failed' : kind, reason: failure instanceof Error ? failure.message : String(failure) };
  }
  const stream = whatsappStreamName(message.tenantId, message.messageId);
  // Appended at the claim's revision without reading first; read only when the stream moved since.
  const ledger = await decideOnLedger(deps.client, stream, { type: 'RecordOutcome', attempt, result, at: new Date() }, writer, { known: claim });
  if (deps.store) await refreshOutboxRow(deps.store, ledger.state, ledger.revision);
  return result.status === 'sent' ? { ...result, ledger } : { ...result, error, ledger };
}
