// Order histories as the projections receive them, built with the domain's event factory.
import { randomUUID } from 'node:crypto';
import type { RecordedEvent } from '@eventstore/db-client';
import { orderEventFactory, type OrderEvent } from '../../../src/orders/index.js';
import type { EventEnvelope } from '../../../src/readmodels/event-envelope.js';

export function history(orderId: string, options: { tenantId?: string; customerId?: string; at?: string } = {}) {
  const tenantId = options.tenantId ?? 'tenant-a';
  const customerId = options.customerId ?? 'cust-1';
  const at = options.at ?? '2026-11-20T09:30:00.000Z';
  const factory = orderEventFactory(
    { orderId, tenantId, customerId },
    { commandId: 'cmd', tenantId, actor: 'test', at, correlationId: 'corr' },
  );
  let revision = 0;
  const wrap = (event: OrderEvent): EventEnvelope =>
    ({ ...event, id: randomUUID(), streamId: `order-${orderId}`, revision: revision++, position: undefined, recordedAt: new Date(at), metadata: undefined, correlationId: 'corr' }) as EventEnvelope;
  return { factory, wrap, tenantId, customerId };
}

/** created (2 x 1500 EUR) -> paid -> shipped, as the decider emits them. */
export function paidAndShipped(orderId: string, options: Parameters<typeof history>[1] = {}): EventEnvelope[] {
  const { factory, wrap, customerId } = history(orderId, options);
  return [
    factory.created({ customer: { id: customerId, name: 'Ada', phone: '+14155550100' }, currency: 'EUR', items: [{ sku: 'MUG', quantity: 2, unitPrice: 1500 }], total: 3000 }),
    factory.paymentProcessed({ paymentId: 'p1', amount: 3000, currency: 'EUR', method: 'card', paidAmount: 3000 }),
    factory.paid({ total: 3000, paidAmount: 3000, currency: 'EUR', paymentId: 'p1' }),
    factory.statusChanged('PENDING', 'PAID', 'payment received'),
    factory.shipped({ carrier: 'DHL' }),
    factory.statusChanged('PAID', 'SHIPPED', 'shipped'),
  ].map(wrap);
}

/** created (1000 EUR) -> cancelled, nothing paid. */
export function cancelledUnpaid(orderId: string, options: Parameters<typeof history>[1] = {}): EventEnvelope[] {
  const { factory, wrap, customerId } = history(orderId, options);
  return [
    factory.created({ customer: { id: customerId }, currency: 'EUR', items: [{ sku: 'PEN', quantity: 1, unitPrice: 1000 }], total: 1000 }),
    factory.cancelled({ paidAmount: 0, reason: 'changed mind' }),
    factory.statusChanged('PENDING', 'CANCELLED', 'changed mind'),
  ].map(wrap);
}

/** The envelope as the client hands it over (a fresh object per call, as each group gets its own copy). */
export function asRecorded(envelope: EventEnvelope, streamId = envelope.streamId): RecordedEvent {
  return {
    streamId,
    id: envelope.id,
    revision: BigInt(envelope.revision),
    type: envelope.type,
    data: envelope.data,
    metadata: {},
    isJson: true,
    created: envelope.recordedAt,
    position: { commit: BigInt(envelope.revision), prepare: BigInt(envelope.revision) },
  } as unknown as RecordedEvent;
}
