// A WhatsApp message's life, as a decider: decide(command, state) -> events, evolve(state, event).
// Pure: time and ids arrive in the command. The rule it keeps: once an attempt may have reached
// the provider (`send_started` without a definite "not sent" answer), no automatic command starts
// another; only an operator's Resend does.
//
// States:
//   queued     embedded default (WHATSAPP_MODE=outbox): kept, sent nowhere
//   sending    an attempt is in flight (recorded before the request leaves)
//   sent       the provider accepted it (its `wamid` is known)
//   delivered  / read: from the provider's status webhooks
//   unsent     the provider answered that it did not take it (429, 408, 503, no connection):
//              safe to send again, and the handler's retry policy does
//   failed     the provider refused it for good (other 4xx), or reported it undeliverable
//   uncertain  an attempt may have reached the provider (timeout, crash, reset, 5xx): never
//              resent automatically; settled by a status webhook or by an operator
import type { OutboxState, SettledBy, WhatsAppEvent } from './whatsapp-ledger-events.js';
import type { WhatsAppTemplateMessage } from './whatsapp-message.js';

export interface WhatsAppMessage {
  tenantId: string;
  orderId: string;
  messageId: string;
  message: WhatsAppTemplateMessage;
  status: OutboxState;
  /** Attempts made to hand it to the provider (0 in outbox mode). */
  attempts: number;
  providerMessageId: string | null;
  /** The provider's (phone-redacted) error, or why the state is uncertain. */
  lastError: string | null;
  settledBy: SettledBy | null;
  createdAt: string;
  updatedAt: string;
  /** The causing order event's commit position in $all: the outbox lists messages in the events' order. */
  sourcePosition?: number;
}

/** Undefined: the stream does not exist, nothing was ever recorded for this message. */
export type WhatsAppMessageState = WhatsAppMessage | undefined;

export interface MessageDraft {
  tenantId: string;
  orderId: string;
  messageId: string;
  message: WhatsAppTemplateMessage;
  sourcePosition?: number;
}

export type AttemptResult =
  | { status: 'sent'; providerMessageId: string }
  | { status: 'unsent' | 'failed' | 'uncertain'; reason: string };

export type WhatsAppCommand =
  | { type: 'QueueMessage'; draft: MessageDraft; at: Date }
  /** The handler's automatic attempt: claimed only when no earlier attempt may have landed. */
  | { type: 'StartSend'; draft: MessageDraft; at: Date }
  /** An operator's decision to send again (it may reach the customer twice). */
  | { type: 'Resend'; at: Date }
  | { type: 'RecordOutcome'; attempt: number; result: AttemptResult; at: Date }
  | { type: 'ReportStatus'; status: string; providerMessageId?: string | undefined; error?: string | undefined; at: Date }
  | { type: 'Settle'; status: 'sent' | 'failed'; note: string; at: Date }
  | { type: 'CarryOver'; snapshot: WhatsAppMessage; at: Date };

export const WHATSAPP_ERROR_CODES = ['MESSAGE_NOT_FOUND', 'MESSAGE_NOT_RESENDABLE', 'MESSAGE_NOT_SETTLEABLE'] as const;
export type WhatsAppErrorCode = (typeof WHATSAPP_ERROR_CODES)[number];

export class WhatsAppLedgerError extends Error {
  constructor(
    readonly code: WhatsAppErrorCode,
    message: string,
    readonly details: { status?: OutboxState } = {},
  ) {
    super(message);
    this.name = 'WhatsAppLedgerError';
  }
}

/** The provider said no: a new automatic attempt cannot deliver it twice. */
const AUTOMATICALLY_SENDABLE: readonly OutboxState[] = ['unsent', 'failed'];
const RESENDABLE: readonly OutboxState[] = ['unsent', 'failed', 'uncertain'];
const SETTLEABLE: readonly OutboxState[] = ['uncertain', 'sending', 'unsent', 'failed', 'sent'];
const RANK: Partial<Record<OutboxState, number>> = { sent: 1, delivered: 2, read: 3 };

export const initialState: WhatsAppMessageState = undefined;

