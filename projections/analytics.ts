// Analytics: every order event per tenant with its type, time, status change and amount, and
// each order's latest status and value (for GET /analytics/sales). Computed from the events
// alone, so it is a projection: it rides the shared projections group (no delivery of its own),
// `orders replay analytics` rebuilds it, and what it refuses is parked for it alone. Rows are
// keyed by event id and statuses by revision, so applying an event again changes nothing (the
// move from the analytics handler group of an earlier version re-applies the history).
import { defineProjection } from '../src/readmodels/projection.js';
import type { StoreEventEnvelope } from '../src/readmodels/event-envelope.js';
import { ORDER_EVENT_TYPES } from '../src/orders/events.js';
import { ANALYTICS_SCHEMA, recordOrderEvent, type RecordedOrderEvent } from '../src/handlers/analytics-store.js';

function facts(event: StoreEventEnvelope): Partial<RecordedOrderEvent> {
  switch (event.type) {
    case 'order.created':
      return { amount: event.data.total, total: event.data.total, currency: event.data.currency, newStatus: 'PENDING' };
    case 'order.status_changed':
      return { oldStatus: event.data.oldStatus, newStatus: event.data.newStatus };
    case 'payment.processed':
      return { amount: event.data.amount, currency: event.data.currency };
    case 'order.paid':
      return { amount: event.data.paidAmount, currency: event.data.currency };
    case 'order.refunded':
      return { amount: event.data.amount, currency: event.data.currency };
    case 'order.cancelled':
      return { amount: event.data.paidAmount };
    default:
      return {};
  }
}

export default defineProjection({
  name: 'analytics',
  handles: ORDER_EVENT_TYPES,
  schema: ANALYTICS_SCHEMA,
  async apply(event, tx) {
    if (event.type === 'inventory.stock_set') return;
    await recordOrderEvent(tx, {
      tenantId: event.data.tenantId,
      eventId: event.id,
      orderId: event.data.orderId,
      type: event.type,
      occurredAt: event.data.occurredAt,
      revision: event.revision,
      ...facts(event),
    });
  },
  async reset(tx) {
    await tx.run('DELETE FROM analytics_events');
    await tx.run('DELETE FROM analytics_orders');
  },
});
