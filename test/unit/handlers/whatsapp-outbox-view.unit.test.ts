import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { foldMessage } from '../../../src/handlers/whatsapp-ledger.js';
import type { WhatsAppEvent } from '../../../src/handlers/whatsapp-ledger-events.js';
import { statusTemplateMessage } from '../../../src/handlers/whatsapp-message.js';
import { ensureOutboxSchema, findByEvent, legacyMessage, listOutbox, outboxViewBuilt, markOutboxViewBuilt, writeOutboxRow } from '../../../src/handlers/whatsapp-outbox.js';
import type { ReadModelStore } from '../../../src/readmodels/read-model-store.js';
import { openTestReadModels } from '../../helpers/read-models.js';

const messageId = '0b7c6f5e-1d2a-4b3c-8d9e-0f1a2b3c4d5e';
const message = statusTemplateMessage({ to: '14155550100', status: 'PAID', language: 'en_US', customerName: 'Ann', orderId: 'o-1' })!;
const at = '2026-03-01T10:00:00.000Z';
const started: WhatsAppEvent = { type: 'whatsapp.send_started', data: { tenantId: 't', orderId: 'o-1', messageId, message, attempt: 1, by: 'handler', at } };
const sent: WhatsAppEvent = { type: 'whatsapp.sent', data: { tenantId: 't', messageId, attempt: 1, providerMessageId: 'wamid.1', at } };

describe('the outbox view of the WhatsApp ledger', () => {
  let store: ReadModelStore;
  beforeEach(async () => {
    store = await openTestReadModels();
    await ensureOutboxSchema(store);
  });
  afterEach(() => store.close());

  it("shows a message as its ledger stands, and never goes back to an earlier revision's state (writers race)", async () => {
    await writeOutboxRow(store, foldMessage([started, sent])!, 1n);
    await writeOutboxRow(store, foldMessage([started])!, 0n);
    expect(await findByEvent(store, messageId)).toMatchObject({ status: 'sent', attempts: 1, providerMessageId: 'wamid.1', ledgerRevision: 1, tenantId: 't', orderId: 'o-1' });
    expect(await listOutbox(store, 'other-tenant', { limit: 10 })).toEqual([]);
  });

  it('tells rows from before the ledger (no revision) from the ones it wrote, and records when it was rebuilt', async () => {
    await store.run(
      `INSERT INTO whatsapp_outbox (tenant_id, order_id, event_id, recipient, template, status, payload, created_at, attempts) VALUES ('t', 'o-1', ?, ?, 'order_paid', 'sent', ?, ?, 1)`,
      messageId,
      message.to,
      JSON.stringify(message),
      at,
    );
    expect(await legacyMessage(store, messageId)).toMatchObject({ messageId, status: 'sent', attempts: 1 });
    await writeOutboxRow(store, foldMessage([started, sent])!, 1n);
    expect(await legacyMessage(store, messageId)).toBeUndefined();
    expect(await outboxViewBuilt(store)).toBe(false);
    await markOutboxViewBuilt(store, 1, new Date());
    expect(await outboxViewBuilt(store)).toBe(true);
  });

  it("lists messages in the order of the events that caused them, newest first, whatever order their rows were written in, and pages on in that order", async () => {
    const queued = (id: string, status: 'PAID' | 'SHIPPED', sourcePosition?: number): WhatsAppEvent => ({
      type: 'whatsapp.queued',
      data: { tenantId: 't', orderId: 'o-1', messageId: id, message: statusTemplateMessage({ to: '14155550100', status, language: 'en_US', customerName: 'Ann', orderId: 'o-1' })!, at, ...(sourcePosition !== undefined ? { sourcePosition } : {}) },
    });
    const ids = ['00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000003'];
    // The SHIPPED message's row first, then the PAID one's, then one recorded before positions were kept.
    await writeOutboxRow(store, foldMessage([queued(ids[2]!, 'SHIPPED', 900)])!, 0n);
    await writeOutboxRow(store, foldMessage([queued(ids[1]!, 'PAID', 500)])!, 0n);
    await writeOutboxRow(store, foldMessage([queued(ids[0]!, 'PAID')])!, 0n);
    const listed = await listOutbox(store, 't', { limit: 10 });
    expect(listed.map((row) => [row.eventId, row.sourcePosition])).toEqual([[ids[2], 900], [ids[1], 500], [ids[0], null]]);
    const first = await listOutbox(store, 't', { limit: 1 });
    const second = await listOutbox(store, 't', { limit: 1, before: first[0]!.id });
    const third = await listOutbox(store, 't', { limit: 5, before: second[0]!.id });
    expect([...first, ...second, ...third].map((row) => row.eventId)).toEqual([ids[2], ids[1], ids[0]]);
    // A later state of the message keeps its place.
    await writeOutboxRow(store, foldMessage([queued(ids[1]!, 'PAID', 500), { type: 'whatsapp.settled', data: { tenantId: 't', messageId: ids[1]!, status: 'sent', note: 'checked', at } }])!, 1n);
    expect((await listOutbox(store, 't', { limit: 10 })).map((row) => row.eventId)).toEqual([ids[2], ids[1], ids[0]]);
  });

  it('adds the position column to a table made before it, once, however often the schema is ensured', async () => {
    const older = await openTestReadModels();
    try {
      await older.migrate(`CREATE TABLE IF NOT EXISTS whatsapp_outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT, tenant_id TEXT NOT NULL, order_id TEXT NOT NULL, event_id TEXT NOT NULL UNIQUE,
        recipient TEXT NOT NULL, template TEXT NOT NULL, status TEXT NOT NULL, provider_message_id TEXT, payload TEXT NOT NULL, created_at TEXT NOT NULL)`);
      await ensureOutboxSchema(older);
      await ensureOutboxSchema(older);
      await writeOutboxRow(older, foldMessage([started])!, 0n);
      expect(await findByEvent(older, messageId)).toMatchObject({ status: 'sending', sourcePosition: null });
    } finally {
      await older.close();
    }
  });
});
