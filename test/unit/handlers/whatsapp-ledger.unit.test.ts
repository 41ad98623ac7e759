import { describe, expect, it } from 'vitest';
import { foldMessage, whatsappMessageDecider, type MessageDraft, type WhatsAppCommand } from '../../../src/handlers/whatsapp-ledger.js';
import type { WhatsAppEvent } from '../../../src/handlers/whatsapp-ledger-events.js';
import { parseWhatsAppMessageKey, whatsappMessageKey, whatsappStreamName } from '../../../src/handlers/whatsapp-ledger-events.js';
import { statusTemplateMessage } from '../../../src/handlers/whatsapp-message.js';
import { deciderSpec } from '../../helpers/decider-spec.js';

const spec = deciderSpec<WhatsAppCommand, WhatsAppEvent, ReturnType<typeof foldMessage>>(whatsappMessageDecider);
const at = new Date('2026-03-01T10:00:00.000Z');
const later = new Date('2026-03-01T10:05:00.000Z');
const messageId = '6f1c2a52-6d0b-4a5e-9f0c-2b8e1d3a4c5f';
const draft: MessageDraft = {
  tenantId: 'acme-eu',
  orderId: 'o-1',
  messageId,
  message: statusTemplateMessage({ to: '14155550100', status: 'PAID', language: 'en_US', customerName: 'Ann', orderId: 'o-1' })!,
};
const ids = { tenantId: 'acme-eu', messageId };
const started = (attempt = 1, by: 'handler' | 'operator' = 'handler', when = at): WhatsAppEvent => ({ type: 'whatsapp.send_started', data: { ...draft, attempt, by, at: when.toISOString() } });
const uncertain = (reason = 'no answer before the handler timeout'): WhatsAppEvent => ({ type: 'whatsapp.uncertain', data: { ...ids, attempt: 1, reason, at: at.toISOString() } });
const unsent: WhatsAppEvent = { type: 'whatsapp.unsent', data: { ...ids, attempt: 1, error: 'answered 429', at: at.toISOString() } };
const sent = (attempt = 1): WhatsAppEvent => ({ type: 'whatsapp.sent', data: { ...ids, attempt, providerMessageId: 'wamid.1', at: at.toISOString() } });

