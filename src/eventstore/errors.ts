// Failures of an optimistic-concurrency write, with stable codes the API maps to HTTP.

/** The caller's If-Match named a revision the stream is no longer (or not yet) at. */
export class PreconditionFailedError extends Error {
  readonly code = 'PRECONDITION_FAILED';
  constructor(
    readonly streamName: string,
    readonly expectedRevision: bigint,
    readonly actualRevision: bigint | undefined,
  ) {
    super(`${streamName} is at revision ${actualRevision ?? 'none'}, not ${expectedRevision}`);
    this.name = 'PreconditionFailedError';
  }
}

/**
 * The order stream's first events are gone (stream metadata `$maxCount`, `$maxAge` or `$tb` cut
 * them away): its state cannot be folded from what is left.
 */
export class OrderHistoryTruncatedError extends Error {
  readonly code = 'ORDER_HISTORY_TRUNCATED';
  constructor(
    readonly streamName: string,
    readonly firstRevision: bigint,
  ) {
    super(`${streamName} starts at revision ${firstRevision}: its first events were truncated in the event store`);
    this.name = 'OrderHistoryTruncatedError';
  }
}

/** Other writers kept moving the stream while the command was retried on fresh state. */
export class ConcurrencyConflictError extends Error {
  readonly code = 'CONCURRENCY_CONFLICT';
  constructor(
    readonly streamName: string,
    readonly attempts: number,
  ) {
    super(`${streamName} kept changing concurrently; gave up after ${attempts} attempts`);
    this.name = 'ConcurrencyConflictError';
  }
}

/** gRPC RESOURCE_EXHAUSTED: what the embedded store answers a write while its disk is full. */
const RESOURCE_EXHAUSTED = 8;

/**
 * The event store refused a write because its disk is full (the embedded store's
 * RESOURCE_EXHAUSTED `storage-full`; a real EventStoreDB stops instead, which callers see as
 * unavailable). Nothing of the write was stored; the same write succeeds once space is free.
 */
export function isStorageFullError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  return code === RESOURCE_EXHAUSTED || /storage full|database or disk is full|no space left on device|SQLITE_FULL/i.test(error.message);
}
