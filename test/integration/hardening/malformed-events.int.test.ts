// Malformed events in the store, appended raw next to good ones: the workers park each with a
// reason in every handler group and every projection that would have used it (the projections
// share one group and park each on its own), keep processing the good events around them, and
// never crash or stop a group.
import { randomUUID } from 'node:crypto';
import { binaryEvent, jsonEvent } from '@eventstore/db-client';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupName, projectionsGroupName } from '../../../src/subscriptions/group-settings.js';
import { listProjectionParked } from '../../../src/subscriptions/projection-parking.js';
import { startWorkers, type RunningWorkers } from '../../../src/workers.js';
import { auth } from '../../helpers/app.js';
import { eventually } from '../workers/order-writer.js';
import { FAST_RETRIES, readParked, type ParkedEntry } from '../workers/worker-helpers.js';
import { appendMessages, METHODS, rawClient, rawClientStream } from './raw-grpc.js';
import { startHardenedApp, type HardenedApp } from './support.js';

/** Every projection and handler group that receives order.created: where a malformed one must be parked. */
const PROJECTIONS = ['order-summary', 'orders-by-customer', 'sales-by-day', 'inventory', 'analytics'];
const HANDLER_GROUPS = [groupName('handler', 'notification')];
const GROUPS = [...PROJECTIONS.map((name) => groupName('projection', name)), ...HANDLER_GROUPS];

let t: HardenedApp;
let workers: RunningWorkers;
const good: string[] = [];
const bad = { invalidJson: `order-${randomUUID()}`, rawInvalidJson: `order-${randomUUID()}`, notAnObject: `order-${randomUUID()}`, futureVersion: `order-${randomUUID()}`, unknownType: `order-${randomUUID()}` };

async function createGoodOrder(): Promise<string> {
  const orderId = randomUUID();
  const response = await t.app.inject({
    method: 'POST',
    url: '/orders',
    headers: auth(),
    payload: { orderId, customer: { id: 'cust-good' }, currency: 'EUR', items: [{ sku: 'GOOD-SKU', quantity: 1, unitPrice: 100 }] },
  });
  expect(response.statusCode).toBe(201);
  return orderId;
}

function createdData(orderId: string, schemaVersion: number) {
  return {
    schemaVersion,
    orderId,
    tenantId: 'tenant-a',
    customer: { id: 'cust-bad' },
    currency: 'EUR',
    items: [{ sku: 'GOOD-SKU', quantity: 1000, unitPrice: 1 }],
    total: 1000,
    occurredAt: new Date().toISOString(),
  };
}

beforeAll(async () => {
  t = await startHardenedApp();
  workers = await startWorkers({ client: t.store.client, logger: pino({ level: 'silent' }), registry: new Registry(), store: t.readModels, env: {}, runner: FAST_RETRIES });
  good.push(await createGoodOrder());
  const { client } = t.store;
  await client.appendToStream(bad.invalidJson, binaryEvent({ type: 'order.created', data: Buffer.from('{"orderId": "oops", "items": [', 'utf8') }));
  await client.appendToStream(bad.notAnObject, jsonEvent({ type: 'order.created', data: '"just a string"' as unknown as Record<string, unknown> }));
  await client.appendToStream(bad.futureVersion, jsonEvent({ type: 'order.created', data: createdData(bad.futureVersion.slice('order-'.length), 99) }));
  await client.appendToStream(bad.unknownType, jsonEvent({ type: 'order.teleported', data: { orderId: bad.unknownType.slice('order-'.length), to: 'Mars' } }));
  // application/json whose bytes are not JSON: only a raw gRPC append can write that.
  const grpc = rawClient(t.store.server.host, t.store.server.port);
  const appended = await rawClientStream(grpc, METHODS.append, appendMessages(bad.rawInvalidJson, { type: 'order.created', contentType: 'application/json', data: Buffer.from('{not json\u0000', 'utf8') }));
  grpc.close();
  expect(appended.status).toBe(0);
  good.push(await createGoodOrder());
}, 30_000);

afterAll(async () => {
  await workers?.stop();
  await t?.close();
});

