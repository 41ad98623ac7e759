// The bound on appends waiting for the event store (issue #11): the store client sends every
// append on one BatchAppend stream, so a command admitted while appends pile up there waited
// 10-30 s under load. Past OVERLOAD_MAX_QUEUED_APPENDS waiting, a command is answered 503
// `store-queue` with Retry-After before anything is appended. The store is held by freezing
// the TCP connection between the client and the store: its appends are sent and not answered.
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventStoreDBClient } from '@eventstore/db-client';
import type { FastifyInstance } from 'fastify';
import { build } from '../../../src/api/app.js';
import { appendQueueOf } from '../../../src/eventstore/append-queue.js';
import { connectEventStore } from '../../../src/eventstore/connection.js';
import { OrderStateCache } from '../../../src/eventstore/order-state-cache.js';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { auth } from '../../helpers/app.js';
import { newOrderBody, storedTypes } from '../api/support.js';
import { eventually } from '../esdb/support.js';
import { API_KEYS, expectProblem } from './support.js';

/** A loopback proxy to the store whose traffic can be held (in both directions) and let go, in order. */
async function startFreezableProxy(targetPort: number) {
  let frozen = false;
  const held: Array<() => void> = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((downstream) => {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const [from, to] of [[downstream, upstream], [upstream, downstream]] as const) {
      sockets.add(from);
      from.on('error', () => undefined);
      from.on('close', () => to.destroy());
      from.on('data', (chunk) => (frozen ? held.push(() => to.write(chunk)) : to.write(chunk)));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    freeze: () => (frozen = true),
    thaw: () => {
      frozen = false;
      held.splice(0).forEach((write) => write());
    },
    close: () => {
      sockets.forEach((socket) => socket.destroy());
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let store: TestEventStore;
let proxy: Awaited<ReturnType<typeof startFreezableProxy>>;
let client: EventStoreDBClient;
let app: FastifyInstance;

beforeAll(async () => {
  store = await startTestEventStore();
  proxy = await startFreezableProxy(store.server.port);
  client = connectEventStore(`esdb://127.0.0.1:${proxy.port}?tls=false`);
  // No event-loop-delay shedding: a starved test process would shed what a test checks.
  app = await build({ client, apiKeys: API_KEYS, cache: new OrderStateCache(), overload: { maxEventLoopDelayMs: 0, maxQueuedAppends: 1 } });
  await app.ready();
});
afterAll(async () => {
  proxy.thaw();
  await app.close();
  await client.dispose();
  await proxy.close();
  await store.close();
});

const create = (body = newOrderBody()) => Promise.resolve(app.inject({ method: 'POST', url: '/orders', headers: auth(), payload: body }));

describe('appends waiting for the event store', () => {
  it('past the bound, a command is answered 503 store-queue with Retry-After and nothing appended', async () => {
    // Two orders first: a create asks once whether the store holds legacy order streams, and
    // asks again until an order exists, so the create held below goes straight to its append.
    for (let warm = 0; warm < 2; warm++) expect((await create()).statusCode).toBe(201);
    proxy.freeze();
    const waitingBody = newOrderBody();
    const waiting = create(waitingBody);
    await eventually(() => (appendQueueOf(client)?.waiting === 1 ? true : undefined), 10_000);

    const refusedBody = newOrderBody();
    const refused = await create(refusedBody);
    expect(refused.statusCode, refused.body).toBe(503);
    expect(refused.headers['retry-after']).toMatch(/^\d+$/);
    expect(expectProblem(refused)).toEqual(expect.objectContaining({ code: 'SERVICE_OVERLOADED', reason: 'store-queue' }));

    // Refused before its body is read: a body that would fail validation gets the 503 too.
    const unread = await Promise.resolve(app.inject({ method: 'POST', url: '/orders', headers: auth(), payload: { orderId: 'not-a-uuid' } }));
    expect(unread.statusCode, unread.body).toBe(503);
    expect(expectProblem(unread)).toEqual(expect.objectContaining({ code: 'SERVICE_OVERLOADED', reason: 'store-queue' }));

    proxy.thaw();
    expect((await waiting).statusCode).toBe(201);
    expect(await storedTypes(store.client, waitingBody.orderId)).toEqual(['order.created']);
    expect(await storedTypes(store.client, refusedBody.orderId)).toEqual([]);
    // Once the queue is short again, the refused command goes through when retried.
    expect((await create(refusedBody)).statusCode).toBe(201);
  });
});

describe("commands' first appends in one turn of the event loop", () => {
  let turnStore: TestEventStore;
  let turnClient: EventStoreDBClient;
  let turnApp: FastifyInstance;
  beforeAll(async () => {
    turnStore = await startTestEventStore();
    // The service's client: its appends counted (connectEventStore), what the bound goes by.
    turnClient = connectEventStore(`esdb://127.0.0.1:${turnStore.server.port}?tls=false`);
    // A budget (the bound applies only to budgeted requests) far longer than the test takes.
    turnApp = await build({
      client: turnClient,
      apiKeys: API_KEYS,
      cache: new OrderStateCache(),
      overload: { maxEventLoopDelayMs: 0, latencyBudgetMs: 60_000, maxAppendsPerTurn: 3 },
    });
    await turnApp.ready();
  });
  afterAll(async () => {
    await turnApp.close();
    await turnClient.dispose();
    await turnStore.close();
  });

  const createOn = (target: FastifyInstance, body: ReturnType<typeof newOrderBody>) =>
    Promise.resolve(target.inject({ method: 'POST', url: '/orders', headers: auth(), payload: body }));

  it('past the bound, a command is answered 503 store-queue with Retry-After and nothing appended; the next turn takes more', async () => {
    for (let warm = 0; warm < 2; warm++) expect((await createOn(turnApp, newOrderBody())).statusCode).toBe(201);
    const bodies = Array.from({ length: 30 }, () => newOrderBody());
    const answers = await Promise.all(bodies.map((body) => createOn(turnApp, body)));
    const served = answers.filter((answer) => answer.statusCode === 201);
    const refused = answers.filter((answer) => answer.statusCode === 503);
    expect(served.length + refused.length, answers.map((answer) => answer.body).join('\n')).toBe(30);
    // The thirty reach their appends in a few turns (inject spreads them a little): three a turn go, the rest are refused.
    expect(served.length).toBeGreaterThanOrEqual(3);
    expect(refused.length).toBeGreaterThan(0);
    for (const answer of refused) {
      expect(answer.headers['retry-after']).toMatch(/^\d+$/);
      expect(expectProblem(answer)).toEqual(expect.objectContaining({ code: 'SERVICE_OVERLOADED', reason: 'store-queue' }));
      expect(expectProblem(answer).detail).toMatch(/turn of the event loop/);
    }
    for (const [index, answer] of answers.entries()) {
      expect(await storedTypes(turnStore.client, bodies[index]!.orderId)).toEqual(answer.statusCode === 201 ? ['order.created'] : []);
    }
    // A refused command goes through when retried in a later turn.
    const retried = bodies[answers.findIndex((answer) => answer.statusCode === 503)]!;
    expect((await createOn(turnApp, retried)).statusCode).toBe(201);
  });
});
