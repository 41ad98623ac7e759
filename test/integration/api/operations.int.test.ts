import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, startTestApp, type TestApp } from '../../helpers/app.js';
import { createOrder } from './support.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

describe('operational routes', () => {
  it('GET /health answers 200 without an API key', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
  });

  it('GET /ready answers 200 while the event store is reachable', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/ready' });
    expect(response.statusCode).toBe(200);
  });

  it('GET /openapi.json describes every route, with the bearer scheme and the problem schema', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(response.statusCode).toBe(200);
    const spec = response.json();
    expect(spec.openapi).toMatch(/^3\./);
    expect(Object.keys(spec.paths).sort()).toEqual(
      expect.arrayContaining([
        '/orders',
        '/orders/{orderId}',
        '/orders/{orderId}/events',
        '/orders/{orderId}/payments',
        '/orders/{orderId}/ship',
        '/orders/{orderId}/deliver',
        '/orders/{orderId}/cancel',
        '/orders/{orderId}/return',
        '/orders/{orderId}/refund',
        '/health',
        '/ready',
      ]),
    );
    expect(spec.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(spec.paths['/orders/{orderId}/ship'].post.responses['409'].content['application/problem+json'].schema).toEqual({ $ref: '#/components/schemas/Problem' });
    expect(spec.paths['/orders'].post.requestBody.content['application/json'].schema.required).toEqual(expect.arrayContaining(['customer', 'currency', 'items']));
  });

  it('GET /docs serves the Swagger UI', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/docs/' });
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain('swagger');
  });

  it('GET /metrics counts appended events by type and HTTP requests by route', async () => {
    await createOrder(t.app);
    const response = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.body).toMatch(/events_published_total\{event_type="order\.created"\} [1-9]/);
    expect(response.body).toMatch(/http_requests_total\{method="POST",route="\/orders",status_code="201"\} [1-9]/);
    expect(response.body).toContain('http_request_duration_seconds_bucket');
  });

  it('an unknown route is a 404 problem', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/nope', headers: auth() });
    expect(response.statusCode).toBe(404);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.json().code).toBe('ROUTE_NOT_FOUND');
  });
});

describe('when the event store goes away', () => {
  it('GET /ready answers 503 and commands answer a problem instead of hanging', async () => {
    const own = await startTestApp();
    try {
      const { orderId } = await createOrder(own.app);
      await own.store.server.close();
      const ready = await own.app.inject({ method: 'GET', url: '/ready' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json().code).toBe('EVENT_STORE_UNAVAILABLE');
      const read = await own.app.inject({ method: 'GET', url: `/orders/${orderId}`, headers: auth() });
      expect(read.statusCode).toBe(503);
      expect(read.json().code).toBe('EVENT_STORE_UNAVAILABLE');
    } finally {
      await own.close();
    }
  });
});
