// WhatsApp: a template message to the customer's phone on each new status of their order.
// On the embedded default it goes to the outbox table only. With the Cloud API the intent is
// committed first (`sending`), then the request goes out, then its outcome is committed: a
// redelivered event whose message may have reached the provider is never sent again, it is
// left `uncertain` for the provider's status webhook or an operator to settle.
import { PermanentHandlerError } from '../subscriptions/errors.js';
import { defineHandler, type HandlerDefinition } from '../subscriptions/handler.js';
import type { WhatsAppConfig } from './handler-config.js';
import { findOrderCustomer } from './order-lookup.js';
import { attemptSend } from './whatsapp-attempt.js';
import { cloudApiSender, type WhatsAppSender } from './whatsapp-cloud-api.js';
import { statusTemplateMessage, toWhatsAppRecipient } from './whatsapp-message.js';
import { addToOutbox, claimSend, ensureOutboxSchema, markInterrupted, WHATSAPP_OUTBOX_SCHEMA } from './whatsapp-outbox.js';

export function createWhatsAppHandler(config: WhatsAppConfig, sender?: WhatsAppSender): HandlerDefinition {
  const cloud =
    sender ??
    (config.mode === 'cloud-api' && config.token && config.phoneNumberId
      ? cloudApiSender({ baseUrl: config.baseUrl, token: config.token, phoneNumberId: config.phoneNumberId })
      : undefined);
  return defineHandler({
    name: 'whatsapp',
    handles: ['order.status_changed'],
    schema: WHATSAPP_OUTBOX_SCHEMA,
    async handle(event, context) {
      if (event.type !== 'order.status_changed') return;
      const { orderId, tenantId } = event.data;
      const customer = await findOrderCustomer(context.client, event.streamId);
      const to = toWhatsAppRecipient(customer?.phone);
      if (!to) {
        context.logger.debug({ orderId }, 'no WhatsApp number for this order: nothing to send');
        return;
      }
      const message = statusTemplateMessage({ to, status: event.data.newStatus, language: config.language, customerName: customer?.name, orderId });
      if (!message) return;
      await ensureOutboxSchema(context.store);
      const entry = { tenantId, orderId, eventId: event.id, message, at: new Date() };
      if (!cloud) {
        // Queued only: no request follows, so it joins the runner's commit of the turn.
        context.record(async (tx) => void (await addToOutbox(tx, { ...entry, status: 'queued' })));
        context.logger.debug({ orderId, template: message.template.name }, 'WhatsApp message queued in the outbox');
        return;
      }

      const claim = await claimSend(context.store, entry);
      if (!claim.claimed) {
        const found = claim.message;
        // `sending` here means an earlier attempt died or timed out mid-request.
        await context.transaction(async (tx) => {
          if (found.status === 'sending') await markInterrupted(tx, found, new Date());
        });
        const level = found.status === 'sending' || found.status === 'uncertain' ? 'warn' : 'info';
        context.logger[level](
          { orderId, outboxId: found.id, status: found.status === 'sending' ? 'uncertain' : found.status, attempts: found.attempts },
          'WhatsApp message already attempted: not sending it again',
        );
        return;
      }

      context.logger.debug({ orderId, outboxId: claim.message.id, attempt: claim.attempt }, 'sending WhatsApp message');
      const outcome = await attemptSend(context.store, cloud, claim.message, claim.attempt, context.signal);
      const log = { orderId, outboxId: claim.message.id, template: message.template.name, attempt: claim.attempt };
      switch (outcome.status) {
        case 'sent':
          if (!context.signal.aborted) await context.transaction(() => undefined);
          context.logger.debug({ ...log, providerMessageId: outcome.providerMessageId }, 'WhatsApp message sent');
          return;
        case 'uncertain':
          context.logger.warn({ ...log, reason: outcome.reason }, 'WhatsApp message uncertain: it may have reached the provider, so it is not sent again automatically');
          // A timed-out handler is retried by the runner; its next delivery finds the message settled.
          if (context.signal.aborted) throw outcome.error;
          await context.transaction(() => undefined);
          return;
        case 'unsent':
          throw outcome.error;
        case 'failed':
          throw new PermanentHandlerError(outcome.reason, { cause: outcome.error });
        default: {
          const exhaustive: never = outcome;
          return exhaustive;
        }
      }
    },
  });
}
