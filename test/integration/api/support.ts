// Shared bits of the API tests: request bodies and a raw look at an order's stream.
import { randomUUID } from 'node:crypto';
import { StreamNotFoundError, type EventStoreDBClient } from '@eventstore/db-client';
import type { FastifyInstance } from 'fastify';
import { auth, TENANT_A } from '../../helpers/app.js';

export const newOrderBody = (overrides: Record<string, unknown> = {}) => ({
  orderId: randomUUID(),
  customer: { id: 'cust-1', name: 'Ada', phone: '+14155550100' },
  currency: 'EUR',
  items: [
    { sku: 'TSHIRT-M', name: 'T-shirt', quantity: 2, unitPrice: 1500 },
    { sku: 'MUG', quantity: 1, unitPrice: 1000 },
  ],
  ...overrides,
});
export const ORDER_TOTAL = 4000;

/** The order's stream (`order-<tenantId>-<orderId>`) exactly as stored: what a user of EventStoreDB would see. */
export async function storedEvents(client: EventStoreDBClient, orderId: string, tenantId = TENANT_A.tenantId) {
  const events: Array<{ type: string; data: Record<string, unknown>; metadata: Record<string, unknown>; revision: bigint }> = [];
  try {
    for await (const { event } of client.readStream(`order-${tenantId}-${orderId}`)) {
      if (event) events.push({ type: event.type, data: event.data as Record<string, unknown>, metadata: event.metadata as Record<string, unknown>, revision: event.revision });
    }
  } catch (error) {
    if (!(error instanceof StreamNotFoundError)) throw error;
  }
  return events;
}

export async function storedTypes(client: EventStoreDBClient, orderId: string, tenantId = TENANT_A.tenantId): Promise<string[]> {
  return (await storedEvents(client, orderId, tenantId)).map((event) => event.type);
}

export async function createOrder(app: FastifyInstance, body = newOrderBody(), tenant = TENANT_A) {
  const response = await app.inject({ method: 'POST', url: '/orders', headers: auth(tenant), payload: body });
  if (response.statusCode !== 201) throw new Error(`create failed: ${response.statusCode} ${response.body}`);
  return response.json<{ orderId: string; revision: number }>();
}

export async function command(app: FastifyInstance, orderId: string, action: string, payload?: object, headers: Record<string, string> = {}) {
  return app.inject({
    method: 'POST',
    url: `/orders/${orderId}/${action}`,
    headers: { ...auth(), ...headers },
    ...(payload !== undefined ? { payload } : {}),
  });
}

export async function paidOrder(app: FastifyInstance): Promise<string> {
  const { orderId } = await createOrder(app);
  const paid = await command(app, orderId, 'payments', { paymentId: `pay-${orderId}`, amount: ORDER_TOTAL, method: 'card' });
  if (paid.statusCode !== 201) throw new Error(`payment failed: ${paid.body}`);
  return orderId;
}
