// Property-based: malformed, oversized, wrongly typed and unicode-heavy bodies, headers, path
// parameters and query strings, thrown at every route. The API must answer each with a 4xx
// problem+json (never a 5xx) and append nothing: $all's head does not move.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ORDER_STATUSES } from '../../../src/orders/order-status.js';
import { auth, TENANT_A } from '../../helpers/app.js';
import { newOrderBody } from '../api/support.js';
import { allHead, expectClientProblem, startHardenedApp, type HardenedApp } from './support.js';

const RUNS = { numRuns: 40 };

let t: HardenedApp;
let orderId: string;

beforeAll(async () => {
  t = await startHardenedApp();
  const body = newOrderBody();
  const created = await t.app.inject({ method: 'POST', url: '/orders', headers: auth(), payload: body });
  expect(created.statusCode).toBe(201);
  orderId = body.orderId;
});

afterAll(async () => {
  await t?.close();
});

/** Runs the property and checks that nothing at all was appended while it ran. */
async function withoutAppends(property: fc.IAsyncProperty<never> | fc.IAsyncProperty<[unknown]> | fc.IAsyncPropertyWithHooks<unknown[]>, params = RUNS) {
  const before = await allHead(t.store.client);
  await fc.assert(property as fc.IAsyncProperty<unknown[]>, params);
  expect(await allHead(t.store.client)).toBe(before);
}

const inject = (options: InjectOptions) => t.app.inject(options);
/** Percent-encodes the UTF-8 bytes (a lone surrogate becomes U+FFFD, as on the wire). */
const encodePath = (text: string) => [...Buffer.from(text, 'utf8')].map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join('');
const describeRequest = (options: InjectOptions) =>
  `${options.method} ${String(options.url).slice(0, 200)} ${JSON.stringify(options.headers ?? {}).slice(0, 200)} ${String(options.payload ?? '').slice(0, 200)}`;

// ---- generators -------------------------------------------------------------------------------

/** Heavy on astral planes, combining marks, RTL, zero-width and control characters. */
const unicodeText = (maxLength = 40) =>
  fc.oneof(
    fc.string({ unit: 'binary', maxLength }),
    fc.string({ unit: 'grapheme', maxLength }),
    fc.constantFrom('\u0000', '\u202e\u202dRTL', 'e\u0301\u0301\u0301', '😀👩‍👩‍👧‍👦', '\ud83d', '\ufeff', '𝕆𝕣𝕕𝕖𝕣', 'Ω≈ç√∫', '\n\r\t', '../../etc/passwd', "'; DROP TABLE orders; --"),
  );

/** Anything but a valid amount in minor units. */
const badAmount = fc.oneof(
  fc.integer({ max: 0 }),
  fc.double({ noInteger: true }),
  fc.constantFrom(Number.MAX_SAFE_INTEGER + 2, 1e300, -0.5, '100', '', null, true, [], {}),
  unicodeText(),
);

/** Never a usable trimmed text: wrong type, blank, or far too long. */
const badText = fc.oneof(
  fc.constantFrom('', '   ', '\t\n', null, 0, false, [], {}),
  fc.integer(),
  fc.string({ unit: 'grapheme', minLength: 600, maxLength: 700 }),
);

const anyJson = fc.jsonValue({ maxDepth: 3 });

