// What the HTTP layer learns about a request before any route runs.
import 'fastify';

export interface Caller {
  tenantId: string;
  /** `api-key:<fingerprint>`: identifies the key without revealing it. */
  actor: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by authentication on every route that needs it. */
    caller: Caller | undefined;
    /** From `x-correlation-id`, or generated; echoed in the response. */
    correlationId: string;
    /** The W3C `traceparent` header when it is well formed. */
    traceparent: string | undefined;
  }
}
