import { describe, it } from 'vitest';
import { decide, evolve, initialOrderState, type CreateOrder, type OrderCommand, type OrderEvent } from '../../../src/orders/index.js';
import { deciderSpec } from '../../helpers/decider-spec.js';
import { context, customer, ev, items, orderId, tenantId, total } from './order-fixtures.js';

const spec = deciderSpec<OrderCommand, OrderEvent, typeof initialOrderState>({ decide, evolve, initialState: initialOrderState });

const create = (overrides: Partial<CreateOrder> = {}): CreateOrder => ({
  type: 'CreateOrder',
  orderId,
  customer,
  currency: 'EUR',
  items,
  context: context({ at: '2026-11-26T10:00:00.000Z' }),
  ...overrides,
});

describe('creating an order', () => {
  it('appends order.created with the items, the computed total and the caller tenant', () => {
    spec.given([]).when(create()).then([ev.created()]);
  });

  it('takes the tenant from the command context, never from elsewhere', () => {
    spec
      .given([])
      .when(create({ context: context({ tenantId: 'tenant-z', at: '2026-11-26T10:00:00.000Z' }) }))
      .then([{ type: 'order.created', data: { ...(ev.created().data as object), tenantId: 'tenant-z' } } as OrderEvent]);
  });

  it('leaves customerId out when the customer has no id', () => {
    spec
      .given([])
      .when(create({ customer: { phone: '+4915112345678' }, items: [{ sku: 'A', quantity: 3, unitPrice: 250 }] }))
      .then([
        {
          type: 'order.created',
          data: {
            schemaVersion: 2,
            orderId,
            tenantId,
            occurredAt: '2026-11-26T10:00:00.000Z',
            customer: { phone: '+4915112345678' },
            currency: 'EUR',
            items: [{ sku: 'A', quantity: 3, unitPrice: 250 }],
            total: 750,
          },
        },
      ]);
  });

  it('creating the same order again with the same content changes nothing', () => {
    spec.given([ev.created()]).when(create({ context: context({ commandId: 'cmd-2' }) })).thenNothing();
  });

  it('the same content with fields in another order is still the same order', () => {
    const reordered = { phone: customer.phone, name: customer.name, id: customer.id };
    spec.given([ev.created()]).when(create({ customer: reordered })).thenNothing();
  });

  it('creating the same id with other items is refused as a conflict', () => {
    spec
      .given([ev.created()])
      .when(create({ items: [{ sku: 'MUG', quantity: 5, unitPrice: 1000 }] }))
      .thenFails('ORDER_ALREADY_EXISTS', { orderId });
  });

  it('creating the same id with another currency is refused as a conflict', () => {
    spec.given([ev.created()]).when(create({ currency: 'USD' })).thenFails('ORDER_ALREADY_EXISTS');
  });

  it("creating an id another tenant already uses is refused, even with the same content", () => {
    spec
      .given([ev.created()])
      .when(create({ context: context({ tenantId: 'tenant-b' }) }))
      .thenFails('ORDER_ALREADY_EXISTS');
  });

  it('the total is the sum of quantity times unit price', () => {
    spec.given([]).when(create()).then([{ ...ev.created(), data: { ...(ev.created().data as object), total } } as OrderEvent]);
  });
});
