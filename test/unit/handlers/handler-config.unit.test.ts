import { describe, expect, it } from 'vitest';
import { loadHandlerConfig, loadWhatsAppWebhookConfig } from '../../../src/handlers/handler-config.js';
import { loadRunnerOptions } from '../../../src/subscriptions/runner-config.js';

describe('handler and runner configuration', () => {
  it('defaults to the WhatsApp outbox, never the network', () => {
    expect(loadHandlerConfig({}).whatsapp).toEqual({
      mode: 'outbox',
      baseUrl: 'https://graph.facebook.com/v21.0',
      token: undefined,
      phoneNumberId: undefined,
      language: 'en_US',
      uncertainWaitMs: 900_000,
    });
  });

  it('reads how long an uncertain message waits for a webhook, and the webhook secrets', () => {
    expect(loadHandlerConfig({ WHATSAPP_UNCERTAIN_WAIT_SECONDS: '60' }).whatsapp.uncertainWaitMs).toBe(60_000);
    expect(() => loadHandlerConfig({ WHATSAPP_UNCERTAIN_WAIT_SECONDS: 'later' })).toThrow(/WHATSAPP_UNCERTAIN_WAIT_SECONDS must be a number/);
    expect(loadWhatsAppWebhookConfig({})).toEqual({ appSecret: undefined, verifyToken: undefined });
    expect(loadWhatsAppWebhookConfig({ WHATSAPP_APP_SECRET: 'app-secret-1', WHATSAPP_VERIFY_TOKEN: 'verify-me-1' })).toEqual({ appSecret: 'app-secret-1', verifyToken: 'verify-me-1' });
    expect(() => loadWhatsAppWebhookConfig({ WHATSAPP_APP_SECRET: 'short' })).toThrow(/WHATSAPP_APP_SECRET must be at least 8 characters/);
  });

  it('needs a token and phone-number id to send through the Cloud API', () => {
    expect(() => loadHandlerConfig({ WHATSAPP_MODE: 'cloud-api' })).toThrow(/WHATSAPP_TOKEN and WHATSAPP_PHONE_NUMBER_ID/);
    const config = loadHandlerConfig({ WHATSAPP_MODE: 'cloud-api', WHATSAPP_TOKEN: 't', WHATSAPP_PHONE_NUMBER_ID: '123', WHATSAPP_BASE_URL: 'http://localhost:9/v1/' });
    expect(config.whatsapp).toMatchObject({ mode: 'cloud-api', baseUrl: 'http://localhost:9/v1', phoneNumberId: '123' });
    expect(() => loadHandlerConfig({ WHATSAPP_MODE: 'sms' })).toThrow(/WHATSAPP_MODE must be outbox or cloud-api/);
  });

  it('reads runner knobs and refuses a message timeout the server would fire mid-handler', () => {
    expect(loadRunnerOptions({ HANDLER_TIMEOUT_MS: '2000', HANDLER_MAX_RETRIES: '0' })).toMatchObject({ handlerTimeoutMs: 2000, retry: { maxRetries: 0 } });
    expect(() => loadRunnerOptions({ HANDLER_TIMEOUT_MS: 'soon' })).toThrow(/HANDLER_TIMEOUT_MS must be a number/);
    expect(() => loadRunnerOptions({ SUBSCRIPTION_MESSAGE_TIMEOUT_MS: '5000' })).toThrow(/must exceed/);
  });

  it("catches new projections up by reading unless PROJECTION_BOOTSTRAP is 'group'", () => {
    expect(loadRunnerOptions({}).projectionBootstrap).toBe('read');
    expect(loadRunnerOptions({ PROJECTION_BOOTSTRAP: 'group' }).projectionBootstrap).toBe('group');
    expect(() => loadRunnerOptions({ PROJECTION_BOOTSTRAP: 'fast' })).toThrow(/PROJECTION_BOOTSTRAP must be 'read' or 'group'/);
  });
});
