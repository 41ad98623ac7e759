// Seeds order histories the way the service writes them: commands through the decider, events
// through the event factory and the serialiser, appended with the real client.
import { randomUUID } from 'node:crypto';
import { StreamNotFoundError, type EventStoreDBClient } from '@eventstore/db-client';
import { fromRecordedEvent, toEventData } from '../../../src/eventstore/event-serialization.js';
import {
  decide,
  foldOrder,
  orderStreamName,
  tenantOrderStreamName,
  toNewEvents,
  type CommandContext,
  type OrderCommand,
  type OrderEvent,
  type OrderState,
} from '../../../src/orders/index.js';

export type CommandWithoutContext = OrderCommand extends infer C ? (C extends OrderCommand ? Omit<C, 'context' | 'orderId'> : never) : never;

export interface SeededCommand {
  commandId: string;
  correlationId: string;
  events: OrderEvent[];
  eventIds: string[];
}

/** Runs `commands` against order `orderId` in turn, appending each command's events. */
export async function seedOrder(
  client: EventStoreDBClient,
  orderId: string,
  commands: CommandWithoutContext[],
  options: { tenantId?: string; correlationId?: string; at?: (index: number) => string; causationId?: string; tenantScoped?: boolean } = {},
): Promise<SeededCommand[]> {
  const seeded: SeededCommand[] = [];
  // By default the legacy `order-<orderId>` of stores written before tenant-scoped names (which
  // this version still reads); `tenantScoped` writes where this version does.
  const stream = options.tenantScoped ? tenantOrderStreamName(options.tenantId ?? 'tenant-a', orderId) : orderStreamName(orderId);
  let history = await loadHistory(client, stream);
  let state: OrderState = foldOrder(history);
  for (const [index, partial] of commands.entries()) {
    const commandId = randomUUID();
    const context: CommandContext = {
      commandId,
      tenantId: options.tenantId ?? 'tenant-a',
      actor: 'api-key:test',
      at: options.at?.(index) ?? new Date(Date.UTC(2026, 0, 1, 0, 0, index)).toISOString(),
      correlationId: options.correlationId ?? randomUUID(),
      ...(options.causationId && index === 0 ? { causationId: options.causationId } : {}),
    };
    const command = { ...partial, orderId, context } as OrderCommand;
    const events = decide(command, state);
    const newEvents = toNewEvents(events, context);
    await client.appendToStream(stream, newEvents.map(toEventData));
    history = [...history, ...events];
    state = foldOrder(history);
    seeded.push({ commandId, correlationId: context.correlationId, events, eventIds: newEvents.map((event) => event.id) });
  }
  return seeded;
}

/** The order's events so far, as the service loads them before deciding. */
async function loadHistory(client: EventStoreDBClient, stream: string): Promise<OrderEvent[]> {
  const events: OrderEvent[] = [];
  try {
    for await (const resolved of client.readStream(stream)) {
      if (resolved.event) events.push(fromRecordedEvent(resolved.event).event);
    }
  } catch (err) {
    if (!(err instanceof StreamNotFoundError)) throw err;
  }
  return events;
}

export const createOrder = (total = 2500, sku = 'sku-1'): CommandWithoutContext => ({
  type: 'CreateOrder',
  customer: { id: 'cust-1', name: 'Ada', phone: '+14155550100' },
  currency: 'EUR',
  items: [{ sku, quantity: 1, unitPrice: total }],
});
export const pay = (amount: number, paymentId = 'pay-1'): CommandWithoutContext => ({ type: 'RecordPayment', paymentId, amount, method: 'card' });
export const ship = (): CommandWithoutContext => ({ type: 'ShipOrder', carrier: 'DHL', trackingNumber: 'TRACK-1' });
export const deliver = (): CommandWithoutContext => ({ type: 'DeliverOrder' });
export const cancel = (reason = 'changed mind'): CommandWithoutContext => ({ type: 'CancelOrder', reason });
