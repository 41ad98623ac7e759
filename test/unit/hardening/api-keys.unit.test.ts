// API keys outlive parsing only as SHA-256 digests, and still authenticate exactly their tenant.
import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { HashedApiKeys } from '../../../src/api/api-keys.js';
import type { FastifyRequest } from 'fastify';
import { createKeyResolver, keyFingerprint, resolveOnce } from '../../../src/api/plugins/authentication.js';
import { loadConfig } from '../../../src/config.js';

const KEY_A = 'sk_live_tenant-a_3f9c1d7e5b';
const KEY_B = 'sk_live_tenant-b_8a2e6c4f0d';
const config = () => loadConfig({ API_KEYS: `${KEY_A}:tenant-a,${KEY_B}:tenant-b`, ESDB_CONNECTION_STRING: 'esdb://db:2113?tls=false' });

describe('API keys in memory', () => {
  it('keeps no raw key in the configuration once parsed', () => {
    const parsed = config();
    const everything = `${inspect(parsed, { depth: 10, showHidden: true })} ${JSON.stringify([...parsed.apiKeys])}`;
    expect(everything).not.toContain(KEY_A);
    expect(everything).not.toContain(KEY_B);
    expect(parsed.apiKeys).toBeInstanceOf(HashedApiKeys);
    expect([...parsed.apiKeys.keys()]).toEqual([KEY_A, KEY_B].map((key) => createHash('sha256').update(key).digest('hex')));
  });

  it('authenticates each raw key as its own tenant, with the same actor fingerprint as before hashing', () => {
    const resolve = createKeyResolver(config().apiKeys);
    expect(resolve(KEY_A)).toEqual({ tenantId: 'tenant-a', actor: `api-key:${keyFingerprint(KEY_A)}` });
    expect(resolve(KEY_B)).toEqual({ tenantId: 'tenant-b', actor: `api-key:${keyFingerprint(KEY_B)}` });
    expect(createKeyResolver(new Map([[KEY_A, 'tenant-a']]))(KEY_A)).toEqual(resolve(KEY_A));
  });

  it('refuses near misses, and the stored digest itself', () => {
    const resolve = createKeyResolver(config().apiKeys);
    const digestOfA = createHash('sha256').update(KEY_A).digest('hex');
    for (const guess of [KEY_A.slice(0, -1), `${KEY_A}x`, KEY_A.toUpperCase(), ` ${KEY_A}`, '', digestOfA, `${KEY_A.slice(0, -1)}f`]) {
      expect(resolve(guess), guess).toBeUndefined();
    }
  });

  it('resolves a request\'s key once (the rate limit and the authentication share it), and a different key on it afresh', () => {
    const resolve = createKeyResolver(config().apiKeys);
    let resolutions = 0;
    const counted = (key: string) => (resolutions++, resolve(key));
    const request = {} as FastifyRequest;
    expect(resolveOnce(request, KEY_A, counted)?.tenantId).toBe('tenant-a');
    expect(resolveOnce(request, KEY_A, counted)?.tenantId).toBe('tenant-a');
    expect(resolutions).toBe(1);
    expect(resolveOnce(request, KEY_B, counted)?.tenantId).toBe('tenant-b');
    expect(resolveOnce(request, 'not-a-key', counted)).toBeUndefined();
    expect(resolutions).toBe(3);
    // Another request resolves its own key: nothing is kept across requests.
    expect(resolveOnce({} as FastifyRequest, KEY_A, counted)?.tenantId).toBe('tenant-a');
    expect(resolutions).toBe(4);
  });
});
