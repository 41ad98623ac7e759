// Under more load than it can take, the API sheds with 503 problem+json and Retry-After instead
// of queueing: shown with tiny thresholds and a blocked event loop. It recovers by itself.
import { afterEach, describe, expect, it } from 'vitest';
import { auth } from '../../helpers/app.js';
import { newOrderBody } from '../api/support.js';
import { eventually } from '../workers/order-writer.js';
import { allHead, expectProblem, startHardenedApp, type HardenedApp } from './support.js';

let t: HardenedApp | undefined;

afterEach(async () => {
  await t?.close();
  t = undefined;
});

function blockEventLoop(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // Busy: what a burst of synchronous work does to every request waiting behind it.
  }
}

const nextTick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('load shedding', () => {
  it('answers 503 problem+json with Retry-After while the event loop lags, appends nothing, and recovers', async () => {
    t = await startHardenedApp({ overload: { maxEventLoopDelayMs: 50, sampleIntervalMs: 20, retryAfterSeconds: 7 } });
    const app = t.app;
    const head = await allHead(t.store.client);
    // Sustained lag, as under a flood of synchronous work: the sampler sees it within a few rounds.
    let shed: Awaited<ReturnType<typeof app.inject>> | undefined;
    for (let round = 0; round < 30 && shed?.statusCode !== 503; round++) {
      blockEventLoop(150);
      await nextTick(5);
      shed = await app.inject({ method: 'POST', url: '/orders/00000000-0000-4000-8000-000000000000/ship', headers: auth(), payload: {} });
    }
    expect(shed?.statusCode).toBe(503);
    if (!shed) return;
    expect(expectProblem(shed)).toMatchObject({ status: 503, code: 'SERVICE_OVERLOADED' });
    expect(shed.headers['retry-after']).toBe('7');
    expect(await allHead(t.store.client)).toBe(head);

    const recovered = await eventually(async () => {
      const response = await app.inject({ method: 'POST', url: '/orders', headers: auth(), payload: newOrderBody() });
      return response.statusCode === 201 ? response : undefined;
    }, 5_000);
    expect(recovered.statusCode).toBe(201);
  });

  it('sheds every API request once heap in use exceeds its threshold', async () => {
    t = await startHardenedApp({ overload: { maxHeapUsedBytes: 1, sampleIntervalMs: 10, maxEventLoopDelayMs: 0 } });
    const app = t.app;
    const head = await allHead(t.store.client);
    const shed = await eventually(async () => {
      const response = await app.inject({ method: 'POST', url: '/orders', headers: auth(), payload: newOrderBody() });
      return response.statusCode === 503 ? response : undefined;
    }, 5_000);
    expect(expectProblem(shed)).toMatchObject({ code: 'SERVICE_OVERLOADED' });
    expect(shed.headers['retry-after']).toBe('5');
    expect((await app.inject({ method: 'GET', url: '/orders', headers: auth() })).statusCode).toBe(503);
    // Liveness and metrics stay answerable while the API sheds: overloaded is not dead.
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(200);
    expect(await allHead(t.store.client)).toBe(head);
  });
});
