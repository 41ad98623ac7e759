import { describe, expect, it } from 'vitest';
import { defineProjection } from '../../../src/readmodels/projection.js';
import { defineHandler, type HandlerContext } from '../../../src/subscriptions/handler.js';
import orderSummary from '../../../projections/order-summary.js';
import { OrderWriter, eventually } from './order-writer.js';
import { FAST_RETRIES, readParked, runnerFixture } from './worker-helpers.js';
import { IntakeGate, NARROW_IN_FLIGHT } from '../../../src/subscriptions/intake-gate.js';

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

  it("a retried event's redelivery gets in while its order's next events wait, with the gate narrowly open", async () => {
    // Open narrowly for the whole test: the API "sheds" and the gate was closed its longest (0 ms here).
    const intake = new IntakeGate({ holdMs: 600_000, maxClosedMs: 0, minOpenMs: 600_000 });
    intake.pressure();
    intake.check();
    expect([intake.open, intake.narrow, intake.limit(16)]).toEqual([true, true, NARROW_IN_FLIGHT]);
    const calls: string[] = [];
    const handler = defineHandler({
      name: 'narrow',
      handles: ['order.created', 'order.status_changed', 'order.paid', 'order.shipped', 'payment.processed'],
      async handle(event, context: HandlerContext) {
        calls.push(`${event.type}#${event.revision}`);
        // The order's first event fails once: its later events arrive while it waits for its retry.
        if (event.revision === 0 && context.attempt === 1) throw new Error('not yet');
      },
    });
    const writer = new OrderWriter(fixture.store.client);
    await writer.create('n');
    await writer.pay('n', 2000);
    await writer.ship('n');
    const events: string[] = [];
    for await (const { event } of fixture.store.client.readStream('order-n')) events.push(event!.type);
    // The message timeout is when a stream gives up waiting for a redelivery and goes on without it.
    await fixture.start({ handlers: [handler], intake, runner: { messageTimeoutMs: 3_000 } });

    await eventually(() => calls.length === events.length + 1);
    expect(events.length).toBeGreaterThan(NARROW_IN_FLIGHT + 1);
    expect(calls).toEqual([`${events[0]}#0`, ...events.map((type, revision) => `${type}#${revision}`)]);
  });
});