/** Each body-taking route with bodies it must refuse (given a valid path). */
const badBodies = (id: string): fc.Arbitrary<{ method: 'POST' | 'PUT'; url: string; payload: unknown }> =>
  fc.oneof(
    fc
      .record({ customer: anyJson, currency: unicodeText().filter((code) => !/^[A-Z]{3}$/.test(code)), items: anyJson }, { requiredKeys: [] })
      .map((payload) => ({ method: 'POST' as const, url: '/orders', payload })),
    fc
      .record({ paymentId: fc.oneof(unicodeText(), badText), amount: badAmount, method: fc.oneof(unicodeText(), badText), reference: anyJson })
      .map((payload) => ({ method: 'POST' as const, url: `/orders/${id}/payments`, payload })),
    fc.record({ carrier: badText, trackingNumber: unicodeText() }).map((payload) => ({ method: 'POST' as const, url: `/orders/${id}/ship`, payload })),
    fc
      .dictionary(unicodeText(10).filter((key) => key.length > 0), anyJson, { minKeys: 1 })
      .map((payload) => ({ method: 'POST' as const, url: `/orders/${id}/deliver`, payload })),
    fc.record({ reason: badText }).map((payload) => ({ method: 'POST' as const, url: `/orders/${id}/cancel`, payload })),
    fc.record({ reason: badText }).map((payload) => ({ method: 'POST' as const, url: `/orders/${id}/return`, payload })),
    fc.record({ amount: badAmount }).map((payload) => ({ method: 'POST' as const, url: `/orders/${id}/refund`, payload })),
    fc.record({ onHand: badAmount.filter((value) => value !== 0) }).map((payload) => ({ method: 'PUT' as const, url: '/inventory/MUG', payload })),
    // Valid JSON, wrong top-level shape. (`null` is a legal "no options" body for lifecycle commands.)
    fc
      .tuple(
        fc.constantFrom('/orders', `/orders/${id}/payments`, `/orders/${id}/ship`, `/orders/${id}/deliver`, `/orders/${id}/cancel`, `/orders/${id}/refund`, '/inventory/MUG'),
        fc.oneof(fc.array(anyJson), fc.integer(), fc.boolean(), unicodeText()),
      )
      .map(([url, payload]) => ({ method: url.startsWith('/inventory') ? ('PUT' as const) : ('POST' as const), url, payload: JSON.stringify(payload) })),
  );

/** What fastify's prototype-poisoning guard refuses: a `__proto__` key, or `constructor.prototype`, at any depth. */
function poisonsPrototypes(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  return Object.entries(value).some(
    ([key, child]) =>
      key === '__proto__' ||
      (key === 'constructor' && typeof child === 'object' && child !== null && Object.hasOwn(child, 'prototype')) ||
      poisonsPrototypes(child),
  );
}

const BODY_ROUTES = (id: string) => [
  { method: 'POST' as const, url: '/orders' },
  ...['payments', 'ship', 'deliver', 'cancel', 'return', 'refund'].map((action) => ({ method: 'POST' as const, url: `/orders/${id}/${action}` })),
  { method: 'PUT' as const, url: '/inventory/MUG' },
];

/** A valid body per lifecycle route, so only the header under test is wrong. */
const LIFECYCLE_WITH_VALID_BODY = (id: string) => [
  { url: `/orders/${id}/payments`, payload: { paymentId: `pay-${randomUUID()}`, amount: 1, method: 'card' } },
  { url: `/orders/${id}/ship`, payload: {} },
  { url: `/orders/${id}/deliver`, payload: {} },
  { url: `/orders/${id}/cancel`, payload: { reason: 'changed my mind' } },
  { url: `/orders/${id}/return`, payload: {} },
  { url: `/orders/${id}/refund`, payload: {} },
];

const IF_MATCH_REVISION = /^\s*(?:W\/)?"?(\d{1,19})"?\s*$/;
/** What survives the trip through an HTTP/1.1 header: visible ASCII and latin-1. */
const headerText = fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).filter((code) => code < 0x7f || code > 0x9f).map((code) => String.fromCharCode(code)), maxLength: 300 });

// ---- properties -------------------------------------------------------------------------------

