// What one tenant must not learn or touch of another through the API: their correlation traces
// ($bc- streams), the process's metrics (every tenant's volumes summed), positions in $all.
import { randomUUID } from 'node:crypto';
import { FORWARDS, START, StreamNotFoundError, type EventStoreDBClient } from '@eventstore/db-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../../../src/api/app.js';
import { OrderStateCache } from '../../../src/eventstore/order-state-cache.js';
import { registry } from '../../../src/observability/metrics.js';
import { startMetricsServer } from '../../../src/observability/metrics-server.js';
import { auth, TENANT_A, TENANT_B } from '../../helpers/app.js';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { API_KEYS } from './support.js';

let store: TestEventStore;
beforeAll(async () => {
  store = await startTestEventStore();
});
afterAll(async () => {
  await store?.close();
});

async function appWith(env: Record<string, string | undefined> = {}) {
  const saved = process.env.METRICS_TOKEN;
  if (env.METRICS_TOKEN === undefined) delete process.env.METRICS_TOKEN;
  else process.env.METRICS_TOKEN = env.METRICS_TOKEN;
  try {
    const app = await build({ client: store.client, apiKeys: API_KEYS, cache: new OrderStateCache() });
    await app.ready();
    return app;
  } finally {
    if (saved === undefined) delete process.env.METRICS_TOKEN;
    else process.env.METRICS_TOKEN = saved;
  }
}

/** The streams of the events linked from `$bc-<id>`, and their tenants, as the store keeps them. */
async function trace(client: EventStoreDBClient, correlationId: string): Promise<Array<{ stream: string; tenantId: unknown }>> {
  const found: Array<{ stream: string; tenantId: unknown }> = [];
  try {
    for await (const resolved of client.readStream(`$bc-${correlationId}`, { direction: FORWARDS, fromRevision: START, resolveLinkTos: true })) {
      if (resolved.event) found.push({ stream: resolved.event.streamId, tenantId: (resolved.event.metadata as { tenantId?: unknown }).tenantId });
    }
  } catch (error) {
    if (!(error instanceof StreamNotFoundError)) throw error;
  }
  return found;
}

async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const body = () => ({ orderId: randomUUID(), customer: { id: 'c-1' }, currency: 'EUR', items: [{ sku: 'MUG', quantity: 1, unitPrice: 1000 }] });

describe('x-correlation-id is scoped to the tenant', () => {
  it("another tenant reusing a correlation id adds nothing to the first tenant's $bc- trace", async () => {
    const app = await appWith();
    try {
      const shared = `checkout-${randomUUID()}`;
      const ofA = await app.inject({ method: 'POST', url: '/orders', headers: { ...auth(TENANT_A), 'x-correlation-id': shared }, payload: body() });
      const ofB = await app.inject({ method: 'POST', url: '/orders', headers: { ...auth(TENANT_B), 'x-correlation-id': shared }, payload: body() });
      expect([ofA.statusCode, ofB.statusCode]).toEqual([201, 201]);
      // The answer echoes what the caller sent.
      expect([ofA.headers['x-correlation-id'], ofB.headers['x-correlation-id']]).toEqual([shared, shared]);
      const traceOfA = await eventually(async () => {
        const found = await trace(store.client, `${TENANT_A.tenantId}:${shared}`);
        return found.length > 0 ? found : undefined;
      });
      expect(traceOfA).toEqual([{ stream: `order-${TENANT_A.tenantId}-${ofA.json().orderId}`, tenantId: TENANT_A.tenantId }]);
      const traceOfB = await eventually(async () => {
        const found = await trace(store.client, `${TENANT_B.tenantId}:${shared}`);
        return found.length > 0 ? found : undefined;
      });
      expect(traceOfB).toEqual([{ stream: `order-${TENANT_B.tenantId}-${ofB.json().orderId}`, tenantId: TENANT_B.tenantId }]);
      // Nothing under the bare id a tenant could guess.
      expect(await trace(store.client, shared)).toEqual([]);
    } finally {
      await app.close();
    }
  });

  it("a tenant sending another tenant's scoped id stays in its own scope", async () => {
    const app = await appWith();
    try {
      const id = `${TENANT_A.tenantId}:forged-${randomUUID()}`;
      const response = await app.inject({ method: 'POST', url: '/orders', headers: { ...auth(TENANT_B), 'x-correlation-id': id }, payload: body() });
      expect(response.statusCode).toBe(201);
      await eventually(async () => ((await trace(store.client, `${TENANT_B.tenantId}:${id}`)).length > 0 ? true : undefined));
      expect(await trace(store.client, id)).toEqual([]);
    } finally {
      await app.close();
    }
  });
});

