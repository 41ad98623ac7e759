// Analytics: records every order event per tenant with its type, time, status change and
// amount. Rows are keyed by event id and statuses by revision, so delivery order is irrelevant.
import { ORDER_EVENT_TYPES } from '../orders/events.js';
import type { EventEnvelope } from '../readmodels/event-envelope.js';
import { defineHandler } from '../subscriptions/handler.js';
import { ANALYTICS_SCHEMA, recordOrderEvent, type RecordedOrderEvent } from './analytics-store.js';

function facts(event: EventEnvelope): Partial<RecordedOrderEvent> {
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

export default defineHandler({
  name: 'analytics',
  handles: ORDER_EVENT_TYPES,
  schema: ANALYTICS_SCHEMA,
  async handle(event, context) {
    // Its rows are its last step: they join the runner's commit of the turn.
    context.record((tx) =>
      recordOrderEvent(tx, {
        tenantId: event.data.tenantId,
        eventId: event.id,
        orderId: event.data.orderId,
        type: event.type,
        occurredAt: event.data.occurredAt,
        revision: event.revision,
        ...facts(event),
      }),
    );
  },
});
