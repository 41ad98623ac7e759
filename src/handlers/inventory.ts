// Inventory: reserves stock when an order is created and releases it when the order is
// cancelled or returned. An order for more than is in stock is still accepted; the shortage is
// recorded. Reservations commute with releases, so out-of-order delivery cannot leak stock.
import { defineHandler } from '../subscriptions/handler.js';
import { INVENTORY_SCHEMA, releaseStock, reserveStock } from './inventory-store.js';

export default defineHandler({
  name: 'inventory',
  handles: ['order.created', 'order.cancelled', 'order.returned'],
  schema: INVENTORY_SCHEMA,
  handle(event, context) {
    const { tenantId, orderId, occurredAt } = event.data;
    switch (event.type) {
      case 'order.created':
        context.transaction((tx) => reserveStock(tx, tenantId, orderId, event.data.items, occurredAt));
        context.logger.info({ orderId, lines: event.data.items.length }, 'stock reserved');
        return;
      case 'order.cancelled':
      case 'order.returned':
        context.transaction((tx) => releaseStock(tx, tenantId, orderId, occurredAt));
        context.logger.info({ orderId }, 'stock released');
        return;
      default:
        return;
    }
  },
});