/** A handler's group parks on the server; a projection (`<prefix>.projection.<name>`) in the read models. */
const parkedIn = async (group: string): Promise<ParkedEntry[]> => {
  if (HANDLER_GROUPS.includes(group)) return readParked(t.store.client, group);
  const projection = group.slice(groupName('projection', '').length);
  return (await listProjectionParked(t.readModels, projection)).map((entry) => ({ target: `${entry.revision}@${entry.streamId}`, reason: entry.reason }));
};

describe('malformed events in the store', () => {
  it('processes the good events before and after the malformed ones in every projection and handler', async () => {
    const listed = await eventually(async () => {
      const items = (await t.app.inject({ method: 'GET', url: '/orders?customerId=cust-good', headers: auth() })).json<{ items: Array<{ orderId: string }> }>().items;
      return items.length === good.length ? items : undefined;
    });
    expect(listed.map((item) => item.orderId).sort()).toEqual([...good].sort());
    await eventually(async () => (await t.app.inject({ method: 'GET', url: '/customers/cust-good/orders', headers: auth() })).json().orderCount === good.length);
    // The inventory projection reserved the good orders only (the bad ones ask for 1000).
    await eventually(async () => (await t.app.inject({ method: 'GET', url: '/inventory/GOOD-SKU', headers: auth() })).json().reserved === good.length);
    const today = new Date().toISOString().slice(0, 10);
    await eventually(async () => (await t.app.inject({ method: 'GET', url: `/analytics/sales?from=${today}&to=${today}`, headers: auth() })).json().days[0]?.ordersPlaced === good.length);
    expect((await t.app.inject({ method: 'GET', url: '/customers/cust-bad/orders', headers: auth() })).json().orderCount).toBe(0);
  });

  it.each([
    ['invalid JSON (binary content)', () => bad.invalidJson, /EventSchemaError: invalid order\.created event: data is not an object/],
    ['invalid JSON (declared application/json)', () => bad.rawInvalidJson, /EventSchemaError: invalid order\.created event: data is not an object/],
    ['JSON that is not an object', () => bad.notAnObject, /EventSchemaError: invalid order\.created event: data is not an object/],
    ['a schema version from the future', () => bad.futureVersion, /EventSchemaError: invalid order\.created event: .*schemaVersion/],
  ])('parks %s with a reason in every group that receives it', async (_kind, stream, reason) => {
    for (const group of GROUPS) {
      const entry = await eventually(async () => (await parkedIn(group)).find((parked) => parked.target === `0@${stream()}`), 10_000);
      expect(entry.reason, group).toMatch(reason);
    }
  });

  it('skips an unknown event type without parking it, so later events of its stream are not held back', async () => {
    // Deliberate: an order stream may hold types from a newer writer. Projections record its
    // revision and move on; handlers filter by type and never receive it.
    await eventually(async () => (await parkedIn(GROUPS[0]!)).length >= 4);
    for (const group of GROUPS) expect((await parkedIn(group)).map((parked) => parked.target), group).not.toContain(`0@${bad.unknownType}`);
  });

  it('keeps every group connected and idle afterwards: nothing crashed, nothing stuck in flight', async () => {
    const orderId = await createGoodOrder();
    good.push(orderId);
    await eventually(async () => (await t.app.inject({ method: 'GET', url: `/orders?customerId=cust-good`, headers: auth() })).json().items.length === good.length);
    await eventually(() => workers.runner.consumers.every((consumer) => consumer.inFlight === 0));
    for (const group of HANDLER_GROUPS) {
      const info = await t.store.client.getPersistentSubscriptionToAllInfo(group);
      expect(info.connections.length, group).toBeGreaterThan(0);
      expect(Number(info.stats.parkedMessageCount), group).toBe(4);
    }
    const shared = await t.store.client.getPersistentSubscriptionToAllInfo(projectionsGroupName());
    expect(shared.connections.length).toBeGreaterThan(0);
    // Parked for each projection alone, none in the shared group itself.
    expect(Number(shared.stats.parkedMessageCount)).toBe(0);
    for (const projection of PROJECTIONS) expect(await listProjectionParked(t.readModels, projection), projection).toHaveLength(4);
  });
});
