import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isOrderViewSchema, orderView, orderViewJson, type OrderView } from '../../../src/api/schemas.js';

const view: OrderView = {
  orderId: 'o-1',
  tenantId: 't-1',
  status: 'PAID',
  currency: 'EUR',
  items: [{ sku: 'SKU-1', quantity: 2, unitPrice: 1250 }, { sku: 'SKU-2', name: 'Mug', quantity: 1, unitPrice: 900 }],
  total: 3400,
  paidAmount: 3400,
  refundedAmount: 0,
  customer: { id: 'c-1', phone: '+14155550100' },
  revision: 3,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:01:00.000Z',
};

describe('an order view as JSON', () => {
  it('is what the zod response schema would send: the same fields, in the same order', () => {
    expect(orderViewJson(view)).toBe(JSON.stringify(z.encode(orderView, view)));
  });

  it('leaves out what the schema does not list, in the order, its lines and its customer', () => {
    const withExtras = {
      ...view,
      internal: 'secret',
      items: view.items.map((item) => ({ ...item, cost: 1 })),
      customer: { ...view.customer, email: 'ada@example.com' },
    } as OrderView;
    const sent = JSON.parse(orderViewJson(withExtras)) as Record<string, unknown>;
    expect(sent).toEqual(JSON.parse(JSON.stringify(view)));
    expect(JSON.stringify(sent)).not.toMatch(/secret|cost|ada@example/);
  });

  it('is used for the order view and its described copies only', () => {
    expect(isOrderViewSchema(orderView)).toBe(true);
    expect(isOrderViewSchema(orderView.describe('Created'))).toBe(true);
    expect(isOrderViewSchema(z.object({ orderId: z.string() }))).toBe(false);
    expect(isOrderViewSchema(undefined)).toBe(false);
  });
});