/** Whether a provider's status moves the message: forward only, `failed` unless delivered or read. */
export function providerStatusApplies(current: OutboxState, next: string): next is 'sent' | 'delivered' | 'read' | 'failed' {
  const rank = RANK[current] ?? 0;
  if (next === 'sent' || next === 'delivered' || next === 'read') return (RANK[next] ?? 0) > rank;
  if (next === 'failed') return rank < (RANK.delivered ?? 2);
  return false;
}

export function decide(command: WhatsAppCommand, state: WhatsAppMessageState): WhatsAppEvent[] {
  const at = command.at.toISOString();
  switch (command.type) {
    case 'QueueMessage':
      return state ? [] : [{ type: 'whatsapp.queued', data: { ...command.draft, at } }];
    case 'StartSend': {
      if (!state) return [{ type: 'whatsapp.send_started', data: { ...command.draft, attempt: 1, by: 'handler', at } }];
      if (AUTOMATICALLY_SENDABLE.includes(state.status)) return [startAttempt(state, 'handler', at)];
      // Found in flight by a later delivery: that attempt may have reached the provider.
      if (state.status === 'sending') {
        return [{ type: 'whatsapp.uncertain', data: { ...ids(state, at), attempt: state.attempts, reason: `attempt ${state.attempts} was interrupted (crash or timeout) and may have reached the provider` } }];
      }
      return [];
    }
    case 'Resend': {
      const message = mustExist(state);
      if (!RESENDABLE.includes(message.status)) throw new WhatsAppLedgerError('MESSAGE_NOT_RESENDABLE', `the message is ${message.status}`, { status: message.status });
      return [startAttempt(message, 'operator', at)];
    }
    case 'RecordOutcome': {
      if (!state || command.attempt !== state.attempts) return [];
      const result = command.result;
      const data = { ...ids(state, at), attempt: command.attempt };
      if (result.status === 'sent') {
        // The answer can come after a webhook already said `delivered`: keep the id, not the step back.
        if (state.status === 'sending' || state.status === 'uncertain' || state.providerMessageId === null) {
          return [{ type: 'whatsapp.sent', data: { ...data, providerMessageId: result.providerMessageId } }];
        }
        return [];
      }
      // Only this attempt's own `sending` turns uncertain; a definite answer also corrects an
      // `uncertain` another worker assumed while this attempt was still waiting for it.
      if (result.status === 'uncertain') return state.status === 'sending' ? [{ type: 'whatsapp.uncertain', data: { ...data, reason: result.reason } }] : [];
      if (state.status !== 'sending' && state.status !== 'uncertain') return [];
      return [{ type: result.status === 'unsent' ? 'whatsapp.unsent' : 'whatsapp.failed', data: { ...data, error: result.reason } }];
    }
    case 'ReportStatus': {
      if (!state) return [];
      const applies = providerStatusApplies(state.status, command.status);
      const learnsId = command.providerMessageId !== undefined && state.providerMessageId === null;
      if (!applies && !learnsId) return [];
      const status = applies ? (command.status as 'sent' | 'delivered' | 'read' | 'failed') : rankedStatus(state.status);
      if (!status) return [];
      return [
        {
          type: 'whatsapp.status_reported',
          data: {
            ...ids(state, at),
            status,
            ...(command.providerMessageId !== undefined ? { providerMessageId: command.providerMessageId } : {}),
            ...(applies && status === 'failed' ? { error: command.error ?? 'the provider reported the message failed' } : {}),
          },
        },
      ];
    }
    case 'Settle': {
      const message = mustExist(state);
      if (!SETTLEABLE.includes(message.status)) throw new WhatsAppLedgerError('MESSAGE_NOT_SETTLEABLE', `the message is ${message.status}`, { status: message.status });
      return [{ type: 'whatsapp.settled', data: { ...ids(message, at), status: command.status, note: command.note } }];
    }
    case 'CarryOver': {
      if (state) return [];
      const { status, attempts, providerMessageId, lastError, settledBy, createdAt, ...draft } = command.snapshot;
      // An attempt of the old outbox still `sending` may have reached the provider.
      return [{ type: 'whatsapp.carried_over', data: { ...draftOf(draft), status: status === 'sending' ? 'uncertain' : status, attempts, providerMessageId, lastError, settledBy, createdAt, at } }];
    }
    default: {
      const _exhaustive: never = command;
      return _exhaustive;
    }
  }
}