describe('a WhatsApp message decided on its ledger', () => {
  it('claims the first attempt of a message nobody has seen, before anything is sent', () => {
    spec.given([]).when({ type: 'StartSend', draft, at }).then([started()]);
  });

  it('never starts an automatic attempt again once one may have reached the provider', () => {
    for (const history of [[started(), sent()], [started(), uncertain()], [started(), sent(), { type: 'whatsapp.status_reported', data: { ...ids, status: 'delivered', at: at.toISOString() } } as WhatsAppEvent]]) {
      spec.given(history).when({ type: 'StartSend', draft, at: later }).thenNothing();
    }
  });

  it('turns an attempt found in flight by a later delivery into uncertain, never into a second send', () => {
    spec.given([started()]).when({ type: 'StartSend', draft, at }).then([
      { type: 'whatsapp.uncertain', data: { ...ids, attempt: 1, reason: 'attempt 1 was interrupted (crash or timeout) and may have reached the provider', at: at.toISOString() } },
    ]);
  });

  it('starts another attempt automatically only after the provider said it did not take the message', () => {
    spec.given([started(), unsent]).when({ type: 'StartSend', draft, at: later }).then([started(2, 'handler', later)]);
  });

  it('queues a message once in outbox mode, and a queued message is not sent by a redelivery in cloud mode', () => {
    spec.given([]).when({ type: 'QueueMessage', draft, at }).then([{ type: 'whatsapp.queued', data: { ...draft, at: at.toISOString() } }]);
    const queued: WhatsAppEvent = { type: 'whatsapp.queued', data: { ...draft, at: at.toISOString() } };
    spec.given([queued]).when({ type: 'QueueMessage', draft, at }).thenNothing();
    spec.given([queued]).when({ type: 'StartSend', draft, at }).thenNothing();
  });

  it('records an answer for its own attempt only; a late "sent" corrects an uncertain that another worker assumed', () => {
    spec.given([started()]).when({ type: 'RecordOutcome', attempt: 1, result: { status: 'sent', providerMessageId: 'wamid.1' }, at }).then([sent()]);
    spec.given([started(), uncertain()]).when({ type: 'RecordOutcome', attempt: 1, result: { status: 'sent', providerMessageId: 'wamid.1' }, at }).then([sent()]);
    spec.given([started(), uncertain()]).when({ type: 'RecordOutcome', attempt: 1, result: { status: 'uncertain', reason: 'timeout' }, at }).thenNothing();
    spec.given([started(), unsent, started(2)]).when({ type: 'RecordOutcome', attempt: 1, result: { status: 'unsent', reason: 'late 429' }, at }).thenNothing();
  });

  it('lets status webhooks move a message forward only, and learns the wamid', () => {
    const delivered: WhatsAppEvent = { type: 'whatsapp.status_reported', data: { ...ids, status: 'delivered', providerMessageId: 'wamid.1', at: at.toISOString() } };
    spec.given([started(), uncertain()]).when({ type: 'ReportStatus', status: 'delivered', providerMessageId: 'wamid.1', at }).then([delivered]);
    spec.given([started(), uncertain(), delivered]).when({ type: 'ReportStatus', status: 'sent', providerMessageId: 'wamid.1', at }).thenNothing();
    spec.given([started(), uncertain(), delivered]).when({ type: 'ReportStatus', status: 'failed', at }).thenNothing();
    spec.given([]).when({ type: 'ReportStatus', status: 'read', providerMessageId: 'wamid.x', at }).thenNothing();
    const state = foldMessage([started(), uncertain(), delivered, sent()]);
    expect(state).toMatchObject({ status: 'delivered', providerMessageId: 'wamid.1', attempts: 1, settledBy: 'webhook' });
  });

  it("takes an operator's resend of an uncertain message as a new attempt, and refuses one the provider already took", () => {
    spec.given([started(), uncertain()]).when({ type: 'Resend', at: later }).then([started(2, 'operator', later)]);
    spec.given([started(), sent()]).when({ type: 'Resend', at: later }).thenFails('MESSAGE_NOT_RESENDABLE', { status: 'sent' });
    spec.given([started()]).when({ type: 'Resend', at: later }).thenFails('MESSAGE_NOT_RESENDABLE', { status: 'sending' });
    spec.given([]).when({ type: 'Resend', at: later }).thenFails('MESSAGE_NOT_FOUND');
  });

  it("records an operator's settlement with the note, and refuses one on a delivered message", () => {
    spec.given([started(), uncertain()]).when({ type: 'Settle', status: 'sent', note: 'customer confirmed', at }).then([
      { type: 'whatsapp.settled', data: { ...ids, status: 'sent', note: 'customer confirmed', at: at.toISOString() } },
    ]);
    expect(foldMessage([started(), uncertain(), { type: 'whatsapp.settled', data: { ...ids, status: 'sent', note: 'customer confirmed', at: at.toISOString() } }])).toMatchObject({
      status: 'sent',
      settledBy: 'operator',
      lastError: 'customer confirmed',
    });
    const delivered: WhatsAppEvent = { type: 'whatsapp.status_reported', data: { ...ids, status: 'delivered', at: at.toISOString() } };
    spec.given([started(), sent(), delivered]).when({ type: 'Settle', status: 'failed', note: 'x', at }).thenFails('MESSAGE_NOT_SETTLEABLE');
  });

  it('carries a message of the old outbox into its stream once, a `sending` one as uncertain', () => {
    const snapshot = { ...draft, status: 'sending' as const, attempts: 1, providerMessageId: null, lastError: null, settledBy: null, createdAt: at.toISOString(), updatedAt: at.toISOString() };
    const [carried] = whatsappMessageDecider.decide({ type: 'CarryOver', snapshot, at: later }, undefined);
    expect(carried).toMatchObject({ type: 'whatsapp.carried_over', data: { status: 'uncertain', attempts: 1 } });
    spec.given([carried!]).when({ type: 'StartSend', draft, at: later }).thenNothing();
    spec.given([carried!]).when({ type: 'CarryOver', snapshot, at: later }).thenNothing();
  });

  it('names one stream per tenant and message, and parses the key back though tenant ids hold dashes', () => {
    expect(whatsappStreamName('acme-eu', messageId)).toBe(`whatsapp-acme-eu-${messageId}`);
    expect(parseWhatsAppMessageKey(whatsappMessageKey('acme-eu', messageId))).toEqual({ tenantId: 'acme-eu', messageId });
    expect(parseWhatsAppMessageKey(messageId)).toBeUndefined();
    expect(parseWhatsAppMessageKey('acme-not-a-uuid')).toBeUndefined();
  });
});
