// The WhatsApp Cloud API's webhooks: the GET verification handshake Meta makes when the
// callback URL is set, and the POSTed notifications whose `statuses` (sent, delivered, read,
// failed) are appended to each message's ledger stream (and shown in the outbox view), settling
// `uncertain` messages too. Not behind an API key: a POST is trusted only when
// `X-Hub-Signature-256` is the HMAC-SHA256 of its raw body with the app secret.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { EventStoreDBClient } from '@eventstore/db-client';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { WhatsAppWebhookConfig } from '../../handlers/handler-config.js';
import { findMessageStream } from '../../handlers/whatsapp-find.js';
import { decideOnLedger } from '../../handlers/whatsapp-ledger-store.js';
import { ensureOutboxSchema, refreshOutboxRow } from '../../handlers/whatsapp-outbox.js';
import { redactPhoneNumbers } from '../../handlers/whatsapp-redact.js';
import type { ReadModelStore } from '../../readmodels/read-model-store.js';
import { ApiError } from '../error-registry.js';
import { problemSchema } from '../problem.js';

export interface WhatsAppWebhookDeps {
  client: EventStoreDBClient;
  readModels: ReadModelStore;
  config: WhatsAppWebhookConfig;
}

export const WHATSAPP_WEBHOOK_PATH = '/webhooks/whatsapp';

const WEBHOOK_WRITER = { actor: 'webhook:whatsapp' };

const verificationQuery = z.looseObject({
  'hub.mode': z.string().optional(),
  'hub.verify_token': z.string().optional(),
  'hub.challenge': z.string().max(512).optional(),
});

/** One entry of `entry[].changes[].value.statuses[]`. */
const statusSchema = z.looseObject({
  id: z.string().optional(),
  status: z.string(),
  timestamp: z.string().optional(),
  biz_opaque_callback_data: z.string().optional(),
  errors: z.array(z.looseObject({ code: z.unknown().optional(), title: z.string().optional(), message: z.string().optional() })).optional(),
});

const notificationSchema = z.looseObject({
  object: z.string().optional(),
  entry: z.array(
    z.looseObject({
      changes: z.array(z.looseObject({ field: z.string().optional(), value: z.looseObject({ statuses: z.array(statusSchema).optional() }).optional() })).optional(),
    }),
  ),
});

export async function whatsappWebhookRoutes(scope: FastifyInstance, deps: WhatsAppWebhookDeps): Promise<void> {
  const { client, readModels, config } = deps;
  await ensureOutboxSchema(readModels);
  const app = scope.withTypeProvider<ZodTypeProvider>();
  // The signature covers the bytes as sent: keep them (in this scope only) rather than JSON.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.get(WHATSAPP_WEBHOOK_PATH, {
    schema: {
      tags: ['webhooks'],
      summary: "Meta's webhook verification: answers hub.challenge when hub.verify_token matches WHATSAPP_VERIFY_TOKEN",
      querystring: verificationQuery,
      response: { 200: z.string(), 403: problemSchema, 404: problemSchema },
    },
    handler: async (request, reply) => {
      if (!config.verifyToken) throw new ApiError('WEBHOOK_NOT_CONFIGURED', 'set WHATSAPP_VERIFY_TOKEN to answer the verification handshake');
      const query = request.query;
      if (query['hub.mode'] !== 'subscribe' || !sameText(query['hub.verify_token'] ?? '', config.verifyToken)) {
        throw new ApiError('WEBHOOK_VERIFICATION_FAILED', 'hub.mode must be subscribe and hub.verify_token must match WHATSAPP_VERIFY_TOKEN');
      }
      return reply.type('text/plain; charset=utf-8').send(query['hub.challenge'] ?? '');
    },
  });

  app.post(WHATSAPP_WEBHOOK_PATH, {
    schema: {
      tags: ['webhooks'],
      summary: 'WhatsApp Cloud API notifications, signed with X-Hub-Signature-256: message statuses settle the outbox',
      response: { 200: z.object({ statuses: z.number(), settled: z.number() }), 400: problemSchema, 401: problemSchema, 404: problemSchema },
    },
    handler: async (request) => {
      if (!config.appSecret) throw new ApiError('WEBHOOK_NOT_CONFIGURED', 'set WHATSAPP_APP_SECRET to accept signed webhooks');
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      if (!validSignature(raw, request.headers['x-hub-signature-256'], config.appSecret)) {
        throw new ApiError('WEBHOOK_SIGNATURE_INVALID', 'X-Hub-Signature-256 must be sha256=<hex HMAC-SHA256 of the raw body with the app secret>');
      }
      const parsed = notificationSchema.safeParse(parseJson(raw));
      if (!parsed.success) throw new ApiError('MALFORMED_REQUEST', 'the body is not a WhatsApp webhook notification (object, entry[].changes[].value)');
      let statuses = 0;
      let settled = 0;
      for (const entry of parsed.data.entry) {
        for (const change of entry.changes ?? []) {
          for (const status of change.value?.statuses ?? []) {
            statuses++;
            const found = await findMessageStream(client, readModels, { key: status.biz_opaque_callback_data, providerMessageId: status.id }, WEBHOOK_WRITER);
            if (!found) continue;
            const error = status.errors?.[0];
            const text = error ? redactPhoneNumbers(`${error.title ?? error.message ?? 'failed'}${error.code !== undefined ? ` (code ${String(error.code)})` : ''}`) : undefined;
            const decided = await decideOnLedger(
              client,
              found.stream,
              { type: 'ReportStatus', status: status.status, providerMessageId: status.id, error: text ? `provider: ${text}` : undefined, at: new Date() },
              WEBHOOK_WRITER,
            );
            await refreshOutboxRow(readModels, decided.state, decided.revision);
            if (decided.state) settled++;
          }
        }
      }
      request.log.info({ statuses, settled }, 'WhatsApp status webhook applied');
      // 200 for every authentic notification, known or not: anything else makes Meta retry it.
      return { statuses, settled };
    },
  });
}

export function signWebhookBody(body: Buffer | string, appSecret: string): string {
  return `sha256=${createHmac('sha256', appSecret).update(body).digest('hex')}`;
}

function validSignature(body: Buffer, header: unknown, appSecret: string): boolean {
  if (typeof header !== 'string') return false;
  const match = /^sha256=([0-9a-f]{64})$/i.exec(header.trim());
  if (!match?.[1]) return false;
  const expected = createHmac('sha256', appSecret).update(body).digest();
  return timingSafeEqual(Buffer.from(match[1].toLowerCase(), 'hex'), expected);
}

function sameText(given: string, expected: string): boolean {
  // Digests of equal length, so the comparison takes the same time whatever was sent.
  const digest = (text: string) => createHmac('sha256', 'verify-token').update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return undefined;
  }
}
