// The inventory projection: stock per SKU from the tenant's counts and what its orders did.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ReadModelStore } from '../../../src/readmodels/read-model-store.js';
import { applyToProjection, resetProjection } from '../../../src/readmodels/apply-projection.js';
import type { EventEnvelope, StoreEventEnvelope } from '../../../src/readmodels/event-envelope.js';
import inventory, { getStockLevel, readStockLevel } from '../../../projections/inventory.js';
import { InvalidCursorError } from '../../../src/readmodels/cursor.js';
import { onPostgres, openTestReadModels } from '../../helpers/read-models.js';
import { History, TENANT, interleave } from './decided-history.js';

const SKUS = ['LAMP', 'MUG', 'PEN'] as const;
type Sku = (typeof SKUS)[number];

async function project(events: readonly StoreEventEnvelope[]): Promise<ReadModelStore> {
  const db = await openTestReadModels();
  await resetProjection(db, inventory);
  // The runner hands stock events over as it does order events (typed as the order envelope).
  for (const event of events) await applyToProjection(db, inventory, event, event as EventEnvelope);
  return db;
}

describe('the inventory projection', () => {
  it('reserves for open orders, takes shipped items out of stock, releases cancelled ones and restocks returns', async () => {
    const h = new History();
    h.count('LAMP', 10);
    const items = (quantity: number) => [{ sku: 'LAMP', quantity, unitPrice: 100 }];
    h.run('o-1', { type: 'CreateOrder', customer: {}, currency: 'EUR', items: items(3) } as never);
    h.run('o-2', { type: 'CreateOrder', customer: {}, currency: 'EUR', items: items(2) } as never);
    h.run('o-3', { type: 'CreateOrder', customer: {}, currency: 'EUR', items: items(4) } as never);
    expect(await getStockLevel(await project(h.events), TENANT, 'LAMP')).toMatchObject({ onHand: 10, reserved: 9, available: 1, shortage: 0 });

    h.run('o-1', { type: 'RecordPayment', paymentId: 'p-1', amount: 300, method: 'card' } as never);
    h.run('o-1', { type: 'ShipOrder' } as never);
    h.run('o-1', { type: 'DeliverOrder' } as never);
    h.run('o-2', { type: 'CancelOrder' } as never);
    expect(await getStockLevel(await project(h.events), TENANT, 'LAMP')).toMatchObject({ onHand: 7, reserved: 4, available: 3, shortage: 0 });

    h.run('o-1', { type: 'ReturnOrder' } as never);
    h.run('o-1', { type: 'RefundOrder' } as never);
    expect(await getStockLevel(await project(h.events), TENANT, 'LAMP')).toMatchObject({ onHand: 10, reserved: 4, available: 6 });
  });

  it('releases the stock of a paid order refunded before it shipped', async () => {
    const h = new History();
    h.count('MUG', 5);
    h.run('o-1', { type: 'CreateOrder', customer: {}, currency: 'EUR', items: [{ sku: 'MUG', quantity: 2, unitPrice: 100 }] } as never);
    h.run('o-1', { type: 'RecordPayment', paymentId: 'p-1', amount: 200, method: 'card' } as never);
    expect((await getStockLevel(await project(h.events), TENANT, 'MUG')).reserved).toBe(2);
    h.run('o-1', { type: 'RefundOrder' } as never);
    expect(await getStockLevel(await project(h.events), TENANT, 'MUG')).toMatchObject({ onHand: 5, reserved: 0, available: 5 });
  });

  it('after 150 orders shipped and delivered holds nothing reserved and no short orders (issue 15)', async () => {
    const h = new History();
    h.count('SKU-1', 300);
    for (let n = 0; n < 150; n++) {
      const id = `o-${n}`;
      h.run(id, { type: 'CreateOrder', customer: {}, currency: 'EUR', items: [{ sku: 'SKU-1', quantity: 2, unitPrice: 100 }] } as never);
      h.run(id, { type: 'RecordPayment', paymentId: `p-${n}`, amount: 200, method: 'card' } as never);
      h.run(id, { type: 'ShipOrder' } as never);
      h.run(id, { type: 'DeliverOrder' } as never);
    }
    expect(await getStockLevel(await project(h.events), TENANT, 'SKU-1')).toEqual({ sku: 'SKU-1', onHand: 0, reserved: 0, available: 0, shortage: 0, shortOrders: [] });
  });

  it('counts from the latest stock count: shipments before it are in the count, later ones come off it', async () => {
    const h = new History();
    h.count('PEN', 10);
    h.run('o-1', { type: 'CreateOrder', customer: {}, currency: 'EUR', items: [{ sku: 'PEN', quantity: 3, unitPrice: 100 }] } as never);
    h.run('o-1', { type: 'RecordPayment', paymentId: 'p-1', amount: 300, method: 'card' } as never);
    h.run('o-1', { type: 'ShipOrder' } as never);
    h.count('PEN', 20);
    h.run('o-2', { type: 'CreateOrder', customer: {}, currency: 'EUR', items: [{ sku: 'PEN', quantity: 5, unitPrice: 100 }] } as never);
    h.run('o-2', { type: 'RecordPayment', paymentId: 'p-2', amount: 500, method: 'card' } as never);
    h.run('o-2', { type: 'ShipOrder' } as never);
    h.run('o-1', { type: 'ReturnOrder' } as never);
    // 20 counted after o-1 shipped; o-2 shipped 5 after the count; o-1's 3 came back after it.
    const expected = { onHand: 18, reserved: 0 };
    expect(await getStockLevel(await project(h.events), TENANT, 'PEN')).toMatchObject(expected);
    // Whatever order the streams are applied in.
    expect(await getStockLevel(await project(interleave(h.events, [1])), TENANT, 'PEN')).toMatchObject(expected);
    expect(await getStockLevel(await project(interleave(h.events, [3, 1, 4, 1, 5, 9, 2, 6])), TENANT, 'PEN')).toMatchObject(expected);
  });

  it('lists short orders oldest first, each short by what the stock on hand leaves it, one page at a time', async () => {
    const h = new History();
    h.count('LAMP', 5);
    for (const [id, quantity] of [['o-1', 3], ['o-2', 4], ['o-3', 2], ['o-4', 1]] as const) {
      h.run(id, { type: 'CreateOrder', customer: {}, currency: 'EUR', items: [{ sku: 'LAMP', quantity, unitPrice: 100 }] } as never);
    }
    const db = await project(h.events);
    const first = await getStockLevel(db, TENANT, 'LAMP', { limit: 2 });
    expect(first).toMatchObject({ onHand: 5, reserved: 10, available: 0, shortage: 5 });
    expect(first.shortOrders).toEqual([
      { orderId: 'o-2', quantity: 4, shortage: 2 },
      { orderId: 'o-3', quantity: 2, shortage: 2 },
    ]);
    const second = await getStockLevel(db, TENANT, 'LAMP', { limit: 2, cursor: first.nextCursor! });
    expect(second.shortOrders).toEqual([{ orderId: 'o-4', quantity: 1, shortage: 1 }]);
    expect(second.nextCursor).toBeUndefined();
  });

  it('answers the API as getStockLevel does, from one statement when nothing is short and from one snapshot when something is', async () => {
    const h = new History();
    h.count('LAMP', 5);
    h.count('MUG', 9);
    h.count('LAMP', 50, 'tenant-b');
    for (const [id, sku, quantity] of [['o-1', 'LAMP', 3], ['o-2', 'LAMP', 4], ['o-3', 'MUG', 2], ['o-4', 'LAMP', 1]] as const) {
      h.run(id, { type: 'CreateOrder', customer: {}, currency: 'EUR', items: [{ sku, quantity, unitPrice: 100 }] } as never);
    }
    h.run('o-3', { type: 'CancelOrder' } as never);
    const db = await project(h.events);
    for (const [tenantId, sku, page] of [[TENANT, 'LAMP', { limit: 2 }], [TENANT, 'LAMP', {}], [TENANT, 'MUG', {}], ['tenant-b', 'LAMP', {}], [TENANT, 'NONE', {}]] as const) {
      expect(await readStockLevel(db, tenantId, sku, page)).toEqual(await getStockLevel(db, tenantId, sku, page));
    }
    const short = await readStockLevel(db, TENANT, 'LAMP', { limit: 2 });
    expect(short).toMatchObject({ onHand: 5, reserved: 8, shortage: 3, shortOrders: [{ orderId: 'o-2', quantity: 4, shortage: 2 }, { orderId: 'o-4', quantity: 1, shortage: 1 }] });
    expect(await readStockLevel(db, TENANT, 'MUG')).toEqual({ sku: 'MUG', onHand: 9, reserved: 0, available: 9, shortage: 0, shortOrders: [] });
    // A cursor this service did not issue is refused whether or not there are short orders to page through.
    await expect(readStockLevel(db, TENANT, 'MUG', { cursor: 'nope' })).rejects.toBeInstanceOf(InvalidCursorError);
    await expect(readStockLevel(db, TENANT, 'LAMP', { cursor: 'nope' })).rejects.toBeInstanceOf(InvalidCursorError);
  });

  it("keeps each tenant's stock and orders apart, for the same SKU and the same order id", async () => {
    const h = new History();
    h.count('LAMP', 5, 'tenant-a');
    h.count('LAMP', 50, 'tenant-b');
    h.run('o-1', { type: 'CreateOrder', customer: {}, currency: 'EUR', items: [{ sku: 'LAMP', quantity: 3, unitPrice: 100 }] } as never, 'tenant-a');
    h.run('o-1', { type: 'CreateOrder', customer: {}, currency: 'EUR', items: [{ sku: 'LAMP', quantity: 7, unitPrice: 100 }] } as never, 'tenant-b');
    h.run('o-1', { type: 'CancelOrder' } as never, 'tenant-b');
    const db = await project(h.events);
    expect(await getStockLevel(db, 'tenant-a', 'LAMP')).toMatchObject({ onHand: 5, reserved: 3 });
    expect(await getStockLevel(db, 'tenant-b', 'LAMP')).toMatchObject({ onHand: 50, reserved: 0 });
  });

  it('answers zeros for a SKU nobody counted or ordered', async () => {
    expect(await getStockLevel(await project([]), TENANT, 'NONE')).toEqual({ sku: 'NONE', onHand: 0, reserved: 0, available: 0, shortage: 0, shortOrders: [] });
  });
});

