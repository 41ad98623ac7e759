// The API built against a real embedded event store, for app.inject() tests.
import type { FastifyInstance } from 'fastify';
import { build } from '../../src/api/app.js';
import { OrderStateCache } from '../../src/eventstore/order-state-cache.js';
import { startTestEventStore, type TestEventStore } from './event-store.js';

export const TENANT_A = { key: 'test-key-tenant-a-0123456789', tenantId: 'tenant-a' };
export const TENANT_B = { key: 'test-key-tenant-b-0123456789', tenantId: 'tenant-b' };

export interface TestApp {
  app: FastifyInstance;
  store: TestEventStore;
  close(): Promise<void>;
}

export async function startTestApp(options: { bodyLimitBytes?: number } = {}): Promise<TestApp> {
  const store = await startTestEventStore();
  const app = await build({
    client: store.client,
    apiKeys: new Map([
      [TENANT_A.key, TENANT_A.tenantId],
      [TENANT_B.key, TENANT_B.tenantId],
    ]),
    cache: new OrderStateCache(),
    // No event-loop-delay shedding: with test files in parallel on 2 cores, a starved test process
    // would answer 503 to what a test checks (the overload tests set their own limits).
    overload: { maxEventLoopDelayMs: 0 },
    ...options,
  });
  await app.ready();
  return {
    app,
    store,
    async close() {
      await app.close();
      await store.close();
    },
  };
}

export const auth = (tenant: { key: string } = TENANT_A) => ({ authorization: `Bearer ${tenant.key}` });
