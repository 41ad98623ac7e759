import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../../../src/api/app.js';
import { signWebhookBody, WHATSAPP_WEBHOOK_PATH } from '../../../src/api/routes/whatsapp-webhook.js';
import { whatsappStreamName } from '../../../src/handlers/whatsapp-ledger-events.js';
import { loadMessage } from '../../../src/handlers/whatsapp-ledger-store.js';
import { ensureOutboxSchema, findByEvent } from '../../../src/handlers/whatsapp-outbox.js';
import type { ReadModelStore } from '../../../src/readmodels/read-model-store.js';
import { openTestReadModels } from '../../helpers/read-models.js';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { ledgerMessage } from './whatsapp-ledger-fixtures.js';

const APP_SECRET = 'meta-app-secret-for-tests';
const VERIFY_TOKEN = 'verify-token-for-tests';
const KEY = 'test-key-tenant-a-0123456789';

function statusNotification(statuses: Record<string, unknown>[]): string {
  return JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [{ id: '102290129340398', changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { display_phone_number: '15550783881', phone_number_id: '1099887766' }, statuses } }] }],
  });
}

describe('the WhatsApp status webhook', () => {
  let store: TestEventStore;
  let readModels: ReadModelStore;
  let app: FastifyInstance;
  let unconfigured: FastifyInstance;

  const post = (body: string, signature: string | undefined) =>
    app.inject({ method: 'POST', url: WHATSAPP_WEBHOOK_PATH, headers: { 'content-type': 'application/json', ...(signature ? { 'x-hub-signature-256': signature } : {}) }, payload: body });
  /** An uncertain message (its attempt interrupted), in the ledger and the view. */
  const uncertainMessage = async () => {
    const made = await ledgerMessage(store.client, readModels);
    return { ...made, row: (await findByEvent(readModels, made.messageId))! };
  };

  beforeAll(async () => {
    store = await startTestEventStore();
    readModels = await openTestReadModels();
    await ensureOutboxSchema(readModels);
    const deps = { client: store.client, apiKeys: new Map([[KEY, 'tenant-a']]), readModels };
    app = await build({ ...deps, whatsappWebhook: { appSecret: APP_SECRET, verifyToken: VERIFY_TOKEN } });
    unconfigured = await build({ ...deps, whatsappWebhook: { appSecret: undefined, verifyToken: undefined } });
  });
  afterAll(async () => {
    await app?.close();
    await unconfigured?.close();
    await readModels?.close();
    await store?.close();
  });

  it("answers Meta's verification handshake with the challenge, and only with the right verify token", async () => {
    const ok = await app.inject({ method: 'GET', url: `${WHATSAPP_WEBHOOK_PATH}?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=1158201444` });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['content-type']).toMatch(/^text\/plain/);
    expect(ok.body).toBe('1158201444');

    const wrong = await app.inject({ method: 'GET', url: `${WHATSAPP_WEBHOOK_PATH}?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1158201444` });
    expect(wrong.statusCode).toBe(403);
    expect(wrong.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(wrong.json()).toMatchObject({ status: 403, code: 'WEBHOOK_VERIFICATION_FAILED' });
  });

  it('refuses a notification with a bad or missing signature (401 problem+json), changing nothing', async () => {
    const message = await uncertainMessage();
    const body = statusNotification([{ id: 'wamid.bad', status: 'delivered', timestamp: '1709295133', recipient_id: '14155550100', biz_opaque_callback_data: message.key }]);
    for (const signature of [undefined, signWebhookBody(body, 'another-app-secret'), signWebhookBody(`${body} `, APP_SECRET), 'sha256=zz', signWebhookBody(body, APP_SECRET).replace('sha256=', 'sha1=')]) {
      const answer = await post(body, signature);
      expect(answer.statusCode, answer.body).toBe(401);
      expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(answer.json()).toMatchObject({ status: 401, code: 'WEBHOOK_SIGNATURE_INVALID' });
    }
    expect(await findByEvent(readModels, message.messageId)).toEqual(message.row);
    expect((await loadMessage(store.client, message.stream)).state).toMatchObject({ status: 'uncertain' });
  });

  it('settles an uncertain message from a signed status, found by its biz_opaque_callback_data: appended to its ledger stream, and GET /outbox shows it', async () => {
    const good = await uncertainMessage();
    const body = statusNotification([{ id: 'wamid.good', status: 'delivered', timestamp: '1709295133', recipient_id: '14155550100', biz_opaque_callback_data: good.key }]);
    const answer = await post(body, signWebhookBody(body, APP_SECRET));
    expect(answer.statusCode).toBe(200);
    expect(answer.json()).toEqual({ statuses: 1, settled: 1 });
    expect(await findByEvent(readModels, good.messageId)).toMatchObject({ status: 'delivered', providerMessageId: 'wamid.good', settledBy: 'webhook' });
    expect((await loadMessage(store.client, whatsappStreamName('tenant-a', good.messageId))).state).toMatchObject({ status: 'delivered', providerMessageId: 'wamid.good', settledBy: 'webhook' });

    const outbox = await app.inject({ method: 'GET', url: '/outbox?status=delivered', headers: { authorization: `Bearer ${KEY}` } });
    expect(outbox.statusCode).toBe(200);
    expect(outbox.json().items).toMatchObject([{ eventId: good.messageId, status: 'delivered', attempts: 1, settledBy: 'webhook' }]);
    const bad = await app.inject({ method: 'GET', url: '/outbox?status=lost', headers: { authorization: `Bearer ${KEY}` } });
    expect(bad.statusCode).toBe(400);
  });

  it('records a failed status with the provider error, phone numbers redacted, and acknowledges statuses of unknown messages', async () => {
    const failedOne = await uncertainMessage();
    const body = statusNotification([
      { id: 'wamid.f', status: 'failed', timestamp: '1709295133', recipient_id: '14155550100', biz_opaque_callback_data: failedOne.key, errors: [{ code: 131026, title: 'Message undeliverable to +1 415 555 0100' }] },
      { id: 'wamid.other-app', status: 'read', timestamp: '1709295133', recipient_id: '1' },
    ]);
    const answer = await post(body, signWebhookBody(body, APP_SECRET));
    expect(answer.json()).toEqual({ statuses: 2, settled: 1 });
    const failed = (await findByEvent(readModels, failedOne.messageId))!;
    expect(failed).toMatchObject({ status: 'failed', settledBy: 'webhook' });
    expect(failed.lastError).toBe('provider: Message undeliverable to [phone …00] (code 131026)');
  });

  it('settles a message whose outbox view was lost, from its ledger stream alone, and by wamid once the view shows it', async () => {
    const lost = await ledgerMessage(store.client, undefined, { outcome: { status: 'sent', providerMessageId: 'wamid.lost' } });
    expect(await findByEvent(readModels, lost.messageId)).toBeUndefined();
    const body = statusNotification([{ id: 'wamid.lost', status: 'delivered', timestamp: '1709295133', recipient_id: '14155550100', biz_opaque_callback_data: lost.key }]);
    expect((await post(body, signWebhookBody(body, APP_SECRET))).json()).toEqual({ statuses: 1, settled: 1 });
    expect((await loadMessage(store.client, lost.stream)).state).toMatchObject({ status: 'delivered' });
    // The webhook's own write put the message back into the view; a status with only the wamid finds it there.
    const read = statusNotification([{ id: 'wamid.lost', status: 'read', timestamp: '1709295134', recipient_id: '14155550100' }]);
    expect((await post(read, signWebhookBody(read, APP_SECRET))).json()).toEqual({ statuses: 1, settled: 1 });
    expect(await findByEvent(readModels, lost.messageId)).toMatchObject({ status: 'read', settledBy: 'webhook' });
  });

  it('refuses a signed body that is not a notification (400), and answers 404 where the secrets are not configured', async () => {
    const garbage = '{"entry": "nope"}';
    expect((await post(garbage, signWebhookBody(garbage, APP_SECRET))).statusCode).toBe(400);
    const body = statusNotification([]);
    const post404 = await unconfigured.inject({ method: 'POST', url: WHATSAPP_WEBHOOK_PATH, headers: { 'content-type': 'application/json', 'x-hub-signature-256': signWebhookBody(body, APP_SECRET) }, payload: body });
    expect(post404.statusCode).toBe(404);
    expect(post404.json()).toMatchObject({ code: 'WEBHOOK_NOT_CONFIGURED' });
    const get404 = await unconfigured.inject({ method: 'GET', url: `${WHATSAPP_WEBHOOK_PATH}?hub.mode=subscribe&hub.verify_token=x&hub.challenge=1` });
    expect(get404.statusCode).toBe(404);
  });
});
