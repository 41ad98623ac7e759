import { describe, expect, it } from 'vitest';
import {
  EventSchemaError,
  STORE_EVENT_TYPES,
  eventIdFor,
  orderEventSchemas,
  legacyOrderStreamName,
  normalizeId,
  orderKey,
  orderStreamName,
  orderIdFromStreamName,
  parseOrderEvent,
  parseOrderKey,
  parseOrderStreamName,
  tenantOrderStreamName,
  toNewEvents,
} from '../../../src/orders/index.js';
import { context, ev } from './order-fixtures.js';

describe('the event catalogue', () => {
  it('has a schema for every event type', () => {
    expect(Object.keys(orderEventSchemas).sort()).toEqual([...STORE_EVENT_TYPES].sort());
  });

  it('parses current events unchanged', () => {
    for (const event of [ev.created(), ev.paymentProcessed('p', 1, 1), ev.statusChanged('PENDING', 'PAID', 'x'), ev.refunded(5)]) {
      expect(parseOrderEvent(event.type, event.data)).toEqual(event);
    }
  });

  it('upcasts a v1 order.created, taking the tenant from metadata', () => {
    const v1 = {
      orderId: 'o-1',
      customerId: 'c-1',
      customerName: 'Ada',
      customerPhone: '+14155550100',
      currency: 'EUR',
      items: [{ sku: 'A', quantity: 2, price: 250 }],
      createdAt: '2025-01-01T00:00:00.000Z',
    };
    expect(parseOrderEvent('order.created', v1, { tenantId: 't-1' })).toEqual({
      type: 'order.created',
      data: {
        schemaVersion: 2,
        orderId: 'o-1',
        tenantId: 't-1',
        customerId: 'c-1',
        customer: { id: 'c-1', name: 'Ada', phone: '+14155550100' },
        currency: 'EUR',
        items: [{ sku: 'A', quantity: 2, unitPrice: 250 }],
        total: 500,
        occurredAt: '2025-01-01T00:00:00.000Z',
      },
    });
  });

  it('reads events stored before schema versions existed as version 1', () => {
    const { schemaVersion: _dropped, ...unversioned } = ev.delivered().data as Record<string, unknown>;
    expect(parseOrderEvent('order.delivered', unversioned)).toEqual(ev.delivered());
  });

  it('refuses an unknown event type', () => {
    expect(() => parseOrderEvent('order.teleported', {})).toThrow(EventSchemaError);
  });

  it('refuses data that fails its schema, naming the field', () => {
    const bad = { ...(ev.refunded(5).data as object), amount: -1 };
    expect(() => parseOrderEvent('order.refunded', bad)).toThrow(/amount/);
  });

  it('refuses a v1 order.created whose metadata has no tenant', () => {
    expect(() => parseOrderEvent('order.created', { orderId: 'o', currency: 'EUR', items: [{ sku: 'A', quantity: 1, price: 1 }], createdAt: 'x' })).toThrow(
      /tenantId/,
    );
  });
});

describe('the event factory envelope', () => {
  it('puts correlation, causation, tenant, actor and trace context in the metadata', () => {
    const [stored] = toNewEvents([ev.delivered()], context({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }));
    expect(stored?.metadata).toEqual({
      $correlationId: 'corr-1',
      $causationId: 'cmd-1',
      tenantId: 'tenant-a',
      actor: 'api-key:abcd1234',
      commandId: 'cmd-1',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    });
  });

  it('uses the causing event as causation when a reaction issues the command', () => {
    const [stored] = toNewEvents([ev.delivered()], context({ causationId: 'event-9' }));
    expect(stored?.metadata.$causationId).toBe('event-9');
  });

  it('gives each event of a command a distinct, stable UUID', () => {
    const ids = toNewEvents([ev.shipped(), ev.statusChanged('PAID', 'SHIPPED', 's')], context()).map((event) => event.id);
    expect(new Set(ids).size).toBe(2);
    expect(ids[0]).toBe(eventIdFor('cmd-1', 0));
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('stream names', () => {
  const id = 'b6e2d527-3f0c-4b43-9d59-1c2a3b4c5d6e';

  it("an order lives in its tenant's order-<tenantId>-<orderId>, in the order category", () => {
    expect(tenantOrderStreamName('acme', id)).toBe(`order-acme-${id}`);
    expect(orderStreamName(orderKey('tenant-a', id))).toBe(`order-tenant-a-${id}`);
    expect(parseOrderStreamName(`order-tenant-a-${id}`)).toEqual({ tenantId: 'tenant-a', orderId: id });
    expect(orderIdFromStreamName(`order-my-shop.eu-${id}`)).toBe(id);
    expect(`order-tenant-a-${id}`.split('-')[0]).toBe('order');
  });

  it('still reads the legacy order-<orderId> of stores written before tenant-scoped names', () => {
    expect(legacyOrderStreamName(id)).toBe(`order-${id}`);
    expect(parseOrderStreamName(`order-${id}`)).toEqual({ tenantId: undefined, orderId: id });
  });

  it('is no order stream for anything else', () => {
    expect(parseOrderStreamName('customer-abc')).toBeUndefined();
    expect(parseOrderStreamName('order-store-readiness-probe')).toBeUndefined();
    expect(parseOrderKey('tenant-a-not-a-uuid')).toBeUndefined();
  });

  it('normalises ids at the edge: a UUID in any case is one id, other ids keep their case', () => {
    expect(normalizeId(' B6E2D527-3F0C-4B43-9D59-1C2A3B4C5D6E ')).toBe(id);
    expect(normalizeId('Pay-1')).toBe('Pay-1');
  });
});
