// Bearer API keys, each belonging to one tenant. The tenant always comes from the key.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HashedApiKeys, digestApiKey } from '../api-keys.js';
import { ApiError } from '../error-registry.js';
import type { Caller } from '../request-context.js';

/** Stable, non-reversible id of a key for logs and event metadata. */
export function keyFingerprint(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 12);
}

/** `apiKeys`: raw key -> tenantId, or HashedApiKeys (digest -> tenantId) as the config keeps them. */
export function createKeyResolver(apiKeys: ReadonlyMap<string, string> | HashedApiKeys): (key: string) => Caller | undefined {
  // Only digests are kept, and compared in constant time, so lookup time does not depend on how
  // much of a key matched.
  const byDigest = [...apiKeys].map(([keyOrDigest, tenantId]) => {
    const digest = apiKeys instanceof HashedApiKeys ? Buffer.from(keyOrDigest, 'hex') : digestApiKey(keyOrDigest);
    return { digest, caller: { tenantId, actor: `api-key:${digest.toString('hex').slice(0, 12)}` } };
  });
  return (key) => {
    const digest = digestApiKey(key);
    // Every entry is compared (no early exit), so timing does not reveal which key matched.
    let found: Caller | undefined;
    for (const entry of byDigest) if (timingSafeEqual(entry.digest, digest)) found = entry.caller;
    return found;
  };
}

/** The token of `Authorization: Bearer <token>`, if the header has that shape. */
export function bearerToken(header: unknown): string | undefined {
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match?.[1] || undefined;
}

/** A request's presented key as resolved once (the rate limit's key and the authentication both need it). */
export const RESOLVED_KEY = Symbol('order-store.resolved-api-key');
type ResolvingRequest = FastifyRequest & { [RESOLVED_KEY]?: { token: string; caller: Caller | undefined } | undefined };

/**
 * `resolve(token)` for this request, computed once: the rate limit (before the routes) and the
 * authentication (in their scope) resolve the same header with resolvers of the same keys, and
 * each resolution is a SHA-256 and a constant-time compare per key. Kept on the request only
 * (never across requests: no presented key outlives its request), for the same token only.
 */
export function resolveOnce(request: FastifyRequest, token: string, resolve: (key: string) => Caller | undefined): Caller | undefined {
  const memo = (request as ResolvingRequest)[RESOLVED_KEY];
  if (memo !== undefined && memo.token === token) return memo.caller;
  const caller = resolve(token);
  (request as ResolvingRequest)[RESOLVED_KEY] = { token, caller };
  return caller;
}

/** Adds the authentication hook to `scope`: register it inside the scope of protected routes. */
export function requireApiKey(scope: FastifyInstance, apiKeys: ReadonlyMap<string, string>): void {
  const resolve = createKeyResolver(apiKeys);
  scope.addHook('onRequest', async (request) => {
    const token = bearerToken(request.headers.authorization);
    if (!token) throw new ApiError('UNAUTHORIZED', 'send Authorization: Bearer <api key>');
    const caller = resolveOnce(request, token, resolve);
    if (!caller) throw new ApiError('UNAUTHORIZED', 'the API key is not valid');
    request.caller = caller;
  });
}