export function evolve(state: WhatsAppMessageState, event: WhatsAppEvent): WhatsAppMessageState {
  const at = event.data.at;
  switch (event.type) {
    case 'whatsapp.queued':
      return { ...draftOf(event.data), status: 'queued', attempts: 0, providerMessageId: null, lastError: null, settledBy: null, createdAt: at, updatedAt: at };
    case 'whatsapp.send_started': {
      const before = state ?? { ...draftOf(event.data), providerMessageId: null, lastError: null, createdAt: at };
      return { ...before, status: 'sending', attempts: event.data.attempt, settledBy: null, updatedAt: at };
    }
    case 'whatsapp.carried_over': {
      const { status, attempts, providerMessageId, lastError, settledBy, createdAt } = event.data;
      return { ...draftOf(event.data), status, attempts, providerMessageId, lastError, settledBy, createdAt, updatedAt: at };
    }
    default:
      break;
  }
  if (!state) return state;
  switch (event.type) {
    case 'whatsapp.sent': {
      const status = (RANK[state.status] ?? 0) > (RANK.sent ?? 1) ? state.status : 'sent';
      return { ...state, status, providerMessageId: state.providerMessageId ?? event.data.providerMessageId, lastError: status === 'sent' ? null : state.lastError, settledBy: status === 'sent' ? 'handler' : state.settledBy, updatedAt: at };
    }
    case 'whatsapp.unsent':
    case 'whatsapp.failed':
      return { ...state, status: event.type === 'whatsapp.unsent' ? 'unsent' : 'failed', lastError: event.data.error, settledBy: 'handler', updatedAt: at };
    case 'whatsapp.uncertain':
      return { ...state, status: 'uncertain', lastError: event.data.reason, settledBy: 'handler', updatedAt: at };
    case 'whatsapp.status_reported': {
      const providerMessageId = state.providerMessageId ?? event.data.providerMessageId ?? null;
      if (event.data.status === state.status && event.data.error === undefined) return { ...state, providerMessageId };
      return { ...state, status: event.data.status, providerMessageId, lastError: event.data.error ?? null, settledBy: 'webhook', updatedAt: at };
    }
    case 'whatsapp.settled':
      return { ...state, status: event.data.status, lastError: event.data.note, settledBy: 'operator', updatedAt: at };
    default: {
      const _exhaustive: never = event;
      return _exhaustive;
    }
  }
}

/** decide + evolve, the shape the project's specs take. */
export const whatsappMessageDecider = { decide, evolve, initialState };

export function foldMessage(events: readonly WhatsAppEvent[]): WhatsAppMessageState {
  return events.reduce(evolve, initialState);
}

function startAttempt(state: WhatsAppMessage, by: 'handler' | 'operator', at: string): WhatsAppEvent {
  return { type: 'whatsapp.send_started', data: { ...draftOf(state), attempt: state.attempts + 1, by, at } };
}

function draftOf(source: MessageDraft): MessageDraft {
  return {
    tenantId: source.tenantId,
    orderId: source.orderId,
    messageId: source.messageId,
    message: source.message,
    ...(source.sourcePosition !== undefined ? { sourcePosition: source.sourcePosition } : {}),
  };
}

function ids(state: WhatsAppMessage, at: string): { tenantId: string; messageId: string; at: string } {
  return { tenantId: state.tenantId, messageId: state.messageId, at };
}

function mustExist(state: WhatsAppMessageState): WhatsAppMessage {
  if (!state) throw new WhatsAppLedgerError('MESSAGE_NOT_FOUND', 'no such WhatsApp message');
  return state;
}

/** A status a webhook may restate (only learning the wamid): the current one, if it is a provider's. */
function rankedStatus(status: OutboxState): 'sent' | 'delivered' | 'read' | 'failed' | undefined {
  return status === 'sent' || status === 'delivered' || status === 'read' || status === 'failed' ? status : undefined;
}
