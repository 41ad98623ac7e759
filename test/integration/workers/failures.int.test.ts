import { describe, expect, it } from 'vitest';
import { defineHandler } from '../../../src/subscriptions/handler.js';
import { PermanentHandlerError } from '../../../src/subscriptions/errors.js';
import { OrderWriter, eventually } from './order-writer.js';
import { metricValue, readParked, runnerFixture } from './worker-helpers.js';

describe('when a handler fails', () => {
  const fixture = runnerFixture();

  it('retries a throwing handler, then parks the event with the error as reason, while other handlers keep going', async () => {
    const attempts: number[] = [];
    const seen: string[] = [];
    const failing = defineHandler({
      name: 'failing',
      handles: ['order.created'],
      handle(_event, context) {
        attempts.push(context.attempt);
        throw new Error('mail server on fire');
      },
    });
    const healthy = defineHandler({
      name: 'healthy',
      handles: ['order.created'],
      handle(event) {
        seen.push(event.data.orderId);
      },
    });
    const started = await fixture.start({ handlers: [failing, healthy] });
    const writer = new OrderWriter(fixture.store.client);
    await writer.create('f-1');
    await writer.create('f-2');

    await eventually(() => seen.length === 2);
    // Each once; events of two streams may be handled in either order (the runner works on
    // different orders side by side; a PostgreSQL commit under load can finish the second first).
    expect([...seen].sort()).toEqual(['f-1', 'f-2']);
    const parked = await eventually(async () => {
      const entries = await readParked(fixture.store.client, 'order-store.handler.failing');
      return entries.length === 2 ? entries : undefined;
    });
    expect(parked.map((entry) => entry.target).sort()).toEqual(['0@order-f-1', '0@order-f-2']);
    expect(parked[0]?.reason).toContain('mail server on fire');
    // maxRetries 2: three attempts per event, counted 1, 2, 3.
    expect(attempts.filter((attempt) => attempt === 3)).toHaveLength(2);
    expect(Math.max(...attempts)).toBe(3);
    expect(await metricValue(started.registry, 'event_handler_errors_total', { handler: 'failing', event_type: 'order.created' })).toBe(6);
    expect(await metricValue(started.registry, 'event_handler_errors_total', { handler: 'healthy' })).toBe(0);
    expect(await metricValue(started.registry, 'events_processed_total', { handler: 'failing', outcome: 'parked' })).toBe(2);
    await started.runner.refreshStats();
    expect(await metricValue(started.registry, 'subscription_parked_events', { group: 'order-store.handler.failing' })).toBe(2);
  });

  it('parks at once, without retrying, when the handler says retrying cannot help', async () => {
    let calls = 0;
    const refusing = defineHandler({
      name: 'refusing',
      handles: ['order.created'],
      handle() {
        calls++;
        throw new PermanentHandlerError('recipient blocked us');
      },
    });
    await fixture.start({ handlers: [refusing] });
    await new OrderWriter(fixture.store.client).create('p-1');
    const parked = await eventually(async () => {
      const entries = await readParked(fixture.store.client, 'order-store.handler.refusing');
      return entries.length === 1 ? entries : undefined;
    });
    expect(parked[0]?.reason).toContain('recipient blocked us');
    expect(calls).toBe(1);
  });

  it('times out a handler that hangs, aborts its signal and retries it', async () => {
    const aborted: string[] = [];
    let calls = 0;
    const slow = defineHandler({
      name: 'slow',
      handles: ['order.created'],
      options: { timeoutMs: 250 },
      schema: 'CREATE TABLE IF NOT EXISTS slow_done (order_id TEXT)',
      async handle(event, context) {
        calls++;
        if (calls === 1) {
          await new Promise<void>((resolve) => context.signal.addEventListener('abort', () => resolve()));
          aborted.push(String((context.signal.reason as Error).message));
          return;
        }
        await context.transaction(async (tx) => await tx.run('INSERT INTO slow_done VALUES (?)', event.data.orderId));
      },
    });
    const started = await fixture.start({ handlers: [slow] });
    await new OrderWriter(fixture.store.client).create('t-1');
    await eventually(async () => (await fixture.readModels.get<{ order_id: string }>('SELECT order_id FROM slow_done'))?.order_id === 't-1');
    expect(calls).toBe(2);
    expect(aborted).toEqual(['slow did not finish within 250 ms']);
    expect(await metricValue(started.registry, 'event_handler_errors_total', { handler: 'slow' })).toBe(1);
  });
});
