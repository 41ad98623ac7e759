// WhatsApp: a template message to the customer's phone on each new status of their order. Each
// message has a ledger stream in the event store (`whatsapp-<tenantId>-<orderEventId>`,
// whatsapp-ledger*.ts). On the embedded default the message is only recorded there (`queued`).
// With the Cloud API the attempt is appended first (`send_started`, expected revision NO_STREAM:
// one worker on any host wins it), then the request goes out, then its outcome is appended. A
// redelivered event, a second worker or a worker whose read-model file was lost finds the stream
// and never sends again a message an attempt may have delivered: it is left `uncertain` for the
// provider's status webhook or an operator to settle.
import { PermanentHandlerError } from '../subscriptions/errors.js';
import { defineHandler, type HandlerDefinition } from '../subscriptions/handler.js';
import type { EventStoreDBClient } from '@eventstore/db-client';
import { ReadModelUnavailableError } from '../readmodels/read-model-health.js';
import type { ReadModelStore } from '../readmodels/read-model-store.js';
import type { WhatsAppConfig } from './handler-config.js';
import { cachedOrderCustomerLookup } from './order-lookup.js';
import { attemptSend } from './whatsapp-attempt.js';
import { cloudApiSender, type WhatsAppSender } from './whatsapp-cloud-api.js';
import { whatsappStreamName } from './whatsapp-ledger-events.js';
import { decideOnLedger, type LedgerWriter } from './whatsapp-ledger-store.js';
import { statusTemplateMessage, toWhatsAppRecipient } from './whatsapp-message.js';
import { legacyMessage, refreshOutboxRow, WHATSAPP_OUTBOX_SCHEMA, writeOutboxRow } from './whatsapp-outbox.js';
import { ensureOutboxViewBuilt } from './whatsapp-outbox-rebuild.js';

export function createWhatsAppHandler(config: WhatsAppConfig, sender?: WhatsAppSender): HandlerDefinition {
  const cloud =
    sender ??
    (config.mode === 'cloud-api' && config.token && config.phoneNumberId
      ? cloudApiSender({ baseUrl: config.baseUrl, token: config.token, phoneNumberId: config.phoneNumberId })
      : undefined);
  const findOrderCustomer = cachedOrderCustomerLookup();
  return defineHandler({
    name: 'whatsapp',
    handles: ['order.status_changed'],
    schema: WHATSAPP_OUTBOX_SCHEMA,
    // The customer's phone is only on the order's creation: kept as the projections group parses it.
    notices: { types: ['order.created'], note: (event) => findOrderCustomer.noteCreation(event) },
    async handle(event, context) {
      if (event.type !== 'order.status_changed') return;
      const { orderId, tenantId } = event.data;
      const customer = await findOrderCustomer(context.client, event.streamId, event.data.customerId);
      const to = toWhatsAppRecipient(customer?.phone);
      if (!to) {
        context.logger.debug({ orderId }, 'no WhatsApp number for this order: nothing to send');
        return;
      }
      const message = statusTemplateMessage({ to, status: event.data.newStatus, language: config.language, customerName: customer?.name, orderId });
      if (!message) return;
      const { client, store } = context;
      const draft = { tenantId, orderId, messageId: event.id, message, ...(event.position !== undefined ? { sourcePosition: event.position } : {}) };
      const stream = whatsappStreamName(tenantId, event.id);
      const writer: LedgerWriter = {
        actor: 'handler:whatsapp',
        correlationId: event.correlationId,
        causationId: event.id,
        ...(event.metadata?.traceparent ? { traceparent: event.metadata.traceparent } : {}),
        traceContext: context.traceContext,
      };
      prepareView(client, store, context.logger);
      const carried = await carriedOver(store, event.id);
      if (carried) await decideOnLedger(client, stream, { type: 'CarryOver', snapshot: carried, at: new Date() }, writer);

      if (!cloud) {
        const queued = await decideOnLedger(client, stream, { type: 'QueueMessage', draft, at: new Date() }, writer, { assumeNew: !carried });
        // No request follows: the row joins the runner's commit of the turn.
        if (queued.state && queued.revision !== undefined) {
          const { state, revision } = queued;
          context.record((tx) => writeOutboxRow(tx, state, revision));
        }
        context.logger.debug({ orderId, template: message.template.name }, 'WhatsApp message queued in the outbox');
        return;
      }

      const claim = await decideOnLedger(client, stream, { type: 'StartSend', draft, at: new Date() }, writer, { assumeNew: !carried });
      await refreshOutboxRow(store, claim.state, claim.revision);
      const started = claim.appended.find((appended) => appended.type === 'whatsapp.send_started');
      if (!started || started.type !== 'whatsapp.send_started' || !claim.state) {
        const found = claim.state;
        const level = found?.status === 'uncertain' ? 'warn' : 'info';
        context.logger[level]({ orderId, messageId: event.id, status: found?.status, attempts: found?.attempts }, 'WhatsApp message already attempted: not sending it again');
        return;
      }

      const attempt = started.data.attempt;
      context.logger.debug({ orderId, messageId: event.id, attempt }, 'sending WhatsApp message');
      const outcome = await attemptSend({ client, store }, cloud, { ...claim, state: claim.state }, attempt, context.signal, writer);
      const log = { orderId, messageId: event.id, template: message.template.name, attempt };
      switch (outcome.status) {
        case 'sent':
          context.logger.debug({ ...log, providerMessageId: outcome.providerMessageId }, 'WhatsApp message sent');
          return;
        case 'uncertain':
          context.logger.warn({ ...log, reason: outcome.reason }, 'WhatsApp message uncertain: it may have reached the provider, so it is not sent again automatically');
          // A timed-out handler is retried by the runner; its next delivery finds the message settled.
          if (context.signal.aborted) throw outcome.error;
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

/**
 * The view is rebuilt from the ledger on a file that never had it, in the background: it reads
 * $all, which may take longer than a handler's timeout, and the ledger, not the view, decides
 * what is sent. Rows written meanwhile show later revisions and are kept.
 */
function prepareView(client: EventStoreDBClient, store: ReadModelStore, logger: { warn(object: object, message: string): void }): void {
  ensureOutboxViewBuilt(client, store).catch((error: unknown) => {
    // A damaged read model is reported once, by its health watch; its replacement gets the view.
    if (error instanceof ReadModelUnavailableError) return;
    logger.warn({ err: error }, 'the WhatsApp outbox view could not be rebuilt from the ledger now: it is tried again with the next message');
  });
}

/** A message the outbox held before the ledger existed: carried into its stream, so it is never sent again. */
async function carriedOver(store: ReadModelStore, eventId: string): Promise<Awaited<ReturnType<typeof legacyMessage>>> {
  try {
    return await legacyMessage(store, eventId);
  } catch {
    return undefined;
  }
}
