import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { foldMessage } from '../../../src/handlers/whatsapp-ledger.js';
import type { WhatsAppEvent } from '../../../src/handlers/whatsapp-ledger-events.js';
import { statusTemplateMessage } from '../../../src/handlers/whatsapp-message.js';
import { ensureOutboxSchema, findByEvent, legacyMessage, listOutbox, outboxViewBuilt, markOutboxViewBuilt, writeOutboxRow } from '../../../src/handlers/whatsapp-outbox.js';
import { openReadModelStore, type ReadModelStore } from '../../../src/readmodels/read-model-store.js';

const messageId = '0b7c6f5e-1d2a-4b3c-8d9e-0f1a2b3c4d5e';
const message = statusTemplateMessage({ to: '14155550100', status: 'PAID', language: 'en_US', customerName: 'Ann', orderId: 'o-1' })!;
const at = '2026-03-01T10:00:00.000Z';
const started: WhatsAppEvent = { type: 'whatsapp.send_started', data: { tenantId: 't', orderId: 'o-1', messageId, message, attempt: 1, by: 'handler', at } };
const sent: WhatsAppEvent = { type: 'whatsapp.sent', data: { tenantId: 't', messageId, attempt: 1, providerMessageId: 'wamid.1', at } };

describe('the outbox view of the WhatsApp ledger', () => {
  let store: ReadModelStore;
  beforeEach(() => {
    store = openReadModelStore({ file: ':memory:' });
    ensureOutboxSchema(store);
  });
  afterEach(() => store.close());

  it("shows a message as its ledger stands, and never goes back to an earlier revision's state (writers race)", () => {
    writeOutboxRow(store, foldMessage([started, sent])!, 1n);
    writeOutboxRow(store, foldMessage([started])!, 0n);
    expect(findByEvent(store, messageId)).toMatchObject({ status: 'sent', attempts: 1, providerMessageId: 'wamid.1', ledgerRevision: 1, tenantId: 't', orderId: 'o-1' });
    expect(listOutbox(store, 'other-tenant', { limit: 10 })).toEqual([]);
  });

  it('tells rows from before the ledger (no revision) from the ones it wrote, and records when it was rebuilt', () => {
    store.run(
      `INSERT INTO whatsapp_outbox (tenant_id, order_id, event_id, recipient, template, status, payload, created_at, attempts) VALUES ('t', 'o-1', ?, ?, 'order_paid', 'sent', ?, ?, 1)`,
      messageId,
      message.to,
      JSON.stringify(message),
      at,
    );
    expect(legacyMessage(store, messageId)).toMatchObject({ messageId, status: 'sent', attempts: 1 });
    writeOutboxRow(store, foldMessage([started, sent])!, 1n);
    expect(legacyMessage(store, messageId)).toBeUndefined();
    expect(outboxViewBuilt(store)).toBe(false);
    markOutboxViewBuilt(store, 1, new Date());
    expect(outboxViewBuilt(store)).toBe(true);
  });
});
