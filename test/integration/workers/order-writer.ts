// Writes orders the way the API does (decider -> events with metadata -> append), so worker
// tests see real event sequences. Keeps each order's state to decide the next command.
import { randomUUID } from 'node:crypto';
import { jsonEvent, NO_STREAM, type EventStoreDBClient, type JSONType } from '@eventstore/db-client';
import {
  decide,
  orderStreamName,
  toNewEvents,
  type CommandContext,
  type Customer,
  type OrderCommand,
  type OrderItem,
  type OrderState,
} from '../../../src/orders/index.js';
import { evolve, initialOrderState } from '../../../src/orders/order-decider.js';

type WithoutContext<C> = C extends unknown ? Omit<C, 'context' | 'orderId'> : never;

export class OrderWriter {
  readonly #states = new Map<string, { state: OrderState; revision: bigint | undefined }>();

  constructor(
    private readonly client: EventStoreDBClient,
    private readonly tenantId = 'tenant-a',
  ) {}

  context(overrides: Partial<CommandContext> = {}): CommandContext {
    const commandId = randomUUID();
    return {
      commandId,
      tenantId: this.tenantId,
      actor: 'api-key:test',
      at: overrides.at ?? new Date().toISOString(),
      correlationId: overrides.correlationId ?? `corr-${commandId}`,
      ...overrides,
    };
  }

  /** Decides and appends one command; returns the ids of the events written. */
  async run(orderId: string, command: WithoutContext<OrderCommand>, contextOverrides: Partial<CommandContext> = {}): Promise<string[]> {
    const entry = this.#states.get(orderId) ?? { state: initialOrderState, revision: undefined };
    const context = this.context(contextOverrides);
    const full = { ...command, orderId, context } as OrderCommand;
    const events = decide(full, entry.state);
    const newEvents = toNewEvents(events, context);
    const result = await this.client.appendToStream(
      orderStreamName(orderId),
      newEvents.map((event) =>
        jsonEvent({ id: event.id, type: event.event.type, data: event.event.data as JSONType, metadata: event.metadata as unknown as JSONType }),
      ),
      { expectedRevision: entry.revision ?? NO_STREAM },
    );
    this.#states.set(orderId, { state: events.reduce(evolve, entry.state), revision: result.nextExpectedRevision });
    return newEvents.map((event) => event.id);
  }

  create(orderId: string, options: { customer?: Customer; items?: OrderItem[]; currency?: string; at?: string } = {}): Promise<string[]> {
    return this.run(
      orderId,
      {
        type: 'CreateOrder',
        customer: options.customer ?? { id: 'cust-1', name: 'Ada', phone: '+14155550100' },
        currency: options.currency ?? 'EUR',
        items: options.items ?? [{ sku: 'MUG', quantity: 2, unitPrice: 1000 }],
      },
      options.at ? { at: options.at } : {},
    );
  }

  pay(orderId: string, amount: number, at?: string): Promise<string[]> {
    return this.run(orderId, { type: 'RecordPayment', paymentId: randomUUID(), amount, method: 'card' }, at ? { at } : {});
  }

  ship(orderId: string): Promise<string[]> {
    return this.run(orderId, { type: 'ShipOrder', carrier: 'DHL', trackingNumber: 'TRK-1' });
  }

  cancel(orderId: string, at?: string): Promise<string[]> {
    return this.run(orderId, { type: 'CancelOrder', reason: 'changed mind' }, at ? { at } : {});
  }

  deliver(orderId: string): Promise<string[]> {
    return this.run(orderId, { type: 'DeliverOrder' });
  }

  returnOrder(orderId: string): Promise<string[]> {
    return this.run(orderId, { type: 'ReturnOrder', reason: 'too small' });
  }
}

/** Polls until `check` returns a value (not undefined/false) or the time runs out. */
export async function eventually<T>(check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw lastError instanceof Error ? lastError : new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