const step = fc.oneof(
  fc.record({
    type: fc.constant('CreateOrder' as const),
    lines: fc.array(fc.record({ sku: fc.constantFrom(...SKUS), quantity: fc.integer({ min: 1, max: 5 }) }), { minLength: 1, maxLength: 3 }),
  }),
  fc.record({
    type: fc.constantFrom('RecordPayment' as const, 'ShipOrder' as const, 'DeliverOrder' as const, 'CancelOrder' as const, 'ReturnOrder' as const, 'RefundOrder' as const),
    order: fc.nat(),
  }),
);

describe('the inventory read equals a direct computation from the orders final states', () => {
  it('for any sequence of lifecycle commands over a few SKUs, applied in any interleaving of streams', async () => {
    await fc.assert(
      fc.asyncProperty(fc.record(Object.fromEntries(SKUS.map((sku) => [sku, fc.integer({ min: 0, max: 20 })])) as Record<Sku, fc.Arbitrary<number>>), fc.array(step, { maxLength: 60 }), fc.array(fc.nat(), { minLength: 1, maxLength: 20 }), async (counts, steps, picks) => {
        const h = new History();
        for (const sku of SKUS) h.count(sku, counts[sku]);
        let payments = 0;
        for (const s of steps) {
          if (s.type === 'CreateOrder') {
            h.run(`o-${h.created.length}`, { type: 'CreateOrder', customer: {}, currency: 'EUR', items: s.lines.map((line) => ({ ...line, unitPrice: 100 })) } as never);
            continue;
          }
          if (h.created.length === 0) continue;
          const orderId = h.created[s.order % h.created.length]!;
          const order = h.orders.get(`${TENANT}/${orderId}`)!.state;
          if (s.type === 'RecordPayment') {
            if (order.exists) h.run(orderId, { type: 'RecordPayment', paymentId: `p-${++payments}`, amount: order.total - order.paidAmount, method: 'card' } as never);
          } else {
            h.run(orderId, { type: s.type } as never);
          }
        }

        const db = await project(interleave(h.events, picks));
        // Directly from each order's final state (and whether it went through SHIPPED / RETURNED).
        const opened = h.created.map((id) => h.orders.get(`${TENANT}/${id}`)!);
        for (const sku of SKUS) {
          const quantityOf = (order: (typeof opened)[number]) =>
            order.state.exists ? order.state.items.filter((item) => item.sku === sku).reduce((sum, item) => sum + item.quantity, 0) : 0;
          const open = opened.filter((order) => order.state.exists && (order.state.status === 'PENDING' || order.state.status === 'PAID'));
          const shipped = opened.filter((order) => order.statuses.includes('SHIPPED'));
          const returned = opened.filter((order) => order.statuses.includes('RETURNED'));
          const reserved = open.reduce((sum, order) => sum + quantityOf(order), 0);
          const onHand = Math.max(0, counts[sku] - shipped.reduce((sum, o) => sum + quantityOf(o), 0) + returned.reduce((sum, o) => sum + quantityOf(o), 0));
          let held = 0;
          const short: { orderId: string; quantity: number; shortage: number }[] = [];
          for (const order of open) {
            const quantity = quantityOf(order);
            if (quantity === 0) continue;
            held += quantity;
            if (held > onHand) short.push({ orderId: (order.state as { orderId: string }).orderId, quantity, shortage: Math.min(quantity, held - onHand) });
          }
          expect(await getStockLevel(db, TENANT, sku, { limit: 200 })).toEqual({
            sku,
            onHand,
            reserved,
            available: Math.max(0, onHand - reserved),
            shortage: Math.max(0, reserved - onHand),
            shortOrders: short,
          });
        }
        await db.close();
      }),
      // A fresh schema and pool per run on PostgreSQL: fewer runs keep the file within its time.
      { numRuns: onPostgres ? 25 : 150 },
    );
  });
});
