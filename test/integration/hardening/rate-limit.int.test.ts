// Per-API-key rate limiting: a key over its budget gets 429 problem+json with Retry-After and
// appends nothing; other tenants' keys keep their own budget; unknown keys share their address's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, TENANT_A, TENANT_B } from '../../helpers/app.js';
import { newOrderBody } from '../api/support.js';
import { allHead, expectClientProblem, startHardenedApp, type HardenedApp } from './support.js';

const LIMIT = 5;
let t: HardenedApp;

beforeAll(async () => {
  t = await startHardenedApp({ rateLimitPerMinute: LIMIT });
});

afterAll(async () => {
  await t?.close();
});

describe('rate limiting per API key', () => {
  it('answers a key over its per-minute budget with 429 problem+json and Retry-After, without running the command', async () => {
    for (let index = 0; index < LIMIT; index++) {
      expect((await t.app.inject({ method: 'GET', url: '/orders', headers: auth(TENANT_A) })).statusCode).toBe(200);
    }
    const head = await allHead(t.store.client);
    const refused = await t.app.inject({ method: 'POST', url: '/orders', headers: auth(TENANT_A), payload: newOrderBody() });
    const problem = expectClientProblem(refused, 'over the limit');
    expect(problem).toMatchObject({ status: 429, code: 'TOO_MANY_REQUESTS' });
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(await allHead(t.store.client)).toBe(head);
  });

  it("keeps every other key's budget untouched", async () => {
    const response = await t.app.inject({ method: 'POST', url: '/orders', headers: auth(TENANT_B), payload: newOrderBody() });
    expect(response.statusCode).toBe(201);
  });

  it('counts unknown and missing keys against their client address, so guessing keys is limited too', async () => {
    const statuses: number[] = [];
    for (let index = 0; index <= LIMIT; index++) {
      const response = await t.app.inject({ method: 'GET', url: '/orders', headers: { authorization: `Bearer guess-${index}` }, remoteAddress: '203.0.113.9' });
      statuses.push(response.statusCode);
    }
    expect(statuses).toEqual([...Array<number>(LIMIT).fill(401), 429]);
    const fromElsewhere = await t.app.inject({ method: 'GET', url: '/orders', remoteAddress: '203.0.113.10' });
    expect(fromElsewhere.statusCode).toBe(401);
  });

  it('never limits the public health and metrics routes', async () => {
    for (let index = 0; index <= LIMIT * 2; index++) {
      expect((await t.app.inject({ method: 'GET', url: '/health', headers: auth(TENANT_A) })).statusCode).toBe(200);
    }
  });
});
