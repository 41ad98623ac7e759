// Small helpers shared by the embedded-server integration tests (not a test file itself).
import type { ResolvedEvent, StreamSubscription, AllStreamResolvedEvent, AllStreamSubscription } from '@eventstore/db-client';
import { jsonEvent } from '@eventstore/db-client';

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

export function orderEvents(count: number, type = 'order.noted') {
  return Array.from({ length: count }, (_, i) => jsonEvent({ type, data: { n: i } }));
}

/** Polls until `check` returns a value other than undefined (no fixed sleeps in tests). */
export async function eventually<T>(check: () => T | undefined | Promise<T | undefined>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

type AnySubscription = StreamSubscription | AllStreamSubscription;
type AnyResolved = ResolvedEvent | AllStreamResolvedEvent;

/** Records what a subscription delivers; `until(n)` waits for n events. */
export function record(subscription: AnySubscription) {
  const events: AnyResolved[] = [];
  let failure: unknown;
  let confirmed = false;
  let caughtUp = false;
  subscription.on('data', (event: AnyResolved) => events.push(event));
  subscription.on('error', (error: unknown) => (failure = error));
  subscription.on('confirmation', () => (confirmed = true));
  subscription.on('caughtUp', () => (caughtUp = true));
  return {
    events,
    get failure() {
      return failure;
    },
    confirmed: () => eventually(() => (confirmed ? true : undefined)),
    caughtUp: () => eventually(() => (caughtUp ? true : undefined)),
    until: (count: number, timeoutMs?: number) =>
      eventually(() => {
        if (failure) throw failure;
        return events.length >= count ? events : undefined;
      }, timeoutMs),
  };
}
