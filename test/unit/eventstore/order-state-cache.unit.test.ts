// The cache of recently written orders is bounded by what it holds, not only by how many: large
// orders (200 lines each) cannot pin hundreds of megabytes after a burst of them.
import { describe, expect, it } from 'vitest';
import { OrderStateCache } from '../../../src/eventstore/order-state-cache.js';
import type { LoadedOrder } from '../../../src/eventstore/order-stream.js';

function order(orderId: string, lines: number): LoadedOrder {
  const items = Array.from({ length: lines }, (_, index) => ({ sku: `SKU-${index}`, quantity: 1, unitPrice: 100 }));
  return {
    revision: 0n,
    state: {
      exists: true, orderId, tenantId: 't', status: 'PENDING', customer: {}, currency: 'EUR', items, total: lines * 100,
      paidAmount: 0, refundedAmount: 0, payments: {}, createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z',
    },
  } as LoadedOrder;
}

describe('order state cache', () => {
  it('evicts the least recently used orders once the lines they hold pass the bound', () => {
    const cache = new OrderStateCache(10_000, 1_000);
    for (let index = 0; index < 10; index++) cache.set(`large-${index}`, order(`large-${index}`, 200));
    // 10 x 201 weighs over 1,000: only the newest four fit.
    expect([...Array(10).keys()].filter((index) => cache.get(`large-${index}`))).toEqual([6, 7, 8, 9]);
    for (let index = 0; index < 500; index++) cache.set(`small-${index}`, order(`small-${index}`, 1));
    expect(cache.get('small-499')).toBeDefined();
    expect(cache.get('large-9')).toBeUndefined();
  });

  it('still keeps up to its count of small orders, and an order heavier than the bound on its own', () => {
    const cache = new OrderStateCache(3, 1_000);
    for (const id of ['a', 'b', 'c', 'd']) cache.set(id, order(id, 1));
    expect(['a', 'b', 'c', 'd'].map((id) => cache.get(id) !== undefined)).toEqual([false, true, true, true]);
    cache.set('huge', order('huge', 5_000));
    expect(cache.get('huge')).toBeDefined();
    expect(cache.get('d')).toBeUndefined();
  });
});
