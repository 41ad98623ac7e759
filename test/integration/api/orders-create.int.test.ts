import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, startTestApp, TENANT_A, TENANT_B, type TestApp } from '../../helpers/app.js';
import { newOrderBody, storedEvents, storedTypes } from './support.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ bodyLimitBytes: 8 * 1024 });
});
afterAll(async () => t?.close());

describe('POST /orders', () => {
  it('creates the order, answers 201 with it, and appends order.created to order-<id>', async () => {
    const body = newOrderBody();
    const response = await t.app.inject({ method: 'POST', url: '/orders', headers: auth(), payload: body });

    expect(response.statusCode).toBe(201);
    expect(response.headers.location).toBe(`/orders/${body.orderId}`);
    expect(response.headers.etag).toBe('"0"');
    expect(response.json()).toMatchObject({
      orderId: body.orderId,
      tenantId: TENANT_A.tenantId,
      status: 'PENDING',
      currency: 'EUR',
      items: body.items,
      total: 4000,
      paidAmount: 0,
      refundedAmount: 0,
      customer: body.customer,
      revision: 0,
    });
    const [created, ...rest] = await storedEvents(t.store.client, body.orderId);
    expect(rest).toEqual([]);
    expect(created).toMatchObject({
      type: 'order.created',
      data: { schemaVersion: 2, orderId: body.orderId, tenantId: TENANT_A.tenantId, customerId: 'cust-1', total: 4000, items: body.items },
    });
  });

  it('generates a UUID when the client gives no orderId', async () => {
    const { orderId: _none, ...body } = newOrderBody();
    const response = await t.app.inject({ method: 'POST', url: '/orders', headers: auth(), payload: body });
    expect(response.statusCode).toBe(201);
    const { orderId } = response.json<{ orderId: string }>();
    expect(orderId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await storedTypes(t.store.client, orderId)).toEqual(['order.created']);
  });

  it('carries the correlation id, causation, tenant, actor and traceparent into the event metadata', async () => {
    const body = newOrderBody();
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const response = await t.app.inject({
      method: 'POST',
      url: '/orders',
      headers: { ...auth(), 'x-correlation-id': 'chat-session-42', traceparent },
      payload: body,
    });
    expect(response.headers['x-correlation-id']).toBe('chat-session-42');
    const [created] = await storedEvents(t.store.client, body.orderId);
    expect(created?.metadata).toMatchObject({ $correlationId: `${TENANT_A.tenantId}:chat-session-42`, tenantId: TENANT_A.tenantId, traceparent });
    expect(created?.metadata.$causationId).toEqual(created?.metadata.commandId);
    expect(created?.metadata.actor).toMatch(/^api-key:[0-9a-f]{12}$/);
    expect(JSON.stringify(created?.metadata)).not.toContain(TENANT_A.key);
  });

  it('generates a correlation id when none is sent and returns it', async () => {
    const body = newOrderBody();
    const response = await t.app.inject({ method: 'POST', url: '/orders', headers: auth(), payload: body });
    const correlationId = response.headers['x-correlation-id'];
    expect(correlationId).toMatch(/^[0-9a-f-]{36}$/);
    const [created] = await storedEvents(t.store.client, body.orderId);
    expect(created?.metadata.$correlationId).toBe(`${TENANT_A.tenantId}:${String(correlationId)}`);
  });

  it('replaces an unusable correlation id (spaces, too long) instead of failing the command', async () => {
    const body = newOrderBody();
    const response = await t.app.inject({ method: 'POST', url: '/orders', headers: { ...auth(), 'x-correlation-id': 'not usable '.repeat(20) }, payload: body });
    expect(response.statusCode).toBe(201);
    const [created] = await storedEvents(t.store.client, body.orderId);
    expect(created?.metadata.$correlationId).toBe(`${TENANT_A.tenantId}:${String(response.headers['x-correlation-id'])}`);
    expect(response.headers['x-correlation-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('creating the same id with the same body again answers 200 with the same order and appends nothing', async () => {
    const body = newOrderBody();
    const first = await t.app.inject({ method: 'POST', url: '/orders', headers: auth(), payload: body });
    const again = await t.app.inject({ method: 'POST', url: '/orders', headers: auth(), payload: body });
    expect(first.statusCode).toBe(201);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual(first.json());
    expect(await storedTypes(t.store.client, body.orderId)).toEqual(['order.created']);
  });

  it('creating the same id with another body is 409 ORDER_ALREADY_EXISTS and appends nothing', async () => {
    const body = newOrderBody();
    await t.app.inject({ method: 'POST', url: '/orders', headers: auth(), payload: body });
    const other = await t.app.inject({ method: 'POST', url: '/orders', headers: auth(), payload: { ...body, currency: 'USD' } });
    expect(other.statusCode).toBe(409);
    expect(other.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(other.json()).toMatchObject({ status: 409, code: 'ORDER_ALREADY_EXISTS' });
    expect(await storedEvents(t.store.client, body.orderId)).toHaveLength(1);
  });

  it("an id another tenant already uses is another order for the second tenant (201), and the first tenant's order is untouched", async () => {
    const body = newOrderBody();
    await t.app.inject({ method: 'POST', url: '/orders', headers: auth(TENANT_A), payload: body });
    const response = await t.app.inject({ method: 'POST', url: '/orders', headers: auth(TENANT_B), payload: body });
    expect(response.statusCode).toBe(201);
    expect(response.json()).toMatchObject({ orderId: body.orderId, tenantId: TENANT_B.tenantId });
    const events = await storedEvents(t.store.client, body.orderId);
    expect(events.map((event) => event.data.tenantId)).toEqual([TENANT_A.tenantId]);
    expect((await storedEvents(t.store.client, body.orderId, TENANT_B.tenantId)).map((event) => event.data.tenantId)).toEqual([TENANT_B.tenantId]);
  });

  it('invalid input is 400 VALIDATION_FAILED listing every failing field, and appends nothing', async () => {
    const body = {
      orderId: 'not-a-uuid',
      customer: { phone: '0155 1234', nickname: 'x' },
      currency: 'EURO',
      items: [{ sku: '', quantity: 0, unitPrice: -1 }, { sku: 'B', quantity: 1.5, unitPrice: 10 }],
      tenantId: 'tenant-b',
    };
    const response = await t.app.inject({ method: 'POST', url: '/orders', headers: auth(), payload: body });
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    const problem = response.json<{ code: string; errors: Array<{ field: string }> }>();
    expect(problem.code).toBe('VALIDATION_FAILED');
    expect(problem.errors.map((error) => error.field).sort()).toEqual(
      [
        'body.orderId',
        'body.customer.phone',
        'body.customer.nickname',
        'body.currency',
        'body.items.0.sku',
        'body.items.0.quantity',
        'body.items.0.unitPrice',
        'body.items.1.quantity',
        'body.tenantId',
      ].sort(),
    );
  });

  it('an order without items is refused', async () => {
    const body = newOrderBody({ items: [] });
    const response = await t.app.inject({ method: 'POST', url: '/orders', headers: auth(), payload: body });
    expect(response.statusCode).toBe(400);
    expect(response.json().errors).toEqual([{ field: 'body.items', message: 'must hold at least one item' }]);
    expect(await storedEvents(t.store.client, body.orderId)).toEqual([]);
  });

  it('a currency that is three letters but not ISO 4217 is refused', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/orders', headers: auth(), payload: newOrderBody({ currency: 'ABC' }) });
    expect(response.statusCode).toBe(400);
    expect(response.json().errors[0].field).toBe('body.currency');
  });

  it('a missing or unknown API key is 401 and appends nothing', async () => {
    const body = newOrderBody();
    for (const headers of [{}, { authorization: 'Bearer nope' }, { authorization: `Basic ${TENANT_A.key}` }]) {
      const response = await t.app.inject({ method: 'POST', url: '/orders', headers, payload: body });
      expect(response.statusCode).toBe(401);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.json()).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    }
    expect(await storedEvents(t.store.client, body.orderId)).toEqual([]);
  });

  it('a body over the limit is 413 PAYLOAD_TOO_LARGE and appends nothing', async () => {
    const items = Array.from({ length: 150 }, (_, index) => ({ sku: `SKU-${index}`, name: 'x'.repeat(50), quantity: 1, unitPrice: 1 }));
    const body = newOrderBody({ items });
    const response = await t.app.inject({ method: 'POST', url: '/orders', headers: auth(), payload: body });
    expect(response.statusCode).toBe(413);
    expect(response.json().code).toBe('PAYLOAD_TOO_LARGE');
    expect(await storedEvents(t.store.client, body.orderId)).toEqual([]);
  });

  it('a body that is not JSON is refused with a problem', async () => {
    const malformed = await t.app.inject({ method: 'POST', url: '/orders', headers: { ...auth(), 'content-type': 'application/json' }, payload: '{"currency":' });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().code).toBe('MALFORMED_REQUEST');
    const text = await t.app.inject({ method: 'POST', url: '/orders', headers: { ...auth(), 'content-type': 'text/plain' }, payload: 'hello' });
    expect(text.statusCode).toBe(415);
    expect(text.json().code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });
});
