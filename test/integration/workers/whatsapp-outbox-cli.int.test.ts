// `orders outbox` as an operator runs it, on a data directory whose outbox holds one message in
// each state that needs a person: the list, the wait before a decision, settle (appended to the
// message's ledger stream), refusals, and the list rebuilt from the ledger after the file is lost.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMessage } from '../../../src/handlers/whatsapp-ledger-store.js';
import { ensureOutboxSchema, findByEvent } from '../../../src/handlers/whatsapp-outbox.js';
import { runCli } from '../../helpers/cli.js';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { ledgerMessage } from './whatsapp-ledger-fixtures.js';
import { loseReadModelsIn, missingReadModelEnv, onPostgres, openTestReadModelsIn, readModelEnv, schemasStartingWith } from '../../helpers/read-models.js';

describe('orders outbox', () => {
  let dataDir: string;
  let eventStore: TestEventStore;
  let ids: Record<'uncertain' | 'sent' | 'unsent', number>;
  let uncertain: Awaited<ReturnType<typeof ledgerMessage>>;
  let unsentMessage: Awaited<ReturnType<typeof ledgerMessage>>;
  let readModels: Record<string, string> = {};
  const env = () => ({ DATA_DIR: dataDir, ESDB_CONNECTION_STRING: eventStore.connectionString, WHATSAPP_MODE: undefined, WHATSAPP_UNCERTAIN_WAIT_SECONDS: undefined, ...readModels });

  beforeAll(async () => {
    eventStore = await startTestEventStore();
    dataDir = mkdtempSync(join(tmpdir(), 'order-store-outbox-cli-'));
    const store = await openTestReadModelsIn(dataDir);
    await ensureOutboxSchema(store);
    uncertain = await ledgerMessage(eventStore.client, store);
    const sent = await ledgerMessage(eventStore.client, store, { outcome: { status: 'sent', providerMessageId: 'wamid.S' } });
    const unsent = await ledgerMessage(eventStore.client, store, { outcome: { status: 'unsent', reason: 'WhatsApp Cloud API answered 429: rate limit' } });
    unsentMessage = unsent;
    const idOf = async (messageId: string) => (await findByEvent(store, messageId))!.id;
    ids = { uncertain: await idOf(uncertain.messageId), sent: await idOf(sent.messageId), unsent: await idOf(unsent.messageId) };
    await store.close();
    readModels = await readModelEnv(dataDir);
  });
  afterAll(async () => {
    rmSync(dataDir, { recursive: true, force: true });
    await eventStore?.close();
  });

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
    const store = await openTestReadModelsIn(dataDir);
    expect(await findByEvent(store, uncertain.messageId)).toMatchObject({ status: 'sent', settledBy: 'operator', lastError: 'customer confirmed' });
    await store.close();
    // The decision is in the message's ledger stream, where a lost read model cannot take it.
    expect((await loadMessage(eventStore.client, uncertain.stream)).state).toMatchObject({ status: 'sent', settledBy: 'operator', lastError: 'customer confirmed' });
    const again = await runCli(['outbox', 'settle', uncertain.key, '--failed', '--force'], { env: env() });
    expect(again.stdout.trim()).toBe(`message ${uncertain.key} settled as failed (was sent)`);
  });

  it('rebuilds the list from the ledger streams once the read models are lost (also as `orders replay whatsapp-outbox`)', async () => {
    // The file deleted, or on PostgreSQL the schema dropped; an empty one in its place.
    await loseReadModelsIn(dataDir);
    expect((await runCli(['outbox'], { env: env() })).stdout.trim()).toBe('no WhatsApp messages');
    const rebuilt = await runCli(['replay', 'whatsapp-outbox'], { env: env() });
    expect(rebuilt.stderr).toBe('');
    expect(rebuilt.stdout).toMatch(/^whatsapp-outbox: rebuilt from 3 ledger streams \(\d+ events\)/);
    const listed = await runCli(['outbox', '--json'], { env: env() });
    expect((JSON.parse(listed.stdout) as Array<{ status: string; settledBy: string | null }>).map((message) => [message.status, message.settledBy])).toEqual([
      ['unsent', 'handler'],
      ['sent', 'handler'],
      ['failed', 'operator'],
    ]);
  });

  it('refuses to resend without the Cloud API configured, and says why in one line', async () => {
    const resend = await runCli(['outbox', 'resend', String(ids.unsent)], { env: env() });
    expect(resend.code).toBe(1);
    expect(resend.stderr).toBe('orders: resend sends through the Cloud API: set WHATSAPP_MODE=cloud-api, WHATSAPP_TOKEN and WHATSAPP_PHONE_NUMBER_ID as for the service\n');
  });

  it('resends an unsent message through the Cloud API once, recording it in the ledger and the list, and refuses to send it again', async () => {
    // A provider that accepts every message and counts them.
    const received: string[] = [];
    const provider = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        received.push(body);
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ messaging_product: 'whatsapp', messages: [{ id: 'wamid.RESENT' }] }));
      });
    });
    await new Promise<void>((resolve) => provider.listen(0, '127.0.0.1', resolve));
    const cloud = { WHATSAPP_MODE: 'cloud-api', WHATSAPP_BASE_URL: `http://127.0.0.1:${(provider.address() as AddressInfo).port}/v21.0`, WHATSAPP_TOKEN: 't', WHATSAPP_PHONE_NUMBER_ID: '1099887766' };
    try {
      const resent = await runCli(['outbox', 'resend', unsentMessage.key], { env: { ...env(), ...cloud } });
      expect(resent.stderr).toBe('');
      expect(resent.stdout.trim()).toMatch(new RegExp(`^message ${unsentMessage.key} sent on operator request \\(attempt 2, wamid\\.RESENT\\)$`));
      expect(received).toHaveLength(1);
      expect((await loadMessage(eventStore.client, unsentMessage.stream)).state).toMatchObject({ status: 'sent', providerMessageId: 'wamid.RESENT' });
      const store = await openTestReadModelsIn(dataDir);
      expect(await findByEvent(store, unsentMessage.messageId)).toMatchObject({ status: 'sent', attempts: 2 });
      await store.close();

      const again = await runCli(['outbox', 'resend', unsentMessage.key], { env: { ...env(), ...cloud } });
      expect(again.code).toBe(1);
      expect(again.stderr).toContain('the provider already accepted it');
      expect(received).toHaveLength(1);
    } finally {
      await new Promise((resolve) => provider.close(resolve));
    }
  });

  it('answers bad usage with exit code 2 and one line', { timeout: 120_000 }, async () => {
    // Usage is parsed before the read models are opened: checked once, on SQLite (each run is a child process).
    for (const args of onPostgres ? [] : [['outbox', 'resnd', '1'], ['outbox', 'resend'], ['outbox', 'resend', 'x'], ['outbox', '--status', 'lost'], ['outbox', 'settle', '1'], ['outbox', 'settle', '1', '--sent', '--failed'], ['outbox', '--force']]) {
      const result = await runCli(args, { env: env() });
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
    }
    // A DATA_DIR without the file, or a schema nobody wrote to: refused, nothing set up there.
    const nowhere = await missingReadModelEnv(dataDir);
    const missing = await runCli(['outbox'], { env: { ...env(), ...nowhere } });
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toContain(onPostgres ? "no read models at postgres://postgres:***@127.0.0.1" : 'no read-model database at');
    if (onPostgres) {
      expect(missing.stderr).toContain("its schema 'nowhere' does not exist");
      expect(await schemasStartingWith('nowhere')).toEqual([]);
    }
  });
});