describe('bad HTTP input at every route', () => {
  it('answers bodies that are not JSON with 400 problem+json on every body-taking route', async () => {
    const notJson = fc
      .oneof(unicodeText(200), fc.constantFrom('{', '{"a":', '[1,2', '{"customer":{}}}', "{'single':'quotes'}", 'NaN', '{"a":1,}', '\u0000{}'))
      .filter((text) => {
        if (text.trim() === '') return false;
        try {
          JSON.parse(text);
          return false;
        } catch {
          return true;
        }
      });
    await withoutAppends(
      fc.asyncProperty(fc.constantFrom(...BODY_ROUTES(orderId)), notJson, async (route, payload) => {
        const request: InjectOptions = { ...route, headers: { ...auth(), 'content-type': 'application/json' }, payload };
        const problem = expectClientProblem(await inject(request), describeRequest(request));
        expect(problem.status).toBe(400);
      }),
    );
  });

  it('refuses wrongly typed, missing, extra and unicode-heavy fields with 400 and names the failing fields', async () => {
    await withoutAppends(
      fc.asyncProperty(badBodies(orderId), async (route) => {
        // Serialized here: fast-check builds objects without a prototype, which inject cannot.
        const payload = typeof route.payload === 'string' ? route.payload : JSON.stringify(route.payload);
        const request: InjectOptions = { method: route.method, url: route.url, headers: { ...auth(), 'content-type': 'application/json' }, payload };
        const response = await inject(request);
        const problem = expectClientProblem(response, describeRequest(request));
        expect(problem.status).toBe(400);
        // fastify's prototype-poisoning guard refuses the body before validation looks at it.
        expect(problem.code).toBe(poisonsPrototypes(JSON.parse(payload)) ? 'MALFORMED_REQUEST' : 'VALIDATION_FAILED');
      }),
    );
  });

  it('refuses a body that carries __proto__ or constructor.prototype as malformed, at any depth', async () => {
    for (const payload of ['{"__proto__":{"admin":true}}', '{"reason":{"x":{"__proto__":null}}}', '{"constructor":{"prototype":{"a":1}}}']) {
      const request: InjectOptions = { method: 'POST', url: `/orders/${orderId}/cancel`, headers: { ...auth(), 'content-type': 'application/json' }, payload };
      const problem = expectClientProblem(await inject(request), describeRequest(request));
      expect(problem.status).toBe(400);
      expect(problem.code).toBe('MALFORMED_REQUEST');
    }
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it('answers bodies of any other media type with 415', async () => {
    const mediaType = fc.oneof(
      fc.constantFrom('text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx', 'text/json', 'application/octet-stream'),
      fc.tuple(fc.stringMatching(/^[a-z]{1,10}$/), fc.stringMatching(/^[a-z+.-]{1,12}$/)).map(([type, subtype]) => `${type}/${subtype}`),
    ).filter((type) => !/^application\/json\b/.test(type));
    await withoutAppends(
      fc.asyncProperty(fc.constantFrom(...BODY_ROUTES(orderId)), mediaType, unicodeText(100), async (route, contentType, text) => {
        const request: InjectOptions = { ...route, headers: { ...auth(), 'content-type': contentType }, payload: `${text}{"reason":"x"}` };
        const problem = expectClientProblem(await inject(request), describeRequest(request));
        expect(problem.status).toBe(415);
      }),
    );
  });

  it('answers bodies over the limit with 413 without reading them', async () => {
    await withoutAppends(
      fc.asyncProperty(fc.constantFrom(...BODY_ROUTES(orderId)), fc.integer({ min: 65 * 1024, max: 300 * 1024 }), fc.constantFrom('a', 'é', '😀', '\u0000'), async (route, size, unit) => {
        const payload = JSON.stringify({ ...newOrderBody(), padding: unit.repeat(Math.ceil(size / Buffer.byteLength(unit))) });
        const request: InjectOptions = { ...route, headers: { ...auth(), 'content-type': 'application/json' }, payload };
        const problem = expectClientProblem(await inject(request), `${route.method} ${route.url} (${payload.length} chars)`);
        expect(problem.status).toBe(413);
      }),
      { numRuns: 10 },
    );
  });

  it('answers malformed, unknown or oversized path parameters with 400, 404 or 414 on every route that takes one', async () => {
    const badOrderId = fc.oneof(unicodeText(60), fc.string({ minLength: 37, maxLength: 400 }), fc.constantFrom('%', '%zz', '%E0%A4%A', '..', '%2e%2e%2f', '00000000-0000-0000-0000-00000000000g'), fc.uuid().map((id) => id.toUpperCase() + 'x'));
    const unknownOrderId = fc.uuid({ version: 4 });
    const badSku = fc.oneof(fc.string({ unit: 'grapheme', minLength: 65, maxLength: 200 }), fc.constantFrom(' ', '   ', '\t'));
    const badCustomer = fc.oneof(fc.string({ unit: 'grapheme', minLength: 129, maxLength: 300 }), fc.constantFrom(' ', '\t\n'));
    const encode = (raw: string, asIs: boolean) => (asIs ? raw.replace(/[/?#\s]/g, '') || '%' : encodePath(raw));
    const requests = fc.oneof(
      fc.tuple(fc.oneof(badOrderId, unknownOrderId), fc.boolean(), fc.constantFrom('', '/events', '/payments', '/ship', '/deliver', '/cancel', '/return', '/refund')).map(([id, asIs, action]) => ({
        method: action === '' || action === '/events' ? ('GET' as const) : ('POST' as const),
        url: `/orders/${encode(id, asIs)}${action}`,
        payload: action === '/payments' ? { paymentId: 'p-1', amount: 1, method: 'card' } : action === '' || action === '/events' ? undefined : {},
      })),
      fc.tuple(badSku, fc.constantFrom('GET' as const, 'PUT' as const)).map(([sku, method]) => ({ method, url: `/inventory/${encode(sku, false)}`, payload: method === 'PUT' ? { onHand: 3 } : undefined })),
      badCustomer.map((customerId) => ({ method: 'GET' as const, url: `/customers/${encode(customerId, false)}/orders`, payload: undefined })),
    );
    await withoutAppends(
      fc.asyncProperty(requests, async (route) => {
        const request: InjectOptions = { method: route.method, url: route.url, headers: auth(), ...(route.payload !== undefined ? { payload: route.payload } : {}) };
        const problem = expectClientProblem(await inject(request), describeRequest(request));
        expect([400, 404, 414]).toContain(problem.status);
      }),
      { numRuns: 80 },
    );
  });

  it('answers a missing or garbage Authorization header with 401 on every protected route', async () => {
    const protectedRoutes = [
      ...BODY_ROUTES(orderId),
      { method: 'GET' as const, url: `/orders/${orderId}` },
      { method: 'GET' as const, url: `/orders/${orderId}/events` },
      { method: 'GET' as const, url: '/orders' },
      { method: 'GET' as const, url: '/customers/cust-1/orders' },
      { method: 'GET' as const, url: '/inventory/MUG' },
      { method: 'GET' as const, url: '/analytics/sales' },
      { method: 'GET' as const, url: '/outbox' },
    ];
    const authorization = fc.oneof(
      headerText,
      headerText.map((token) => `Bearer ${token}`),
      fc.constantFrom('Bearer', 'Bearer ', 'Basic dGVzdDp0ZXN0', `bearer ${TENANT_A.key}x`, `Bearer ${TENANT_A.key.slice(0, -1)}`, `Token ${TENANT_A.key}`, `Bearer ${TENANT_A.key} extra`),
    ).filter((value) => !value.includes(TENANT_A.key) || value !== `Bearer ${TENANT_A.key}`);
    await withoutAppends(
      fc.asyncProperty(fc.constantFrom(...protectedRoutes), fc.option(authorization, { nil: undefined }), async (route, header) => {
        const request: InjectOptions = {
          ...route,
          headers: header === undefined ? {} : { authorization: header },
          ...(route.method === 'GET' ? {} : { payload: route.url === '/orders' ? newOrderBody() : route.url.startsWith('/inventory') ? { onHand: 1 } : {} }),
        };
        const problem = expectClientProblem(await inject(request), describeRequest(request));
        expect(problem.status).toBe(401);
      }),
    );
  });

  it('answers an If-Match that names no revision with 412, whatever else the command says', async () => {
    const ifMatch = headerText.filter((value) => value.trim() !== '*' && !IF_MATCH_REVISION.test(value));
    await withoutAppends(
      fc.asyncProperty(fc.constantFrom(...LIFECYCLE_WITH_VALID_BODY(orderId)), ifMatch, async (route, header) => {
        const request: InjectOptions = { method: 'POST', url: route.url, headers: { ...auth(), 'if-match': header }, payload: route.payload };
        const problem = expectClientProblem(await inject(request), describeRequest(request));
        expect(problem.status).toBe(412);
      }),
    );
  });

  it('ignores garbage correlation and trace headers rather than failing on them or echoing them', async () => {
    await withoutAppends(
      fc.asyncProperty(headerText, headerText, async (correlationId, traceparent) => {
        const request: InjectOptions = { method: 'POST', url: `/orders/${orderId}/refund`, headers: { ...auth(), 'x-correlation-id': correlationId, traceparent }, payload: { amount: -1 } };
        const response = await inject(request);
        expectClientProblem(response, describeRequest(request));
        const echoed = String(response.headers['x-correlation-id']);
        expect(echoed).toMatch(/^[A-Za-z0-9._:@/+=-]{1,128}$/);
      }),
    );
  });

  it('answers unknown, repeated or out-of-range query parameters of the query routes with 400', async () => {
    // zod coerces with Number(): '0x10' or ' 7 ' are valid limits, so only what Number() cannot make a limit of.
    const isLimit = (text: string) => Number.isInteger(Number(text)) && Number(text) >= 1 && Number(text) <= 200;
    const badLimit = fc.oneof(fc.constantFrom('0', '201', '-1', '1.5', 'NaN', 'Infinity', '1e3', '', ' '), unicodeText(10)).filter((text) => !isLimit(text));
    const badDay = fc.oneof(fc.constantFrom('2024-02-30', '2024-13-01', '24-01-01', '2024-1-1', 'yesterday', '2024-01-01T00:00:00Z'), unicodeText(12));
    const unknownKey = unicodeText(12).filter((key) => key.length > 0 && !['status', 'customerId', 'limit', 'cursor', 'from', 'to', 'before', 'orderId'].includes(key));
    const queries = fc.oneof(
      badLimit.map((limit) => `/orders?limit=${encodePath(limit)}`),
      unicodeText(20).filter((status) => !(ORDER_STATUSES as readonly string[]).includes(status)).map((status) => `/orders?status=${encodePath(status)}`),
      fc.constantFrom('/orders?limit=1&limit=2', '/orders?status=PAID&status=PENDING', '/orders?cursor=', '/orders?customerId=%20', '/orders?cursor=' + 'x'.repeat(600)),
      fc.constantFrom('/orders?cursor=e30', '/orders?cursor=%E2%80%AE', '/orders?cursor=WzEsMl0', '/orders?cursor=!!!!'),
      badLimit.map((limit) => `/customers/cust-1/orders?limit=${encodePath(limit)}`),
      badDay.map((day) => `/analytics/sales?from=${encodePath(day)}`),
      badDay.map((day) => `/analytics/sales?to=${encodePath(day)}`),
      fc.constantFrom('/analytics/sales?from=2024-02-01&to=2024-01-01', '/analytics/sales?from=2024-01-01&from=2024-01-02'),
      badLimit.map((limit) => `/outbox?limit=${encodePath(limit)}`),
      fc.oneof(fc.constantFrom('0', '-5', '1.5', 'abc'), unicodeText(8)).filter((text) => !(Number.isInteger(Number(text)) && Number(text) > 0)).map((before) => `/outbox?before=${encodePath(before)}`),
      fc.tuple(fc.constantFrom('/orders', '/customers/cust-1/orders', '/analytics/sales', '/outbox'), unknownKey, unicodeText(20)).map(([path, key, value]) => `${path}?${encodePath(key)}=${encodePath(value)}`),
    );
    await withoutAppends(
      fc.asyncProperty(queries, async (url) => {
        const request: InjectOptions = { method: 'GET', url, headers: auth() };
        const problem = expectClientProblem(await inject(request), describeRequest(request));
        expect(problem.status).toBe(400);
      }),
      { numRuns: 80 },
    );
  });

  it('never fails on an arbitrary cursor: a page when it decodes, else 400', async () => {
    const cursor = fc.oneof(
      fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 512 }),
      fc.tuple(unicodeText(), unicodeText()).map((pair) => Buffer.from(JSON.stringify(pair)).toString('base64url')),
      anyJson.map((value) => Buffer.from(JSON.stringify(value)).toString('base64url')).filter((text) => text.length > 0 && text.length <= 512),
    );
    await withoutAppends(
      fc.asyncProperty(cursor, async (value) => {
        const response = await inject({ method: 'GET', url: `/orders?cursor=${encodePath(value)}`, headers: auth() });
        expect(response.statusCode, `${value} -> ${response.body}`).toBeLessThan(500);
        if (response.statusCode !== 200) expectClientProblem(response, value);
      }),
    );
  });

  it('answers unknown routes and methods with 404 problem+json, and the public routes with no error at all', async () => {
    const method = fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS') as fc.Arbitrary<InjectOptions['method']>;
    const unknownPath = fc.oneof(
      unicodeText(30).map((segment) => `/${encodePath(segment)}/x`),
      fc.constantFrom('/orders/', '/ORDERS', '/orders//ship', '/inventory', '/customers//orders', '/analytics', '/health/x', '/%', '/%zz'),
    );
    await withoutAppends(
      fc.asyncProperty(method, unknownPath, async (verb, url) => {
        const request: InjectOptions = { method: verb, url, headers: auth() };
        const response = await inject(request);
        if (verb === 'GET' && url === '/orders/') return; // fastify ignores the trailing slash: the list route
        const problem = expectClientProblem(response, describeRequest(request));
        expect([400, 404, 405]).toContain(problem.status);
      }),
    );
    await withoutAppends(
      fc.asyncProperty(fc.constantFrom('/health', '/ready', '/metrics', '/openapi.json'), unicodeText(30), headerText, async (path, query, header) => {
        const response = await inject({ method: 'GET', url: `${path}?${encodePath(query)}=${encodePath(query)}`, headers: { authorization: header, 'x-correlation-id': header } });
        expect(response.statusCode).toBe(200);
      }),
      { numRuns: 20 },
    );
  });
});
