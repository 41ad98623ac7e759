// Sends a message through the WhatsApp Business Cloud API. Rate limits (429) and server errors
// are transient (the runner retries with backoff); other 4xx are permanent (parked at once).
import { PermanentHandlerError } from '../subscriptions/errors.js';
import type { WhatsAppTemplateMessage } from './whatsapp-message.js';

export interface WhatsAppSender {
  /** Resolves with the provider's message id (`wamid....`). */
  send(message: WhatsAppTemplateMessage, signal: AbortSignal): Promise<string>;
}

export class WhatsAppApiError extends Error {
  readonly code = 'WHATSAPP_API_ERROR';
  constructor(
    readonly status: number,
    detail: string,
  ) {
    super(`WhatsApp Cloud API answered ${status}: ${detail}`);
    this.name = 'WhatsAppApiError';
  }
}

export function cloudApiSender(options: { baseUrl: string; token: string; phoneNumberId: string }): WhatsAppSender {
  const url = `${options.baseUrl.replace(/\/+$/, '')}/${encodeURIComponent(options.phoneNumberId)}/messages`;
  return {
    async send(message, signal) {
      const response = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${options.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(message),
        signal,
      });
      const text = await response.text();
      const body = parseJson(text);
      if (!response.ok) {
        const detail = errorDetail(body) ?? (text.slice(0, 200) || response.statusText);
        const error = new WhatsAppApiError(response.status, detail);
        if (response.status === 429 || response.status >= 500) throw error;
        throw new PermanentHandlerError(error.message, { cause: error });
      }
      const id = messageId(body);
      if (!id) throw new WhatsAppApiError(response.status, 'reply carries no message id');
      return id;
    },
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function errorDetail(body: unknown): string | undefined {
  const error = (body as { error?: { message?: unknown; code?: unknown } } | undefined)?.error;
  if (!error || typeof error.message !== 'string') return undefined;
  return error.code !== undefined ? `${error.message} (code ${String(error.code)})` : error.message;
}

function messageId(body: unknown): string | undefined {
  const messages = (body as { messages?: { id?: unknown }[] } | undefined)?.messages;
  const id = Array.isArray(messages) ? messages[0]?.id : undefined;
  return typeof id === 'string' ? id : undefined;
}
