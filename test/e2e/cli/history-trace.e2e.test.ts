// `orders history` and `orders trace` against a real embedded store, run as the operator runs them.
import { randomUUID } from 'node:crypto';
import { jsonEvent } from '@eventstore/db-client';
import orderSummary from '../../../projections/order-summary.js';
import { onPostgres, openTestReadModelsIn, readModelEnv } from '../../helpers/read-models.js';
import { makeDataDir } from './live-projections.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { runCli } from '../../helpers/cli.js';
import { createOrder, pay, seedOrder, ship, type SeededCommand } from './seed-orders.js';

let store: TestEventStore;
let env: Record<string, string>;
let orderCommands: SeededCommand[];
let reaction: SeededCommand[];
/** Tests that read the event store only, the same whichever the read-model backend: run once, on SQLite. */
const storeOnly = onPostgres ? it.skip : it;

beforeAll(async () => {
  store = await startTestEventStore();
  env = { ESDB_CONNECTION_STRING: store.connectionString };
  orderCommands = await seedOrder(store.client, 'ord-1', [createOrder(2500), pay(1000, 'pay-1'), pay(1500, 'pay-2'), ship()], {
    correlationId: 'corr-checkout',
  });
  // A reaction to the order's creation, on another order, in the same conversation.
  const created = orderCommands[0]!.eventIds[0]!;
  reaction = await seedOrder(store.client, 'ord-2', [createOrder(900, 'gift')], { correlationId: 'corr-checkout', causationId: created });
  await seedOrder(store.client, 'ord-other', [createOrder(100)], { correlationId: 'corr-unrelated' });
  // What a handler emits in reaction to the shipment: another stream, caused by that event.
  const shipped = orderCommands[3]!.eventIds[0]!;
  await store.client.appendToStream(
    'notification-ord-1',
    jsonEvent({
      type: 'notification.requested',
      data: { orderId: 'ord-1', kind: 'status_update', message: 'Your order ord-1 is on its way.' },
      metadata: { $correlationId: 'corr-checkout', $causationId: shipped },
    }),
  );
});

afterAll(async () => {
  await store?.close();
});

