// The soak's stream verification must catch what it exists to catch: a lost acknowledged
// command, a torn append, a status chain with a gap and an event nobody asked for.
import { describe, expect, it } from 'vitest';
import type { OrderCommand } from '../../src/orders/commands.js';
import { eventMetadata } from '../../src/orders/event-factory.js';
import { decide, evolve, initialOrderState } from '../../src/orders/order-decider.js';
import type { OrderState } from '../../src/orders/order-state.js';
import type { Ack } from './lifecycle-load.js';
import type { StoreHistory, StoredEvent } from './store-history.js';
import { verifyStreams } from './verify-streams.js';

const ORDER = '7d6f1c2a-3b4e-4f50-8a61-9c0d1e2f3a4b';
type Body = Record<string, unknown>;

/** Runs commands through the real decider and stores their events as the store would. */
function orderHistory(commands: Array<(context: OrderCommand['context']) => OrderCommand>): { events: StoredEvent[]; acks: Ack[] } {
  let state: OrderState = initialOrderState;
  const events: StoredEvent[] = [];
  const acks: Ack[] = [];
  commands.forEach((make, index) => {
    const context = { commandId: `command-${index}`, tenantId: 'tenant-a', actor: 'test', at: '2026-01-01T00:00:00.000Z', correlationId: `tenant-a:soak-${index}` };
    const command = make(context);
    const decided = decide(command, state);
    for (const event of decided) {
      state = evolve(state, event);
      events.push({
        id: `event-${events.length}`,
        type: event.type,
        streamId: `order-${ORDER}`,
        revision: events.length,
        data: event.data as unknown as Body,
        metadata: eventMetadata(context) as unknown as Body,
      });
    }
    acks.push({
      orderId: ORDER,
      step: command.type === 'CreateOrder' ? 'create' : command.type === 'RecordPayment' ? 'pay' : 'ship',
      correlationId: `soak-${index}`,
      statusCode: 200,
      revision: events.length - 1,
      status: state.exists ? state.status : 'none',
      appended: true,
      appends: decided.map((event) => event.type),
    });
  });
  return { events, acks };
}

const lifecycle = orderHistory([
  (context) => ({ type: 'CreateOrder', orderId: ORDER, customer: { name: 'Ada' }, currency: 'EUR', items: [{ sku: 'tea', quantity: 2, unitPrice: 500 }], context }),
  (context) => ({ type: 'RecordPayment', orderId: ORDER, paymentId: 'p1', amount: 1000, method: 'card', context }),
  (context) => ({ type: 'ShipOrder', orderId: ORDER, context }),
]);

function historyOf(events: StoredEvent[]): StoreHistory {
  return { orders: new Map([[ORDER, events]]), orderEventsInCommitOrder: [], notifications: new Map(), otherEvents: 0, totalEvents: events.length };
}

const sent = new Set(lifecycle.acks.map((ack) => ack.correlationId));

describe('the soak verification of order streams', () => {
  it('passes a stream that holds every acknowledged command whole', () => {
    const { violations, counts } = verifyStreams(historyOf(lifecycle.events), lifecycle.acks, sent);
    expect(violations).toEqual([]);
    expect(counts).toEqual({ orders: 1, orderEvents: 6, commands: 3, acksChecked: 3 });
  });

  it('reports an acknowledged command whose events are missing', () => {
    const lost = lifecycle.events.slice(0, 4);
    const { violations } = verifyStreams(historyOf(lost), lifecycle.acks, sent);
    expect(violations).toContainEqual(expect.stringContaining('acknowledged ship (200, correlation soak-2)'));
  });

  it('reports a status-specific event written without its order.status_changed twin', () => {
    const torn = lifecycle.events.slice(0, 5);
    const { violations } = verifyStreams(historyOf(torn), lifecycle.acks.slice(0, 2), sent);
    expect(violations).toContainEqual(expect.stringContaining('half-written or foreign append at revision 4: [order.shipped]'));
  });

  it('reports an event carrying a correlation id no request of the soak sent', () => {
    const { violations } = verifyStreams(historyOf(lifecycle.events), lifecycle.acks, new Set(['soak-0', 'soak-1']));
    expect(violations).toContainEqual(expect.stringContaining('correlation id soak-2, which no request of the soak sent'));
  });

  it('reports an event whose correlation id is not scoped to its tenant', () => {
    const unscoped = lifecycle.events.map((event, index) => (index === 5 ? { ...event, metadata: { ...event.metadata, $correlationId: 'soak-2' } } : event));
    const { violations } = verifyStreams(historyOf(unscoped), lifecycle.acks, sent);
    expect(violations).toContainEqual(expect.stringContaining('revision 5 carries correlation id soak-2, not scoped to its tenant'));
  });
});
