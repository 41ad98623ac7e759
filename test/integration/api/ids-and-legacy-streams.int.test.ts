// Ids normalised at the edge, tenant-scoped stream names, and stores written before them: an
// order in a legacy `order-<orderId>` stream keeps loading and answering, for its tenant only.
import { randomUUID } from 'node:crypto';
import { jsonEvent } from '@eventstore/db-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, startTestApp, TENANT_A, TENANT_B, type TestApp } from '../../helpers/app.js';
import { command, newOrderBody, storedEvents, storedTypes } from './support.js';

let t: TestApp;
const legacyId = randomUUID();
const legacyBody = newOrderBody({ orderId: legacyId });

/** What the previous version wrote for a create: the order in `order-<orderId>`. */
async function writeLegacyOrder(orderId: string, tenantId: string, body: ReturnType<typeof newOrderBody>): Promise<void> {
  await t.store.client.appendToStream(
    `order-${orderId}`,
    jsonEvent({
      type: 'order.created',
      data: { schemaVersion: 2, orderId, tenantId, customerId: 'cust-1', occurredAt: '2026-10-01T10:00:00.000Z', customer: body.customer, currency: body.currency, items: body.items, total: 4000 },
      metadata: { $correlationId: 'legacy', $causationId: 'legacy', tenantId, actor: 'api-key:old' },
    }),
  );
}

async function legacyTypes(orderId: string): Promise<string[]> {
  const types: string[] = [];
  for await (const { event } of t.store.client.readStream(`order-${orderId}`)) if (event) types.push(event.type);
  return types;
}

beforeAll(async () => {
  t = await startTestApp();
  // A store the previous version wrote: its first order stream is a legacy one.
  await writeLegacyOrder(legacyId, TENANT_A.tenantId, legacyBody);
});

afterAll(async () => {
  await t?.close();
});

describe('an order written before tenant-scoped stream names', () => {
  it('loads and answers for its tenant, and later events are appended to its legacy stream', async () => {
    const order = await t.app.inject({ method: 'GET', url: `/orders/${legacyId}`, headers: auth() });
    expect(order.statusCode).toBe(200);
    expect(order.json()).toMatchObject({ orderId: legacyId, tenantId: TENANT_A.tenantId, status: 'PENDING', total: 4000 });
    const paid = await command(t.app, legacyId, 'payments', { paymentId: 'pay-legacy', amount: 4000, method: 'card' });
    expect(paid.statusCode).toBe(201);
    expect(paid.json()).toMatchObject({ status: 'PAID', revision: 3 });
    expect(await legacyTypes(legacyId)).toEqual(['order.created', 'payment.processed', 'order.paid', 'order.status_changed']);
    expect(await storedEvents(t.store.client, legacyId)).toEqual([]);
    const history = await t.app.inject({ method: 'GET', url: `/orders/${legacyId}/events`, headers: auth() });
    expect(history.json().events).toHaveLength(4);
  });

  it('answers a retried create of it as the same order (200), not a second one', async () => {
    const again = await t.app.inject({ method: 'POST', url: '/orders', headers: auth(), payload: legacyBody });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ orderId: legacyId, status: 'PAID' });
    expect(await storedEvents(t.store.client, legacyId)).toEqual([]);
  });

  it('is invisible to another tenant, who gets its own order under that id', async () => {
    expect((await t.app.inject({ method: 'GET', url: `/orders/${legacyId}`, headers: auth(TENANT_B) })).statusCode).toBe(404);
    const mine = await t.app.inject({ method: 'POST', url: '/orders', headers: auth(TENANT_B), payload: legacyBody });
    expect(mine.statusCode).toBe(201);
    expect(mine.json()).toMatchObject({ orderId: legacyId, tenantId: TENANT_B.tenantId, status: 'PENDING' });
    expect(await storedTypes(t.store.client, legacyId, TENANT_B.tenantId)).toEqual(['order.created']);
    expect(await legacyTypes(legacyId)).toHaveLength(4);
  });
});

describe('ids normalised at the edge', () => {
  it('takes a UUID in any case as one order: create, read and commands', async () => {
    const orderId = randomUUID();
    const created = await t.app.inject({ method: 'POST', url: '/orders', headers: auth(), payload: newOrderBody({ orderId: orderId.toUpperCase() }) });
    expect(created.statusCode).toBe(201);
    expect(created.json().orderId).toBe(orderId);
    expect(created.headers.location).toBe(`/orders/${orderId}`);
    const again = await t.app.inject({ method: 'POST', url: '/orders', headers: auth(), payload: newOrderBody({ orderId }) });
    expect(again.statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: `/orders/${orderId.toUpperCase()}`, headers: auth() })).json().orderId).toBe(orderId);
    expect(await storedTypes(t.store.client, orderId)).toEqual(['order.created']);
  });

  it('counts a retried payment once however its ids are written', async () => {
    const orderId = randomUUID();
    const paymentId = randomUUID();
    expect((await t.app.inject({ method: 'POST', url: '/orders', headers: auth(), payload: newOrderBody({ orderId }) })).statusCode).toBe(201);
    const first = await command(t.app, orderId.toUpperCase(), 'payments', { paymentId: paymentId.toUpperCase(), amount: 1000, method: 'card' });
    expect(first.statusCode).toBe(201);
    const retried = await command(t.app, orderId, 'payments', { paymentId, amount: 1000, method: 'card' });
    expect(retried.statusCode).toBe(200);
    expect(retried.json()).toMatchObject({ paidAmount: 1000, status: 'PENDING' });
    expect((await storedTypes(t.store.client, orderId)).filter((type) => type === 'payment.processed')).toHaveLength(1);
  });
});