describe('orders history', () => {
  storeOnly('lists every appended event with its correlation, causation and the state after it', async () => {
    const result = await runCli(['history', 'ord-1', '--json'], { env });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const entries = JSON.parse(result.stdout) as Array<Record<string, unknown> & { state: Record<string, unknown> }>;
    expect(entries.map((entry) => entry.type)).toEqual([
      'order.created',
      'payment.processed',
      'payment.processed',
      'order.paid',
      'order.status_changed',
      'order.shipped',
      'order.status_changed',
    ]);
    expect(entries.map((entry) => entry.revision)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    const expectedIds = orderCommands.flatMap((command) => command.eventIds);
    expect(entries.map((entry) => entry.eventId)).toEqual(expectedIds);
    expect(entries.every((entry) => entry.correlationId === 'corr-checkout')).toBe(true);
    expect(entries[1]!.causationId).toBe(orderCommands[1]!.commandId);
    expect(entries.map((entry) => [entry.state.status, entry.state.paidAmount])).toEqual([
      ['PENDING', 0],
      ['PENDING', 1000],
      ['PENDING', 2500],
      ['PAID', 2500],
      ['PAID', 2500],
      ['SHIPPED', 2500],
      ['SHIPPED', 2500],
    ]);
  });

  storeOnly('prints a readable line per event with its key data and the resulting status', async () => {
    const result = await runCli(['history', 'ord-1'], { env });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('order ord-1 (tenant tenant-a): 7 events');
    expect(result.stdout).toContain('payment pay-2: 15.00 EUR by card, paid so far 25.00 EUR');
    expect(result.stdout).toContain('PENDING -> PAID (payment received)');
    expect(result.stdout).toContain(`correlation corr-checkout  causation ${orderCommands[3]!.commandId}`);
    expect(result.stdout.trimEnd().split('\n').at(-1)).toBe('    => SHIPPED, total 25.00 EUR, paid 25.00 EUR, shipped with DHL TRACK-1');
  });

  storeOnly('fails in one line with a non-zero exit for an order that does not exist', async () => {
    const result = await runCli(['history', 'no-such-order'], { env });
    expect(result.code).not.toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toEqual(["orders: order 'no-such-order' not found (no stream order-no-such-order; give --tenant to look in its tenant's stream)"]);
  });

  it("finds a tenant's order in order-<tenantId>-<orderId>: by --tenant, or by the tenant the read model knows, and asks for --tenant when two tenants use the id", async () => {
    const shared = randomUUID();
    await seedOrder(store.client, shared, [createOrder(1100)], { tenantId: 'tenant-a', tenantScoped: true });
    await seedOrder(store.client, shared, [createOrder(2200), pay(2200)], { tenantId: 'tenant-b', tenantScoped: true });
    const ofB = await runCli(['history', shared.toUpperCase(), '--tenant', 'tenant-b'], { env });
    expect(ofB.code).toBe(0);
    expect(ofB.stdout).toContain(`order ${shared} (tenant tenant-b): 4 events`);

    const data = makeDataDir();
    try {
      const db = await openTestReadModelsIn(data.dataDir);
      await db.migrate(orderSummary.schema);
      const insert = (tenant: string) =>
        db.run("INSERT INTO order_summary (tenant_id, order_id, status, currency, total, item_count, created_at, updated_at, revision) VALUES (?, ?, 'PENDING', 'EUR', 1, 1, 'x', 'x', 0)", tenant, shared);
      await insert('tenant-a');
      const withModel = { ...env, DATA_DIR: data.dataDir, ...(await readModelEnv(data.dataDir)) };
      const ofA = await runCli(['history', shared], { env: withModel });
      expect(ofA.code).toBe(0);
      expect(ofA.stdout).toContain(`order ${shared} (tenant tenant-a): 1 event`);
      await insert('tenant-b');
      await db.close();
      const ambiguous = await runCli(['history', shared], { env: withModel });
      expect(ambiguous.code).toBe(2);
      expect(ambiguous.stderr.trim()).toBe(`orders: order id '${shared}' is used by several tenants (streams order-tenant-a-${shared}, order-tenant-b-${shared}): give --tenant`);
      expect((await runCli(['history', `order-tenant-b-${shared}`], { env })).stdout).toContain('(tenant tenant-b)');
    } finally {
      data.remove();
    }
  });
});

describe('orders trace', () => {
  storeOnly('draws every event of the correlation, across streams, under the command or event that caused it', async () => {
    const result = await runCli(['trace', 'corr-checkout'], { env });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('correlation corr-checkout: 9 events in 3 streams');
    const skeleton = lines.slice(1).map((line) => line.replace(/(order\.[a-z_]+|payment\.processed|notification\.requested)\s.*$/, '$1').replace(/command \S+.*$/, 'command'));
    expect(skeleton).toEqual([
      'command',
      '└─ order.created',
      '   └─ command',
      '      └─ order.created',
      'command',
      '└─ payment.processed',
      'command',
      '├─ payment.processed',
      '├─ order.paid',
      '└─ order.status_changed',
      'command',
      '├─ order.shipped',
      '│  └─ notification.requested',
      '└─ order.status_changed',
    ]);
    expect(lines.find((line) => line.includes('notification.requested'))).toContain('notification-ord-1@0');
    expect(result.stdout).toContain('"message":"Your order ord-1 is on its way."');
    expect(lines[1]).toBe(`command ${orderCommands[0]!.commandId}`);
    expect(lines[3]).toBe(`   └─ command ${reaction[0]!.commandId} (caused by ${orderCommands[0]!.eventIds[0]})`);
    expect(lines[4]).toContain('order-ord-2@0');
    expect(result.stdout).not.toContain('ord-other');
  });

  storeOnly('fails in one line for a correlation id no event carries, and for an unreachable store', async () => {
    const unknown = await runCli(['trace', 'corr-nobody'], { env });
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr.trim()).toBe("orders: no events carry correlation id 'corr-nobody' (the API keeps a tenant's ids as <tenantId>:<id>: give --tenant)");

    const unreachable = await runCli(['trace', 'corr-checkout'], { env: { ESDB_CONNECTION_STRING: 'esdb://127.0.0.1:1?tls=false' } });
    expect(unreachable.code).not.toBe(0);
    expect(unreachable.stderr.trim().split('\n')).toHaveLength(1);
    expect(unreachable.stderr).toContain('cannot reach the event store at esdb://127.0.0.1:1?tls=false');
  });

  storeOnly("finds a request's trace by the id the client sent and its tenant (--tenant), as the API stores it: <tenantId>:<id>", async () => {
    await seedOrder(store.client, 'ord-scoped', [createOrder(700)], { correlationId: 'tenant-a:chat-7' });
    const byTenant = await runCli(['trace', 'chat-7', '--tenant', 'tenant-a'], { env });
    expect(byTenant.stderr).toBe('');
    expect(byTenant.stdout.split('\n')[0]).toBe('correlation tenant-a:chat-7: 1 event in 1 stream');
    expect((await runCli(['trace', 'tenant-a:chat-7'], { env })).stdout).toContain('order-ord-scoped@0');
    const otherTenant = await runCli(['trace', 'chat-7', '--tenant', 'tenant-b'], { env });
    expect(otherTenant.code).not.toBe(0);
    expect(otherTenant.stderr.trim()).toBe("orders: no events carry correlation id 'tenant-b:chat-7'");
    const bad = await runCli(['trace', 'chat-7', '--tenant', 'no such tenant'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe("orders: 'no such tenant' is not a tenant id");
  });
});
