// Failures the runner treats specially. Anything else thrown by a handler is transient: retried
// with backoff, then parked with its message as the reason.

/** Retrying cannot help (a 4xx from a partner API, a malformed event): park at once. */
export class PermanentHandlerError extends Error {
  readonly code = 'PERMANENT_HANDLER_ERROR';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentHandlerError';
  }
}

export class HandlerTimeoutError extends Error {
  readonly code = 'HANDLER_TIMEOUT';
  constructor(
    readonly handler: string,
    readonly timeoutMs: number,
  ) {
    super(`${handler} did not finish within ${timeoutMs} ms`);
    this.name = 'HandlerTimeoutError';
  }
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
