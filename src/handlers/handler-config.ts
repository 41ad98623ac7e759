// Settings of the shipped handlers, from the environment. The embedded default sends WhatsApp
// messages to the outbox table (listable at GET /outbox), never to the network.
import { z } from 'zod';

const environment = z.object({
  WHATSAPP_MODE: z.enum(['outbox', 'cloud-api'], { error: 'must be outbox or cloud-api' }).default('outbox'),
  WHATSAPP_BASE_URL: z.url({ error: 'must be a URL' }).default('https://graph.facebook.com/v21.0'),
  WHATSAPP_TOKEN: z.string().min(1).optional(),
  WHATSAPP_PHONE_NUMBER_ID: z.string().regex(/^\d+$/, 'must be digits').optional(),
  WHATSAPP_LANGUAGE: z.string().min(2).default('en_US'),
  WHATSAPP_UNCERTAIN_WAIT_SECONDS: z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(0, 'must be 0 or more').default(900),
});

const webhookEnvironment = z.object({
  WHATSAPP_APP_SECRET: z.string().min(8, 'must be at least 8 characters').optional(),
  WHATSAPP_VERIFY_TOKEN: z.string().min(8, 'must be at least 8 characters').optional(),
});

export interface WhatsAppConfig {
  mode: 'outbox' | 'cloud-api';
  baseUrl: string;
  token: string | undefined;
  phoneNumberId: string | undefined;
  /** Template language code, e.g. en_US. */
  language: string;
  /**
   * How long an `uncertain` message waits for the provider's status webhook before an operator
   * may resend or settle it (`orders outbox`). Default 900 s.
   */
  uncertainWaitMs?: number;
}

/** The provider's status webhooks (POST/GET /webhooks/whatsapp); off until the app secret is set. */
export interface WhatsAppWebhookConfig {
  /** The Meta app secret: the key of `X-Hub-Signature-256`. */
  appSecret: string | undefined;
  /** What the GET verification handshake must present as `hub.verify_token`. */
  verifyToken: string | undefined;
}

export interface HandlerConfig {
  whatsapp: WhatsAppConfig;
}

export function loadHandlerConfig(env: NodeJS.ProcessEnv = process.env): HandlerConfig {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const result = environment.safeParse(present);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new Error(`invalid configuration: ${String(issue?.path[0] ?? 'environment')} ${issue?.message ?? 'is invalid'}`);
  }
  const parsed = result.data;
  if (parsed.WHATSAPP_MODE === 'cloud-api' && (!parsed.WHATSAPP_TOKEN || !parsed.WHATSAPP_PHONE_NUMBER_ID)) {
    throw new Error('invalid configuration: WHATSAPP_MODE=cloud-api needs WHATSAPP_TOKEN and WHATSAPP_PHONE_NUMBER_ID');
  }
  return {
    whatsapp: {
      mode: parsed.WHATSAPP_MODE,
      baseUrl: parsed.WHATSAPP_BASE_URL.replace(/\/+$/, ''),
      token: parsed.WHATSAPP_TOKEN,
      phoneNumberId: parsed.WHATSAPP_PHONE_NUMBER_ID,
      language: parsed.WHATSAPP_LANGUAGE,
      uncertainWaitMs: parsed.WHATSAPP_UNCERTAIN_WAIT_SECONDS * 1000,
    },
  };
}

export function loadWhatsAppWebhookConfig(env: NodeJS.ProcessEnv = process.env): WhatsAppWebhookConfig {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const result = webhookEnvironment.safeParse(present);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new Error(`invalid configuration: ${String(issue?.path[0] ?? 'environment')} ${issue?.message ?? 'is invalid'}`);
  }
  return { appSecret: result.data.WHATSAPP_APP_SECRET, verifyToken: result.data.WHATSAPP_VERIFY_TOKEN };
}

export const DEFAULT_UNCERTAIN_WAIT_MS = 900_000;
