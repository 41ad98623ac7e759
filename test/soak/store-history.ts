// Everything the store holds, read back from $all through the client: the order streams and the
// streams handlers wrote, in commit order.
import { FORWARDS, START, type EventStoreDBClient, type RecordedEvent } from '@eventstore/db-client';
import { NOTIFICATION_STREAM_PREFIX } from '../../src/handlers/notification.js';
import { ORDER_STREAM_CATEGORY, parseOrderKey, parseOrderStreamName } from '../../src/orders/stream-names.js';

export interface StoredEvent {
  id: string;
  type: string;
  streamId: string;
  revision: number;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

export interface StoreHistory {
  /** orderId -> the order's events by revision. */
  orders: Map<string, StoredEvent[]>;
  /** The order streams' events as recorded, in commit order (what a replay reads). */
  orderEventsInCommitOrder: RecordedEvent[];
  /** orderId -> the notification events emitted for it. */
  notifications: Map<string, StoredEvent[]>;
  /** Events in streams that are neither (nor system streams). */
  otherEvents: number;
  totalEvents: number;
}

export async function readStoreHistory(client: EventStoreDBClient): Promise<StoreHistory> {
  const history: StoreHistory = { orders: new Map(), orderEventsInCommitOrder: [], notifications: new Map(), otherEvents: 0, totalEvents: 0 };
  const orderPrefix = `${ORDER_STREAM_CATEGORY}-`;
  for await (const resolved of client.readAll({ fromPosition: START, direction: FORWARDS, resolveLinkTos: false })) {
    const event = resolved.event;
    if (!event || event.streamId.startsWith('$') || event.type.startsWith('$')) continue;
    history.totalEvents++;
    const stored: StoredEvent = {
      id: event.id,
      type: event.type,
      streamId: event.streamId,
      revision: Number(event.revision),
      data: asRecord(event.data),
      metadata: asRecord(event.metadata),
    };
    // Keyed by order id (the soak's ids are UUIDs, never shared by two tenants): order-<tenantId>-<orderId>.
    const order = event.streamId.startsWith(orderPrefix) ? parseOrderStreamName(event.streamId) : undefined;
    if (order) {
      push(history.orders, order.orderId, stored);
      history.orderEventsInCommitOrder.push(event);
    }
    else if (event.streamId.startsWith(NOTIFICATION_STREAM_PREFIX)) {
      const rest = event.streamId.slice(NOTIFICATION_STREAM_PREFIX.length);
      push(history.notifications, parseOrderKey(rest)?.orderId ?? rest, stored);
    }
    else history.otherEvents++;
  }
  for (const events of history.orders.values()) events.sort((a, b) => a.revision - b.revision);
  return history;
}

function push(map: Map<string, StoredEvent[]>, key: string, event: StoredEvent): void {
  const list = map.get(key);
  if (list) list.push(event);
  else map.set(key, [event]);
}

function asRecord(value: unknown): Record<string, unknown> {
  if (value instanceof Uint8Array) {
    try {
      return asRecord(JSON.parse(Buffer.from(value).toString('utf8')));
    } catch {
      return {};
    }
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}
