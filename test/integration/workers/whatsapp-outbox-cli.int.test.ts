// `orders outbox` as an operator runs it, on a data directory whose outbox holds one message in
// each state that needs a person: the list, the wait before a decision, settle, and refusals.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statusTemplateMessage } from '../../../src/handlers/whatsapp-message.js';
import { claimSend, ensureOutboxSchema, findByEvent, markInterrupted, recordAttemptOutcome } from '../../../src/handlers/whatsapp-outbox.js';
import { readModelFileIn } from '../../../src/readmodels/read-model-store.js';
import { runCli } from '../../helpers/cli.js';
import { openTestReadModels } from '../../helpers/read-models.js';

describe('orders outbox', () => {
  let dataDir: string;
  let ids: Record<'uncertain' | 'sent' | 'unsent', number>;
  const env = () => ({ DATA_DIR: dataDir, WHATSAPP_MODE: undefined, WHATSAPP_UNCERTAIN_WAIT_SECONDS: undefined });

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'order-store-outbox-cli-'));
    const store = await openTestReadModels(readModelFileIn(dataDir));
    await ensureOutboxSchema(store);
    const add = async (eventId: string) => {
      const message = statusTemplateMessage({ to: '14155550100', status: 'PAID', language: 'en_US', customerName: 'Ann', orderId: `o-${eventId}` })!;
      return (await claimSend(store, { tenantId: 'tenant-a', orderId: `o-${eventId}`, eventId, message, at: new Date() })).message;
    };
    const uncertain = await add('ev-uncertain');
    await store.transaction(async (tx) => await markInterrupted(tx, uncertain, new Date()));
    const sent = await add('ev-sent');
    await store.transaction(async (tx) => await recordAttemptOutcome(tx, { eventId: 'ev-sent', attempt: 1, at: new Date(), status: 'sent', providerMessageId: 'wamid.S' }));
    const unsent = await add('ev-unsent');
    await store.transaction(async (tx) => await recordAttemptOutcome(tx, { eventId: 'ev-unsent', attempt: 1, at: new Date(), status: 'unsent', error: 'WhatsApp Cloud API answered 429: rate limit' }));
    ids = { uncertain: uncertain.id, sent: sent.id, unsent: unsent.id };
    await store.close();
  });
  afterAll(async () => rmSync(dataDir, { recursive: true, force: true }));

  it('lists every message with its state, phone numbers masked, and as JSON with them', async () => {
    const listed = await runCli(['outbox'], { env: env() });
    expect(listed.code).toBe(0);
    const lines = listed.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^id\s+state\s+attempts\s+tenant\s+order\s+template\s+to\s+updated\s+note$/);
    expect(lines.slice(1).map((line) => line.split(/\s+/)[1])).toEqual(['unsent', 'sent', 'uncertain']);
    expect(listed.stdout).toContain('•••••••0100');
    expect(listed.stdout).not.toContain('14155550100');
    expect(listed.stdout).toContain("waiting for the provider's webhook until");

    const json = await runCli(['outbox', '--status', 'uncertain', '--json'], { env: env() });
    expect(JSON.parse(json.stdout)).toMatchObject([{ id: ids.uncertain, status: 'uncertain', recipient: '14155550100', attempts: 1 }]);
  });

  it('settles an uncertain message only after the wait (or with --force), recording that an operator decided', async () => {
    const early = await runCli(['outbox', 'settle', String(ids.uncertain), '--sent'], { env: env() });
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(/^orders: message \d+ is uncertain since .*: the provider's status webhook may still settle it; settle after .* or pass --force\n$/);

    const settled = await runCli(['outbox', 'settle', String(ids.uncertain), '--sent', '--note', 'customer confirmed'], { env: { ...env(), WHATSAPP_UNCERTAIN_WAIT_SECONDS: '0' } });
    expect(settled.stderr).toBe('');
    expect(settled.stdout.trim()).toBe(`message ${ids.uncertain} settled as sent (was uncertain)`);
    const store = await openTestReadModels(readModelFileIn(dataDir));
    expect(await findByEvent(store, 'ev-uncertain')).toMatchObject({ status: 'sent', settledBy: 'operator', lastError: 'customer confirmed' });
    await store.close();
  });

  it('refuses to resend without the Cloud API configured, and says why in one line', async () => {
    const resend = await runCli(['outbox', 'resend', String(ids.unsent)], { env: env() });
    expect(resend.code).toBe(1);
    expect(resend.stderr).toBe('orders: resend sends through the Cloud API: set WHATSAPP_MODE=cloud-api, WHATSAPP_TOKEN and WHATSAPP_PHONE_NUMBER_ID as for the service\n');
  });

  it('answers bad usage with exit code 2 and one line', async () => {
    for (const args of [['outbox', 'resnd', '1'], ['outbox', 'resend'], ['outbox', 'resend', 'x'], ['outbox', '--status', 'lost'], ['outbox', 'settle', '1'], ['outbox', 'settle', '1', '--sent', '--failed'], ['outbox', '--force']]) {
      const result = await runCli(args, { env: env() });
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
    }
    const missing = await runCli(['outbox'], { env: { ...env(), DATA_DIR: join(dataDir, 'nowhere') } });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no read-model database at');
  });
});
