// The OpenAPI document is a contract: it is valid OpenAPI (checked by a maintained validator), and
// real answers of every operation (status, headers, media type, body) are what it says they are.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../../../src/api/app.js';
import { connectEventStore } from '../../../src/eventstore/connection.js';
import { type ReadModelStore } from '../../../src/readmodels/read-model-store.js';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { freePort } from '../../helpers/free-port.js';
import { openTestReadModels } from '../../helpers/read-models.js';

type Json = Record<string, unknown>;
interface DocResponse {
  headers?: Record<string, { required?: boolean; schema?: Json }>;
  content?: Record<string, { schema?: Json }>;
}
interface DocOperation {
  operationId?: string;
  responses: Record<string, DocResponse>;
  requestBody?: { required?: boolean };
}
interface OpenApiDocument {
  paths: Record<string, Record<string, DocOperation>>;
  components: { schemas: Record<string, Json> };
}

const KEY = 'contract-test-key-0123456789';
const auth = { authorization: `Bearer ${KEY}` };
const json = { ...auth, 'content-type': 'application/json' };
/** Headers whose presence the document must explain when the server sends them. */
const OUR_HEADERS = ['x-correlation-id', 'etag', 'location', 'retry-after', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'www-authenticate'];

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;

describe('the OpenAPI document', () => {
  let store: TestEventStore;
  let dataDir: string;
  let readModels: ReadModelStore;
  let app: FastifyInstance;
  let document: OpenApiDocument;
  const samples: Array<{ operation: string; method: string; path: string; response: LightMyRequestResponse }> = [];
  const others: FastifyInstance[] = [];

  /** Sends a request and files its answer under the document operation it exercises. */
  async function sample(target: FastifyInstance, method: string, template: string, url: string, options: { headers?: Record<string, string>; payload?: unknown } = {}) {
    const response = await target.inject({ method: method as 'GET', url, headers: options.headers ?? {}, ...(options.payload !== undefined ? { payload: options.payload as string } : {}) });
    samples.push({ operation: `${method.toLowerCase()} ${template}`, method: method.toLowerCase(), path: template, response });
    return response;
  }

  beforeAll(async () => {
    store = await startTestEventStore();
    dataDir = mkdtempSync(join(tmpdir(), 'order-store-contract-'));
    readModels = await openTestReadModels(join(dataDir, 'readmodels.db'));
    const deps = { client: store.client, apiKeys: new Map([[KEY, 'shop']]), readModels, bodyLimitBytes: 2048 };
    app = await build(deps);
    await app.ready();
    document = app.swagger() as unknown as OpenApiDocument;

    // The operations routes.
    await sample(app, 'GET', '/health', '/health');
    await sample(app, 'GET', '/ready', '/ready');
    await sample(app, 'GET', '/metrics', '/metrics');
    await sample(app, 'GET', '/metrics', '/metrics', { headers: { 'x-forwarded-for': '203.0.113.7' } });

    // Orders: every outcome a client can provoke.
    const orderId = randomUUID();
    const body = { orderId, customer: { id: 'c-1', name: 'Ada', phone: '+14155550100' }, currency: 'EUR', items: [{ sku: 'MUG', quantity: 1, unitPrice: 1000 }] };
    const created = await sample(app, 'POST', '/orders', '/orders', { headers: json, payload: JSON.stringify(body) });
    expect(created.statusCode).toBe(201);
    await sample(app, 'POST', '/orders', '/orders', { headers: json, payload: JSON.stringify(body) });
    await sample(app, 'POST', '/orders', '/orders', { headers: json, payload: JSON.stringify({ ...body, currency: 'USD' }) });
    await sample(app, 'POST', '/orders', '/orders', { headers: json, payload: JSON.stringify({ ...body, currency: 'EURO' }) });
    await sample(app, 'POST', '/orders', '/orders', { headers: json, payload: '{"not json' });
    await sample(app, 'POST', '/orders', '/orders', { headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) });
    await sample(app, 'POST', '/orders', '/orders', { headers: { ...json, authorization: 'Bearer wrong-key' }, payload: JSON.stringify(body) });
    await sample(app, 'POST', '/orders', '/orders', { headers: { ...auth, 'content-type': 'text/plain' }, payload: 'an order' });
    await sample(app, 'POST', '/orders', '/orders', { headers: json, payload: JSON.stringify({ ...body, padding: 'x'.repeat(4096) }) });

    const order = `/orders/${orderId}`;
    const read = await sample(app, 'GET', '/orders/{orderId}', order, { headers: auth });
    await sample(app, 'GET', '/orders/{orderId}', order, { headers: { ...auth, 'if-none-match': String(read.headers.etag) } });
    await sample(app, 'GET', '/orders/{orderId}', `/orders/${randomUUID()}`, { headers: auth });
    await sample(app, 'GET', '/orders/{orderId}', '/orders/not-a-uuid', { headers: auth });
    await sample(app, 'GET', '/orders/{orderId}', `/orders/${'a'.repeat(300)}`, { headers: auth });
    await sample(app, 'GET', '/orders/{orderId}/events', `${order}/events`, { headers: { ...auth, 'x-correlation-id': 'chat-42' } });

    await sample(app, 'POST', '/orders/{orderId}/ship', `${order}/ship`, { headers: auth });
    await sample(app, 'POST', '/orders/{orderId}/payments', `${order}/payments`, { headers: json, payload: JSON.stringify({ paymentId: 'p-1', amount: 1000, method: 'card' }) });
    await sample(app, 'POST', '/orders/{orderId}/payments', `${order}/payments`, { headers: json, payload: JSON.stringify({ paymentId: 'p-1', amount: 1000, method: 'card' }) });
    await sample(app, 'POST', '/orders/{orderId}/ship', `${order}/ship`, { headers: { ...json, 'if-match': '"0"' }, payload: '{}' });
    await sample(app, 'POST', '/orders/{orderId}/ship', `${order}/ship`, { headers: json, payload: JSON.stringify({ carrier: 'DHL' }) });
    await sample(app, 'POST', '/orders/{orderId}/deliver', `${order}/deliver`, { headers: auth });
    await sample(app, 'POST', '/orders/{orderId}/return', `${order}/return`, { headers: json, payload: JSON.stringify({ reason: 'too small' }) });
    await sample(app, 'POST', '/orders/{orderId}/refund', `${order}/refund`, { headers: auth });
    const other = randomUUID();
    await sample(app, 'POST', '/orders', '/orders', { headers: json, payload: JSON.stringify({ ...body, orderId: other }) });
    await sample(app, 'POST', '/orders/{orderId}/cancel', `/orders/${other}/cancel`, { headers: auth });

    // The read side.
    await sample(app, 'GET', '/orders', '/orders?limit=10', { headers: auth });
    await sample(app, 'GET', '/orders', '/orders?status=NOPE', { headers: auth });
    await sample(app, 'GET', '/customers/{customerId}/orders', '/customers/c-1/orders', { headers: auth });
    await sample(app, 'PUT', '/inventory/{sku}', '/inventory/MUG', { headers: json, payload: JSON.stringify({ onHand: 5 }) });
    await sample(app, 'GET', '/inventory/{sku}', '/inventory/MUG', { headers: auth });
    await sample(app, 'GET', '/analytics/sales', '/analytics/sales?from=2026-01-01&to=2026-12-31', { headers: auth });
    await sample(app, 'GET', '/outbox', '/outbox', { headers: auth });

    // Any other operation (one another part of the service added): at least its plain answer.
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const method of Object.keys(operations)) {
        if (samples.some((entry) => entry.operation === `${method} ${path}`)) continue;
        await sample(app, method.toUpperCase(), path, path.replace(/\{[^}]+\}/g, 'x'), { headers: json, ...(method === 'get' ? {} : { payload: '{}' }) });
      }
    }

    // 429: a service whose per-key budget is one request a minute.
    const limited = await build({ ...deps, rateLimitPerMinute: 1 });
    others.push(limited);
    await sample(limited, 'GET', '/orders', '/orders', { headers: auth });
    await sample(limited, 'GET', '/orders', '/orders', { headers: auth });

    // 503: the event store unreachable.
    const deadClient = connectEventStore(`esdb://127.0.0.1:${await freePort()}?tls=false`);
    const cut = await build({ ...deps, client: deadClient });
    others.push(cut);
    await sample(cut, 'GET', '/ready', '/ready');
    await sample(cut, 'GET', '/orders/{orderId}', order, { headers: auth });
  }, 120_000);

  afterAll(async () => {
    for (const other of others) await other.close();
    await app?.close();
    await readModels?.close();
    await store?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(document as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('gives every operation an operationId, unique across the document', async () => {
    const ids = Object.values(document.paths).flatMap((operations) => Object.values(operations).map((operation) => operation.operationId));
    expect(ids.every((id) => typeof id === 'string' && id.length > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('lists no component schema that nothing references', async () => {
    const text = JSON.stringify(document.paths);
    const reachable = new Set<string>();
    const visit = (source: string) => {
      for (const [, name] of source.matchAll(/#\/components\/schemas\/([^"]+)/g)) {
        if (reachable.has(name!)) continue;
        reachable.add(name!);
        visit(JSON.stringify(document.components.schemas[name!]));
      }
    };
    visit(text);
    expect(Object.keys(document.components.schemas).sort()).toEqual([...reachable].sort());
  });

  it('documents errors as application/problem+json, and lists 413/415 where bodies go, 429 and 503 on every limited route, 503 on /ready', async () => {
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const where = `${method} ${path}`;
        for (const [status, response] of Object.entries(operation.responses)) {
          if (Number(status) >= 400) expect(Object.keys(response.content ?? {}), `${where} ${status}`).toEqual(['application/problem+json']);
        }
        if (['post', 'put'].includes(method)) expect(Object.keys(operation.responses), where).toEqual(expect.arrayContaining(['413', '415']));
        if (!['/health', '/ready', '/metrics'].includes(path)) expect(Object.keys(operation.responses), where).toEqual(expect.arrayContaining(['429', '503']));
      }
    }
    expect(Object.keys(document.paths['/ready']!.get!.responses)).toContain('503');
  });

  it('claims conflicts only where they can happen: no 409 or 412 on reads, no 412 on create', async () => {
    for (const [path, operations] of Object.entries(document.paths)) {
      if (operations.get) expect(Object.keys(operations.get.responses), path).not.toEqual(expect.arrayContaining(['409']));
      if (operations.get) expect(Object.keys(operations.get.responses), path).not.toEqual(expect.arrayContaining(['412']));
    }
    expect(Object.keys(document.paths['/orders']!.post!.responses)).not.toContain('412');
  });

  it('marks the lifecycle commands\' bodies optional, as the server takes them without one', () => {
    for (const command of ['ship', 'deliver', 'cancel', 'return', 'refund']) {
      expect(document.paths[`/orders/{orderId}/${command}`]!.post!.requestBody?.required, command).toBe(false);
    }
    expect(document.paths['/orders']!.post!.requestBody?.required).toBe(true);
  });

  it('documents the request headers: If-Match, If-None-Match, and x-correlation-id with its pattern', async () => {
    type Parameter = { in: string; name: string; schema?: { pattern?: string } };
    const parameters = (path: string, method: string) => ((document.paths[path]![method] as unknown as { parameters?: Parameter[] }).parameters ?? []).filter((p) => p.in === 'header');
    expect(parameters('/orders/{orderId}/ship', 'post').map((p) => p.name)).toContain('if-match');
    expect(parameters('/orders/{orderId}', 'get').map((p) => p.name)).toContain('if-none-match');
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const method of Object.keys(operations)) {
        const correlation = parameters(path, method).find((p) => p.name === 'x-correlation-id');
        expect(correlation?.schema?.pattern, `${method} ${path}`).toBeDefined();
      }
    }
  });

  it('samples every operation of the document with a real request', async () => {
    const operations = Object.entries(document.paths).flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method} ${path}`));
    const sampled = new Set(samples.map((entry) => entry.operation));
    expect(operations.filter((operation) => !sampled.has(operation))).toEqual([]);
    // The sample covers the statuses the issue names.
    const statuses = new Set(samples.map((entry) => entry.response.statusCode));
    for (const status of [200, 201, 304, 400, 401, 404, 409, 412, 413, 414, 415, 429, 503]) expect(statuses, String(status)).toContain(status);
  });

  it('answers every sampled request with a documented status, documented headers and media type, and a body matching the schema', async () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addSchema({ $id: 'doc', components: document.components });
    const problems: string[] = [];
    for (const { operation, method, path, response } of samples) {
      const where = `${operation} -> ${response.statusCode}`;
      const documented = document.paths[path]?.[method]?.responses[String(response.statusCode)];
      if (!documented) {
        problems.push(`${where}: status not documented`);
        continue;
      }
      const documentedHeaders = documented.headers ?? {};
      for (const name of OUR_HEADERS) if (response.headers[name] !== undefined && !documentedHeaders[name]) problems.push(`${where}: header ${name} sent but not documented`);
      for (const [name, spec] of Object.entries(documentedHeaders)) if (spec.required && response.headers[name] === undefined) problems.push(`${where}: required header ${name} missing`);
      const correlation = documentedHeaders['x-correlation-id'];
      if (!correlation || response.headers['x-correlation-id'] === undefined) problems.push(`${where}: no x-correlation-id`);

      const mediaType = String(response.headers['content-type'] ?? '').split(';')[0]!.trim();
      if (!documented.content) {
        if (response.body !== '') problems.push(`${where}: body sent where none is documented`);
        continue;
      }
      const media = documented.content[mediaType] ?? Object.entries(documented.content).find(([type]) => type.split(';')[0] === mediaType)?.[1];
      if (!media) {
        problems.push(`${where}: media type ${mediaType} not documented (${Object.keys(documented.content).join(', ')})`);
        continue;
      }
      if (!media.schema) continue;
      const schema = JSON.parse(JSON.stringify(media.schema).replaceAll('"#/components/', '"doc#/components/')) as Json;
      const validate = ajv.compile(schema);
      const body = mediaType.endsWith('json') ? (JSON.parse(response.body) as unknown) : response.body;
      if (!validate(body)) problems.push(`${where}: body does not match: ${ajv.errorsText(validate.errors)}`);
    }
    expect(problems).toEqual([]);
  });

  it('answers 401 with WWW-Authenticate: Bearer', async () => {
    const unauthorized = samples.filter((entry) => entry.response.statusCode === 401 && entry.path !== '/webhooks/whatsapp');
    expect(unauthorized.length).toBeGreaterThan(0);
    for (const { response } of unauthorized) expect(String(response.headers['www-authenticate'])).toMatch(/^Bearer\b/);
  });

  it('answers an unknown method on a known path with 405 and Allow, as problem+json', async () => {
    const response = await app.inject({ method: 'DELETE', url: '/orders', headers: auth });
    expect(response.statusCode).toBe(405);
    expect(String(response.headers.allow).split(', ').sort()).toEqual(['GET', 'HEAD', 'POST']);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.json()).toMatchObject({ status: 405, code: 'METHOD_NOT_ALLOWED' });
    const unknown = await app.inject({ method: 'DELETE', url: '/nowhere', headers: auth });
    expect(unknown.statusCode).toBe(404);
  });

  it('takes no body on GET routes: a body there is ignored, so 413/415 are not theirs', async () => {
    const response = await app.inject({ method: 'GET', url: '/health', headers: { 'content-type': 'text/plain' }, payload: 'x'.repeat(4096) });
    expect(response.statusCode).toBe(200);
  });
});
