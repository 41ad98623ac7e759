// Every handler the workers run, each its own persistent subscription group.
import { HandlerRegistry, type HandlerDefinition } from '../subscriptions/handler.js';
import type { HandlerConfig } from './handler-config.js';
import notification from './notification.js';
import { createWhatsAppHandler } from './whatsapp.js';
import type { WhatsAppSender } from './whatsapp-cloud-api.js';

export function createHandlers(config: HandlerConfig, overrides: { whatsappSender?: WhatsAppSender } = {}): HandlerDefinition[] {
  return new HandlerRegistry()
    .add(notification)
    .add(createWhatsAppHandler(config.whatsapp, overrides.whatsappSender))
    .definitions();
}
