// The whole HTTP surface (commands and query routes) on a real embedded store, and the checks
// every hardening test makes: the answer is problem+json, and nothing reached $all.
import { BACKWARDS, END, type EventStoreDBClient } from '@eventstore/db-client';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { build, type AppDeps } from '../../../src/api/app.js';
import { requireApiKey } from '../../../src/api/plugins/authentication.js';
import { queriesRoutes } from '../../../src/api/queries-plugin.js';
import { OrderStateCache } from '../../../src/eventstore/order-state-cache.js';
import { type ReadModelStore } from '../../../src/readmodels/read-model-store.js';
import { TENANT_A, TENANT_B } from '../../helpers/app.js';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { openTestReadModels } from '../../helpers/read-models.js';

export interface HardenedApp {
  app: FastifyInstance;
  store: TestEventStore;
  readModels: ReadModelStore;
  close(): Promise<void>;
}

export const API_KEYS = new Map([
  [TENANT_A.key, TENANT_A.tenantId],
  [TENANT_B.key, TENANT_B.tenantId],
]);

export async function startHardenedApp(options: Partial<Omit<AppDeps, 'client' | 'apiKeys'>> = {}): Promise<HardenedApp> {
  const store = await startTestEventStore();
  const readModels = await openTestReadModels();
  // Event-loop-delay shedding only where a test asks for it (overload.int): with test files in
  // parallel on 2 cores, a starved test process would otherwise answer 503 to what a test checks.
  const overload = { maxEventLoopDelayMs: 0, ...options.overload };
  const app = await build({ client: store.client, apiKeys: API_KEYS, cache: new OrderStateCache(), readModels, ...options, overload } as AppDeps);
  // The query routes are wired into build() by their own change; until then, mount them here.
  if (!app.hasRoute({ method: 'GET', url: '/customers/:customerId/orders' })) {
    await app.register(async (scope) => {
      requireApiKey(scope, API_KEYS);
      await queriesRoutes(scope, { readModels, client: store.client });
    });
  }
  await app.ready();
  return {
    app,
    store,
    readModels,
    async close() {
      await app.close();
      await readModels.close();
      await store.close();
    },
  };
}

/** Commit position of the last event in $all (-1 when empty): moves with any append anywhere. */
export async function allHead(client: EventStoreDBClient): Promise<bigint> {
  let head = -1n;
  // Read to the end (one event) rather than break out: an abandoned read keeps dispose() waiting.
  for await (const resolved of client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1 })) head = resolved.event?.position?.commit ?? head;
  return head;
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  code: string;
  detail?: string;
}

/** A client error answered as RFC 9457 problem details whose status matches the response's. */
export function expectClientProblem(response: LightMyRequestResponse, context: string): ProblemBody {
  const where = `${context} -> ${response.statusCode} ${response.body.slice(0, 300)}`;
  expect(response.statusCode, where).toBeGreaterThanOrEqual(400);
  expect(response.statusCode, where).toBeLessThan(500);
  return expectProblem(response, where);
}

export function expectProblem(response: LightMyRequestResponse, where = ''): ProblemBody {
  expect(response.headers['content-type'], where).toMatch(/^application\/problem\+json/);
  const body = response.json<ProblemBody>();
  expect(body, where).toEqual(
    expect.objectContaining({ type: expect.stringMatching(/^urn:order-store:problem:/), title: expect.any(String), status: response.statusCode, code: expect.any(String) }),
  );
  return body;
}
