// Helpers for the persistent-subscription specs: appending numbered events, a consumer that
// records what it receives (acking or not), and polling for a condition instead of sleeping.
import { jsonEvent, type AppendResult, type EventStoreDBClient, type PersistentSubscriptionToStream, type PersistentSubscriptionToAll, type PersistentSubscriptionToStreamResolvedEvent, type PersistentSubscriptionToAllResolvedEvent } from '@eventstore/db-client';

export type Received = PersistentSubscriptionToStreamResolvedEvent | PersistentSubscriptionToAllResolvedEvent;
type Subscription = PersistentSubscriptionToStream | PersistentSubscriptionToAll;

export async function appendNumbered(client: EventStoreDBClient, stream: string, from: number, count: number, metadata?: Record<string, unknown>): Promise<AppendResult> {
  const events = Array.from({ length: count }, (_, i) => jsonEvent({ type: 'Numbered', data: { n: from + i }, ...(metadata ? { metadata } : {}) }));
  return client.appendToStream(stream, events);
}

export function numberOf(event: Received): number {
  return (event.event!.data as { n: number }).n;
}

export async function eventually<T>(check: () => T | Promise<T>, { timeout = 5_000, interval = 10 } = {}): Promise<Exclude<T, false | undefined>> {
  const deadline = Date.now() + timeout;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== false && value !== undefined) return value as Exclude<T, false | undefined>;
      lastError = new Error('condition was not met');
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw lastError;
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}

export type Handling = 'ack' | 'hold' | ((event: Received, consumer: RecordingConsumer) => Promise<void> | void);

/** Records every message it gets; acks it, holds it unacked, or lets the test decide. */
export class RecordingConsumer {
  readonly received: Received[] = [];
  readonly errors: Error[] = [];
  ended = false;

  constructor(readonly subscription: Subscription, private handling: Handling = 'ack') {
    subscription.on('data', (event: Received) => {
      this.received.push(event);
      void this.handle(event);
    });
    subscription.on('error', (error: Error) => this.errors.push(error));
    subscription.on('end', () => (this.ended = true));
    subscription.on('close', () => (this.ended = true));
  }

  handleWith(handling: Handling): void {
    this.handling = handling;
  }

  numbers(): number[] {
    return this.received.map(numberOf);
  }

  async ack(...events: Received[]): Promise<void> {
    await this.subscription.ack(...events);
  }

  stop(): Promise<void> {
    return this.subscription.unsubscribe();
  }

  private async handle(event: Received): Promise<void> {
    try {
      if (this.handling === 'ack') await this.subscription.ack(event);
      else if (this.handling !== 'hold') await this.handling(event, this);
    } catch (error) {
      this.errors.push(error as Error);
    }
  }
}
