// Who may read /metrics. The figures are the whole process's, every tenant's traffic summed
// (requests per route, events appended, handler work): a tenant reading them learns the others'
// volumes. So /metrics is the operator's, and an API key never opens it:
//  - METRICS_TOKEN set: /metrics answers only requests with `Authorization: Bearer <METRICS_TOKEN>`
//    (on the API port and on a workers-only process's port).
//  - unset: the API port answers /metrics only to a client on this machine that came straight in
//    (a loopback peer, no X-Forwarded-For / Forwarded / X-Real-IP: a reverse proxy on the same host
//    forwarding tenants is not the operator); everyone else gets 401. A workers-only process's
//    port (no tenant talks to it) stays open: keep it off public interfaces or set the token.
import { createHash, timingSafeEqual } from 'node:crypto';

export const METRICS_TOKEN_VARIABLE = 'METRICS_TOKEN';
/** Short tokens are guessable: ignored as if unset. */
export const MIN_METRICS_TOKEN_LENGTH = 16;

export interface MetricsAccess {
  /** SHA-256 of the token; undefined when METRICS_TOKEN is unset (or too short). */
  tokenDigest: Buffer | undefined;
}

export function metricsAccessFrom(env: NodeJS.ProcessEnv = process.env): MetricsAccess {
  const token = env[METRICS_TOKEN_VARIABLE]?.trim();
  return { tokenDigest: token && token.length >= MIN_METRICS_TOKEN_LENGTH ? digest(token) : undefined };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

export type MetricsDecision = 'allowed' | 'token-required';

export interface MetricsRequest {
  authorization: string | undefined;
  /** The TCP peer's address. */
  remoteAddress: string | undefined;
  /** Whether the request names a forwarding proxy (X-Forwarded-For, Forwarded, X-Real-IP). */
  forwarded: boolean;
}

/** `openWithoutToken`: this listener serves /metrics to anyone when no token is configured (the workers' port). */
export function metricsDecision(access: MetricsAccess, request: MetricsRequest, openWithoutToken: boolean): MetricsDecision {
  if (!access.tokenDigest) return openWithoutToken || (isLoopback(request.remoteAddress) && !request.forwarded) ? 'allowed' : 'token-required';
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.authorization ?? '');
  if (!match) return 'token-required';
  return timingSafeEqual(digest(match[1]!), access.tokenDigest) ? 'allowed' : 'token-required';
}

function isLoopback(address: string | undefined): boolean {
  return address !== undefined && (address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.'));
}

/** The forwarding headers of a request (Node's lower-cased header object). */
export function isForwarded(headers: Record<string, string | string[] | undefined>): boolean {
  return headers['x-forwarded-for'] !== undefined || headers.forwarded !== undefined || headers['x-real-ip'] !== undefined;
}

export const METRICS_REFUSAL = {
  status: 401,
  code: 'METRICS_TOKEN_REQUIRED',
  detail: "/metrics is the operator's: send Authorization: Bearer <METRICS_TOKEN> (an API key does not open it; without METRICS_TOKEN only a direct client on this machine may read it)",
} as const;
