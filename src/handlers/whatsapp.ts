// WhatsApp: a template message to the customer's phone on each new status of their order.
// On the embedded default it goes to the outbox table only; with the Cloud API it is sent, then
// recorded as sent (with its idempotency record) in one transaction.
import { defineHandler, type HandlerDefinition } from '../subscriptions/handler.js';
import type { WhatsAppConfig } from './handler-config.js';
import { findOrderCustomer } from './order-lookup.js';
import { cloudApiSender, type WhatsAppSender } from './whatsapp-cloud-api.js';
import { statusTemplateMessage, toWhatsAppRecipient } from './whatsapp-message.js';
import { addToOutbox, WHATSAPP_OUTBOX_SCHEMA } from './whatsapp-outbox.js';

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
        context.logger.info({ orderId }, 'no WhatsApp number for this order: nothing to send');
        return;
      }
      const message = statusTemplateMessage({ to, status: event.data.newStatus, language: config.language, customerName: customer?.name, orderId });
      if (!message) return;
      const at = new Date();
      if (!cloud) {
        context.transaction((tx) => addToOutbox(tx, { tenantId, orderId, eventId: event.id, message, status: 'queued', at }));
        context.logger.info({ orderId, template: message.template.name }, 'WhatsApp message queued in the outbox');
        return;
      }
      context.logger.debug({ orderId, template: message.template.name }, 'sending WhatsApp message');
      const providerMessageId = await cloud.send(message, context.signal);
      context.transaction((tx) => addToOutbox(tx, { tenantId, orderId, eventId: event.id, message, status: 'sent', providerMessageId, at }));
      context.logger.info({ orderId, template: message.template.name, providerMessageId }, 'WhatsApp message sent');
    },
  });
}