describe('/metrics is the operator\'s, not a tenant\'s', () => {
  const TOKEN = 'operator-metrics-token-0123456789';

  it('with METRICS_TOKEN: 401 problem+json without it or with an API key, 200 with it', async () => {
    const app = await appWith({ METRICS_TOKEN: TOKEN });
    try {
      for (const headers of [{}, auth(TENANT_A), { authorization: 'Bearer wrong-token-0123456789abcdef' }]) {
        const refused = await app.inject({ method: 'GET', url: '/metrics', headers });
        expect(refused.statusCode).toBe(401);
        expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(refused.headers['www-authenticate']).toMatch(/^Bearer/);
        expect(refused.json()).toMatchObject({ code: 'METRICS_TOKEN_REQUIRED', status: 401 });
        expect(refused.body).not.toContain('http_requests_total');
      }
      const allowed = await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } });
      expect(allowed.statusCode).toBe(200);
      expect(allowed.body).toContain('http_requests_total');
    } finally {
      await app.close();
    }
  });

  it('without METRICS_TOKEN: only a direct client on this machine reads it, not a remote one nor one forwarded by a proxy', async () => {
    const app = await appWith();
    try {
      expect((await app.inject({ method: 'GET', url: '/metrics', remoteAddress: '127.0.0.1' })).statusCode).toBe(200);
      expect((await app.inject({ method: 'GET', url: '/metrics', remoteAddress: '203.0.113.7', headers: auth(TENANT_A) })).statusCode).toBe(401);
      expect((await app.inject({ method: 'GET', url: '/metrics', remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': '203.0.113.7' } })).statusCode).toBe(401);
      expect((await app.inject({ method: 'GET', url: '/metrics', remoteAddress: '::1', headers: { forwarded: 'for=203.0.113.7' } })).statusCode).toBe(401);
      // Health and readiness stay public.
      expect((await app.inject({ method: 'GET', url: '/health', remoteAddress: '203.0.113.7' })).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('a workers-only port answers /metrics, and asks for the token once METRICS_TOKEN is set', async () => {
    const open = await startMetricsServer(registry, { port: 0, host: '127.0.0.1', env: {} });
    const guarded = await startMetricsServer(registry, { port: 0, host: '127.0.0.1', env: { METRICS_TOKEN: TOKEN } });
    try {
      expect((await fetch(`http://127.0.0.1:${open.port}/metrics`)).status).toBe(200);
      const refused = await fetch(`http://127.0.0.1:${guarded.port}/metrics`);
      expect(refused.status).toBe(401);
      expect(await refused.json()).toMatchObject({ code: 'METRICS_TOKEN_REQUIRED' });
      expect((await fetch(`http://127.0.0.1:${guarded.port}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${guarded.port}/health`)).status).toBe(200);
    } finally {
      await open.close();
      await guarded.close();
    }
  });

  it('no metric label carries a tenant id', async () => {
    const app = await appWith();
    try {
      await app.inject({ method: 'POST', url: '/orders', headers: auth(TENANT_A), payload: body() });
      await app.inject({ method: 'POST', url: '/orders', headers: auth(TENANT_B), payload: body() });
      const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(text).toContain('events_published_total');
      for (const tenant of [TENANT_A.tenantId, TENANT_B.tenantId]) expect(text).not.toContain(tenant);
    } finally {
      await app.close();
    }
  });
});

describe('positions in $all are not handed to tenants', () => {
  it('the history gives each event its revision in the order stream, and no commit/prepare position', async () => {
    const app = await appWith();
    try {
      const created = await app.inject({ method: 'POST', url: '/orders', headers: auth(TENANT_A), payload: body() });
      const orderId = created.json().orderId as string;
      const history = await app.inject({ method: 'GET', url: `/orders/${orderId}/events`, headers: auth(TENANT_A) });
      expect(history.statusCode).toBe(200);
      expect(history.body).not.toMatch(/"(position|commit|prepare|commitPosition|preparePosition)"/);
      expect(history.json().events).toEqual([expect.objectContaining({ type: 'order.created', revision: 0 })]);
      for (const response of [created, history]) {
        for (const name of Object.keys(response.headers)) expect(name).not.toMatch(/position/i);
      }
    } finally {
      await app.close();
    }
  });
});
