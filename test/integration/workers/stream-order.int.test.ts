import { describe, expect, it } from 'vitest';
import { defineProjection } from '../../../src/readmodels/projection.js';
import { defineHandler, type HandlerContext } from '../../../src/subscriptions/handler.js';
import orderSummary from '../../../projections/order-summary.js';
import { OrderWriter, eventually } from './order-writer.js';
import { FAST_RETRIES, readParked, runnerFixture } from './worker-helpers.js';

type Failure = 'throws' | 'runs over its timeout' | 'has its write fail in the shared commit' | 'fails for good';

/** Refuses payments: on PostgreSQL the turn's side-by-side batches fail and run again alone. */
const refusesPayments = defineProjection({
  name: 'refuses-payments',
  handles: ['payment.processed'],
  schema: 'CREATE TABLE IF NOT EXISTS refused_payments (order_id TEXT PRIMARY KEY)',
  apply() {
    throw new Error('payments are not welcome here');
  },
  reset: async (tx) => {
    await tx.run('DELETE FROM refused_payments');
  },
});

/** Consecutive repeats as one: the statuses one order's handler calls went through. */
const collapse = (entries: string[]) => entries.filter((entry, index) => entry !== entries[index - 1]);

// For one order, a handler's effects follow the events' order: an event that fails, times out or
// is parked holds up the order's next events until it settled, never another order's.
describe("one order's events are handled in the events' order", () => {
  const fixture = runnerFixture();

  it.each<[Failure]>([['throws'], ['runs over its timeout'], ['has its write fail in the shared commit'], ['fails for good']])(
    "when a handler's PAID %s, the order's SHIPPED waits for it, and another order goes on meanwhile",
    async (failure) => {
      const calls: string[] = [];
      const done: string[] = [];
      // A's PAID fails until B's SHIPPED is done: B is not held up by A.
      const failsNow = (key: string) => key === 'a:PAID' && (failure === 'fails for good' || !done.includes('b:SHIPPED') || calls.filter((call) => call === key).length === 1);
      const handler = defineHandler({
        name: 'ordered',
        handles: ['order.status_changed'],
        // The timeout covers the handled record's commit too: 300 ms timed B's PAID out as well on
        // PostgreSQL with other test files running (called twice); only A's hanging call must reach it.
        options: { timeoutMs: failure === 'runs over its timeout' ? 2_000 : 5_000, maxRetries: failure === 'fails for good' ? 2 : 50 },
        async handle(event, context: HandlerContext) {
          if (event.type !== 'order.status_changed') return;
          const key = `${event.data.orderId}:${event.data.newStatus}`;
          calls.push(key);
          const fails = failsNow(key);
          if (fails && failure === 'runs over its timeout') await new Promise((resolve) => context.signal.addEventListener('abort', resolve));
          if (fails && (failure === 'throws' || failure === 'fails for good')) throw new Error(`${key} is not ready`);
          if (failure === 'has its write fail in the shared commit') {
            context.record(async (tx) => {
              await tx.get('SELECT 1 AS one');
              if (fails) throw new Error(`${key} could not be recorded`);
              done.push(key);
            });
            return;
          }
          if (!context.signal.aborted) done.push(key);
        },
      });
      // Both orders written before the runner starts: the group delivers them all at once.
      const writer = new OrderWriter(fixture.store.client);
      for (const orderId of ['a', 'b']) {
        await writer.create(orderId);
        await writer.pay(orderId, 2000);
        await writer.ship(orderId);
      }
      await fixture.start({
        handlers: [handler],
        projections: [orderSummary, refusesPayments],
        runner: { retry: { ...FAST_RETRIES.retry!, maxRetries: 2 } },
      });

      await eventually(() => done.includes('a:SHIPPED') && done.includes('b:SHIPPED'));
      expect(collapse(calls.filter((call) => call.startsWith('a:')))).toEqual(['a:PAID', 'a:SHIPPED']);
      expect(calls.filter((call) => call.startsWith('b:'))).toEqual(['b:PAID', 'b:SHIPPED']);
      expect(done.filter((key) => key.startsWith('a:'))).toEqual(failure === 'fails for good' ? ['a:SHIPPED'] : ['a:PAID', 'a:SHIPPED']);
      if (failure === 'fails for good') {
        // Parked after its retries, as EventStoreDB does; the order's next event was handled after it.
        expect(calls.filter((call) => call === 'a:PAID')).toHaveLength(3);
        const parked = await eventually(async () => {
          const entries = await readParked(fixture.store.client, 'order-store.handler.ordered');
          return entries.length === 1 ? entries : undefined;
        });
        expect(parked[0]!.target).toMatch(/@order-a$/);
      } else {
        // B's SHIPPED was done while A's PAID still failed.
        expect(done.indexOf('b:SHIPPED')).toBeLessThan(done.indexOf('a:PAID'));
      }
    },
  );
});
