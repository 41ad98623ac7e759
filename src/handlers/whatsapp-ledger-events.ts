// The WhatsApp send ledger's events: one stream per message, `whatsapp-<tenantId>-<messageId>`,
// where the message id is the id of the order event that caused it (deterministic: a redelivered
// or replayed cause names the same stream). The stream is the record that keeps a message from
// reaching a customer twice; it lives in the event store, so losing the read-model file loses
// nothing of it.
import { z } from 'zod';
import type { WhatsAppTemplateMessage } from './whatsapp-message.js';

export const WHATSAPP_STREAM_CATEGORY = 'whatsapp';

export const WHATSAPP_EVENT_TYPES = [
  'whatsapp.queued',
  'whatsapp.send_started',
  'whatsapp.sent',
  'whatsapp.unsent',
  'whatsapp.failed',
  'whatsapp.uncertain',
  'whatsapp.status_reported',
  'whatsapp.settled',
  'whatsapp.carried_over',
] as const;
export type WhatsAppEventType = (typeof WHATSAPP_EVENT_TYPES)[number];

export const OUTBOX_STATES = ['queued', 'sending', 'sent', 'delivered', 'read', 'unsent', 'failed', 'uncertain'] as const;
export type OutboxState = (typeof OUTBOX_STATES)[number];

/** Who last decided the state: the handler's own attempt, a provider webhook, or an operator. */
export type SettledBy = 'handler' | 'webhook' | 'operator';

const UUID_LENGTH = 36;

/** `<tenantId>-<messageId>`: what names a message's stream, and its `biz_opaque_callback_data`. */
export function whatsappMessageKey(tenantId: string, messageId: string): string {
  return `${tenantId}-${messageId}`;
}

export function whatsappStreamName(tenantId: string, messageId: string): string {
  return `${WHATSAPP_STREAM_CATEGORY}-${whatsappMessageKey(tenantId, messageId)}`;
}

/** The tenant and message id of a key (the message id is a UUID, the key's last 36 characters). */
export function parseWhatsAppMessageKey(key: string): { tenantId: string; messageId: string } | undefined {
  if (key.length <= UUID_LENGTH + 1 || key[key.length - UUID_LENGTH - 1] !== '-') return undefined;
  const messageId = key.slice(-UUID_LENGTH);
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(messageId)) return undefined;
  return { tenantId: key.slice(0, -UUID_LENGTH - 1), messageId };
}

const templateMessage: z.ZodType<WhatsAppTemplateMessage> = z.looseObject({
  messaging_product: z.literal('whatsapp'),
  recipient_type: z.literal('individual'),
  to: z.string(),
  type: z.literal('template'),
  template: z.looseObject({ name: z.string(), language: z.looseObject({ code: z.string() }), components: z.array(z.unknown()) }),
}) as unknown as z.ZodType<WhatsAppTemplateMessage>;

const base = { tenantId: z.string(), messageId: z.string(), at: z.string() };
// sourcePosition: the causing order event's commit position in $all (absent in events written before it was kept).
const draft = { ...base, orderId: z.string(), message: templateMessage, sourcePosition: z.number().int().nonnegative().optional() };

const schemas = {
  'whatsapp.queued': z.object(draft),
  'whatsapp.send_started': z.object({ ...draft, attempt: z.number().int().min(1), by: z.enum(['handler', 'operator']) }),
  'whatsapp.sent': z.object({ ...base, attempt: z.number().int(), providerMessageId: z.string() }),
  'whatsapp.unsent': z.object({ ...base, attempt: z.number().int(), error: z.string() }),
  'whatsapp.failed': z.object({ ...base, attempt: z.number().int(), error: z.string() }),
  'whatsapp.uncertain': z.object({ ...base, attempt: z.number().int(), reason: z.string() }),
  'whatsapp.status_reported': z.object({
    ...base,
    status: z.enum(['sent', 'delivered', 'read', 'failed']),
    providerMessageId: z.string().optional(),
    error: z.string().optional(),
  }),
  'whatsapp.settled': z.object({ ...base, status: z.enum(['sent', 'failed']), note: z.string() }),
  // A message the read-model outbox held before the ledger existed, as it stood then.
  'whatsapp.carried_over': z.object({
    ...draft,
    status: z.enum(OUTBOX_STATES),
    attempts: z.number().int(),
    providerMessageId: z.string().nullable(),
    lastError: z.string().nullable(),
    settledBy: z.enum(['handler', 'webhook', 'operator']).nullable(),
    createdAt: z.string(),
  }),
} as const satisfies Record<WhatsAppEventType, z.ZodType>;

export type WhatsAppEvent = { [K in WhatsAppEventType]: { type: K; data: z.infer<(typeof schemas)[K]> } }[WhatsAppEventType];

export function isWhatsAppEventType(type: string): type is WhatsAppEventType {
  return (WHATSAPP_EVENT_TYPES as readonly string[]).includes(type);
}

/** Parses an event read from a ledger stream; undefined for a type this version does not know. */
export function parseWhatsAppEvent(type: string, data: unknown): WhatsAppEvent | undefined {
  if (!isWhatsAppEventType(type)) return undefined;
  return { type, data: schemas[type].parse(data) } as WhatsAppEvent;
}
