// One attempt to hand a claimed message to the provider, and its outcome recorded on the row:
// shared by the handler and by `orders outbox resend`, so both follow the same rules.
import type { ReadModelStore, ReadModelTx } from '../readmodels/read-model-store.js';
import { classifySendFailure, type WhatsAppSender } from './whatsapp-cloud-api.js';
import { recordAttemptOutcome, type OutboxMessage } from './whatsapp-outbox.js';

export type AttemptOutcome =
  | { status: 'sent'; providerMessageId: string }
  | { status: 'unsent' | 'failed' | 'uncertain'; error: unknown; reason: string };

/**
 * Sends and classifies, then commits the outcome in its own transaction: whatever happens to
 * the caller afterwards (a crash, a timeout, another worker that finished the event), the row
 * says what the provider answered.
 */
export async function attemptSend(
  store: ReadModelStore,
  sender: WhatsAppSender,
  message: OutboxMessage,
  attempt: number,
  signal: AbortSignal,
): Promise<AttemptOutcome> {
  let outcome: AttemptOutcome;
  try {
    // The row's event id is the message id the provider's webhooks carry back.
    const providerMessageId = await sender.send(message.message, signal, message.eventId);
    outcome = { status: 'sent', providerMessageId };
  } catch (error) {
    const failure = classifySendFailure(error);
    const reason = error instanceof Error ? error.message : String(error);
    outcome = { status: failure === 'refused' ? 'failed' : failure, error, reason };
  }
  const at = new Date();
  await store.transaction(async (tx: ReadModelTx) => {
    if (outcome.status === 'sent') await recordAttemptOutcome(tx, { eventId: message.eventId, attempt, at, status: 'sent', providerMessageId: outcome.providerMessageId });
    else await recordAttemptOutcome(tx, { eventId: message.eventId, attempt, at, status: outcome.status, error: outcome.reason });
  });
  return outcome;
}
