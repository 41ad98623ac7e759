// Sends a message through the WhatsApp Business Cloud API, and says what a failure means for
// sending again: only an answer in which the provider declined the request makes a new attempt
// safe. Everything else (a timeout, a connection lost after the request was written, a 5xx
// other than 503) may have been accepted, so the message is `uncertain` and never resent
// automatically (see whatsapp-outbox.ts).
import type { WhatsAppTemplateMessage } from './whatsapp-message.js';
import { redactPhoneNumbers } from './whatsapp-redact.js';
import { traceClientCall } from '../observability/client-tracing.js';

export interface WhatsAppSender {
  /**
   * Resolves with the provider's message id (`wamid....`). `callbackData` goes out as
   * `biz_opaque_callback_data`, which the provider's status webhooks carry back.
   */
  send(message: WhatsAppTemplateMessage, signal: AbortSignal, callbackData?: string): Promise<string>;
}

/**
 * What a failed send means:
 * - `unsent`: the provider did not take it and says trying later may work (429, 408, 503, or
 *   no connection could be opened): retried by the handler's retry policy;
 * - `refused`: the provider answered it will not send it (other 4xx): failed, the event parked;
 * - `uncertain`: it may have been accepted (timeout, reset, 500/502/504 ...).
 */
export type SendFailure = 'unsent' | 'refused' | 'uncertain';

export class WhatsAppApiError extends Error {
  readonly code = 'WHATSAPP_API_ERROR';
  constructor(
    readonly status: number,
    detail: string,
  ) {
    super(`WhatsApp Cloud API answered ${status}: ${redactPhoneNumbers(detail)}`);
    this.name = 'WhatsAppApiError';
  }
}

/** The request could not be made or its answer not read; `failure` says whether it may have landed. */
export class WhatsAppTransportError extends Error {
  readonly code = 'WHATSAPP_TRANSPORT_ERROR';
  constructor(
    message: string,
    readonly failure: 'unsent' | 'uncertain',
  ) {
    super(redactPhoneNumbers(message));
    this.name = 'WhatsAppTransportError';
  }
}

// No connection was ever opened: the request cannot have reached the provider.
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

export function classifySendFailure(error: unknown): SendFailure {
  if (error instanceof WhatsAppApiError) {
    const status = error.status;
    if (status === 429 || status === 408 || status === 503) return 'unsent';
    if (status >= 400 && status < 500) return 'refused';
    return 'uncertain';
  }
  if (error instanceof WhatsAppTransportError) return error.failure;
  return 'uncertain';
}

export function cloudApiSender(options: { baseUrl: string; token: string; phoneNumberId: string }): WhatsAppSender {
  const base = options.baseUrl.replace(/\/+$/, '');
  const url = `${base}/${encodeURIComponent(options.phoneNumberId)}/messages`;
  // A client span per call, its traceparent sent along; the ids stay out of its attributes.
  const call = { method: 'POST', url, urlTemplate: `${base}/{phone-number-id}/messages` };
  return {
    send(message, signal, callbackData) {
      return traceClientCall({ ...call, attributes: { 'order_store.whatsapp.template': message.template.name } }, async (span) => {
        let response: Response;
        let text: string;
        try {
          response = await fetch(url, {
            method: 'POST',
            headers: span.headers({ authorization: `Bearer ${options.token}`, 'content-type': 'application/json' }),
            body: JSON.stringify(callbackData === undefined ? message : { ...message, biz_opaque_callback_data: callbackData }),
            signal,
          });
          text = await response.text();
        } catch (error) {
          const failure = transportError(error, signal);
          span.failed(failure.failure === 'unsent' ? 'unsent' : signal.aborted ? 'timeout' : 'uncertain', failure.message);
          throw failure;
        }
        span.answered(response.status);
        const body = parseJson(text);
        if (!response.ok) throw new WhatsAppApiError(response.status, errorDetail(body) ?? (text.slice(0, 200) || response.statusText));
        const id = messageId(body);
        // Accepted (2xx) but unreadable: it was probably sent.
        if (!id) throw new WhatsAppApiError(response.status, 'reply carries no message id');
        return id;
      });
    },
  };
}

function transportError(error: unknown, signal: AbortSignal): WhatsAppTransportError {
  if (signal.aborted) return new WhatsAppTransportError(`no answer from the WhatsApp Cloud API before the handler timeout (${reasonOf(signal)})`, 'uncertain');
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  const message = `WhatsApp Cloud API request failed: ${error instanceof Error ? error.message : String(error)}${code ? ` (${code})` : ''}`;
  return new WhatsAppTransportError(message, code && NOT_CONNECTED.has(code) ? 'unsent' : 'uncertain');
}

function reasonOf(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason.message : String(reason);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function errorDetail(body: unknown): string | undefined {
  const error = (body as { error?: { message?: unknown; code?: unknown; error_data?: { details?: unknown } } } | undefined)?.error;
  if (!error || typeof error.message !== 'string') return undefined;
  const details = typeof error.error_data?.details === 'string' ? `: ${error.error_data.details}` : '';
  return `${error.message}${details}${error.code !== undefined ? ` (code ${String(error.code)})` : ''}`;
}

function messageId(body: unknown): string | undefined {
  const messages = (body as { messages?: { id?: unknown }[] } | undefined)?.messages;
  const id = Array.isArray(messages) ? messages[0]?.id : undefined;
  return typeof id === 'string' ? id : undefined;
}
