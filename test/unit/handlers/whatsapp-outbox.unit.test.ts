import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { onPostgres, openTestReadModels } from '../../helpers/read-models.js';
import {
  applyProviderStatus,
  claimResend,
  claimSend,
  ensureOutboxSchema,
  findByEvent,
  listOutbox,
  markInterrupted,
  recordAttemptOutcome,
} from '../../../src/handlers/whatsapp-outbox.js';
import { statusTemplateMessage } from '../../../src/handlers/whatsapp-message.js';
import { type ReadModelStore } from '../../../src/readmodels/read-model-store.js';

const message = statusTemplateMessage({ to: '14155550100', status: 'PAID', language: 'en_US', customerName: 'Ann', orderId: 'o-1' })!;
const entry = (eventId = 'ev-1') => ({ tenantId: 't', orderId: 'o-1', eventId, message, at: new Date() });

describe('the WhatsApp outbox ledger', () => {
  let store: ReadModelStore;
  beforeEach(async () => {
    store = await openTestReadModels();
    await ensureOutboxSchema(store);
  });
  afterEach(async () => await store.close());

  it('claims a new message for one attempt, committed as sending before anything is sent', async () => {
    const claim = await claimSend(store, entry());
    expect(claim).toMatchObject({ claimed: true, attempt: 1, message: { status: 'sending', attempts: 1 } });
  });

  it('never claims again a message whose attempt may have reached the provider', async () => {
    await claimSend(store, entry());
    // A redelivery after a crash finds it sending: it turns uncertain, nothing is claimed.
    const again = await claimSend(store, entry());
    expect(again.claimed).toBe(false);
    await store.transaction(async (tx) => await markInterrupted(tx, again.message, new Date()));
    expect((await findByEvent(store, 'ev-1'))?.status).toBe('uncertain');
    expect((await claimSend(store, entry())).claimed).toBe(false);
    for (const status of ['sent', 'delivered', 'read'] as const) {
      await store.transaction(async (tx) => await applyProviderStatus(tx, { messageId: 'ev-1', providerMessageId: 'wamid.A', status, at: new Date() }));
      expect((await claimSend(store, entry())).claimed).toBe(false);
    }
  });

  it('claims again only what the provider declined (unsent) or refused (failed)', async () => {
    await claimSend(store, entry());
    await store.transaction(async (tx) => await recordAttemptOutcome(tx, { eventId: 'ev-1', attempt: 1, at: new Date(), status: 'unsent', error: '429' }));
    expect(await claimSend(store, entry())).toMatchObject({ claimed: true, attempt: 2 });
    await store.transaction(async (tx) => await recordAttemptOutcome(tx, { eventId: 'ev-1', attempt: 2, at: new Date(), status: 'failed', error: '400' }));
    expect(await claimSend(store, entry())).toMatchObject({ claimed: true, attempt: 3 });
  });

  it('ignores the outcome of a stale attempt, and a late answer never steps a webhook status back', async () => {
    await claimSend(store, entry());
    await store.transaction(async (tx) => await recordAttemptOutcome(tx, { eventId: 'ev-1', attempt: 1, at: new Date(), status: 'unsent', error: '503' }));
    await claimSend(store, entry());
    expect(await store.transaction(async (tx) => await recordAttemptOutcome(tx, { eventId: 'ev-1', attempt: 1, at: new Date(), status: 'uncertain', error: 'late' }))).toBe(false);
    await store.transaction(async (tx) => await applyProviderStatus(tx, { messageId: 'ev-1', providerMessageId: 'wamid.B', status: 'delivered', at: new Date() }));
    await store.transaction(async (tx) => await recordAttemptOutcome(tx, { eventId: 'ev-1', attempt: 2, at: new Date(), status: 'sent', providerMessageId: 'wamid.B' }));
    expect(await findByEvent(store, 'ev-1')).toMatchObject({ status: 'delivered', providerMessageId: 'wamid.B', settledBy: 'webhook' });
  });

  it('moves webhook statuses forward only, finds a message by wamid when the callback data is missing, and takes failed before delivery', async () => {
    await claimSend(store, entry());
    await store.transaction(async (tx) => await recordAttemptOutcome(tx, { eventId: 'ev-1', attempt: 1, at: new Date(), status: 'sent', providerMessageId: 'wamid.C' }));
    await store.transaction(async (tx) => await applyProviderStatus(tx, { messageId: undefined, providerMessageId: 'wamid.C', status: 'read', at: new Date() }));
    await store.transaction(async (tx) => await applyProviderStatus(tx, { messageId: 'ev-1', providerMessageId: 'wamid.C', status: 'delivered', at: new Date() }));
    expect((await findByEvent(store, 'ev-1'))?.status).toBe('read');
    await claimSend(store, entry('ev-2'));
    await store.transaction(async (tx) => await applyProviderStatus(tx, { messageId: 'ev-2', providerMessageId: 'wamid.D', status: 'failed', error: 'provider: undeliverable', at: new Date() }));
    expect(await findByEvent(store, 'ev-2')).toMatchObject({ status: 'failed', lastError: 'provider: undeliverable' });
    expect(await store.transaction(async (tx) => await applyProviderStatus(tx, { messageId: 'nope', providerMessageId: 'wamid.X', status: 'sent', at: new Date() }))).toBeUndefined();
  });

  it('lets an operator resend an uncertain, unsent or failed message, never a sent or in-flight one', async () => {
    const first = await claimSend(store, entry());
    expect((await claimResend(store, first.message.id, new Date())).claimed).toBe(false);
    await store.transaction(async (tx) => await markInterrupted(tx, first.message, new Date()));
    expect(await claimResend(store, first.message.id, new Date())).toMatchObject({ claimed: true, attempt: 2 });
    await store.transaction(async (tx) => await recordAttemptOutcome(tx, { eventId: 'ev-1', attempt: 2, at: new Date(), status: 'sent', providerMessageId: 'wamid.E' }));
    expect((await claimResend(store, first.message.id, new Date())).claimed).toBe(false);
  });
});

describe('an outbox table from before message states', () => {
  let dir: string;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'outbox-'));
  });
  afterEach(async () => rmSync(dir, { recursive: true, force: true }));

  // A table from before message states exists only in SQLite files: PostgreSQL read models start at today's schema.
  it.skipIf(onPostgres)('is brought up to date in place, its rows kept', async () => {
    const file = join(dir, 'readmodels.db');
    const old = new Database(file);
    old.exec(`CREATE TABLE whatsapp_outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, tenant_id TEXT NOT NULL, order_id TEXT NOT NULL, event_id TEXT NOT NULL UNIQUE,
      recipient TEXT NOT NULL, template TEXT NOT NULL, status TEXT NOT NULL, provider_message_id TEXT, payload TEXT NOT NULL, created_at TEXT NOT NULL)`);
    old.prepare('INSERT INTO whatsapp_outbox (tenant_id, order_id, event_id, recipient, template, status, provider_message_id, payload, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run('t', 'o-0', 'ev-0', '14155550100', 'order_paid', 'sent', 'wamid.0', JSON.stringify(message), '2026-01-01T00:00:00.000Z');
    old.close();
    const store = await openTestReadModels(file);
    await ensureOutboxSchema(store);
    expect(await listOutbox(store, 't', { limit: 5 })).toMatchObject([{ eventId: 'ev-0', status: 'sent', attempts: 0, updatedAt: '2026-01-01T00:00:00.000Z' }]);
    expect((await claimSend(store, entry('ev-0'))).claimed).toBe(false);
    await store.close();
  });
});
