// Bearer API keys, each belonging to one tenant. The tenant always comes from the key.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../error-registry.js';
import type { Caller } from '../request-context.js';

/** Stable, non-reversible id of a key for logs and event metadata. */
export function keyFingerprint(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 12);
}

export function createKeyResolver(apiKeys: ReadonlyMap<string, string>): (key: string) => Caller | undefined {
  // Compare digests so lookup time does not depend on how much of a key matched.
  const byDigest = [...apiKeys].map(([key, tenantId]) => ({
    digest: createHash('sha256').update(key).digest(),
    caller: { tenantId, actor: `api-key:${keyFingerprint(key)}` },
  }));
  return (key) => {
    const digest = createHash('sha256').update(key).digest();
    return byDigest.find((entry) => timingSafeEqual(entry.digest, digest))?.caller;
  };
}

/** Adds the authentication hook to `scope`: register it inside the scope of protected routes. */
export function requireApiKey(scope: FastifyInstance, apiKeys: ReadonlyMap<string, string>): void {
  const resolve = createKeyResolver(apiKeys);
  scope.addHook('onRequest', async (request) => {
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match?.[1]) throw new ApiError('UNAUTHORIZED', 'send Authorization: Bearer <api key>');
    const caller = resolve(match[1]);
    if (!caller) throw new ApiError('UNAUTHORIZED', 'the API key is not valid');
    request.caller = caller;
  });
}
