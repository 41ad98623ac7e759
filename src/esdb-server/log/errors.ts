export class StreamDeletedError extends Error {
  constructor(readonly stream: string) {
    super(`Stream '${stream}' is deleted.`);
    this.name = 'StreamDeletedError';
  }
}

export class MaximumAppendSizeExceededError extends Error {
  constructor(readonly maxAppendSize: number) {
    super(`Maximum append size of ${maxAppendSize} exceeded.`);
    this.name = 'MaximumAppendSizeExceededError';
  }
}

/** Streams written by the system projections ($ce-, $et-, $bc-, $streams) take no client appends. */
export class AccessDeniedError extends Error {
  constructor(readonly stream: string) {
    super(`Access to stream '${stream}' is denied: it is written by a system projection.`);
    this.name = 'AccessDeniedError';
  }
}

/**
 * The disk holding the log is full (SQLite's SQLITE_FULL): the group that hit it rolled back,
 * nothing of it was written. Transient: the same write succeeds once space is free again.
 */
export class StorageFullError extends Error {
  readonly code = 'SQLITE_FULL';
  constructor(detail = 'database or disk is full') {
    super(`Storage full: the event store could not write (${detail}); nothing of this write was stored, retry once space is free.`);
    this.name = 'StorageFullError';
  }
}

/** SQLite's error code for a write refused for lack of space (its unix VFS maps ENOSPC to it). */
export function isStorageFullCode(code: unknown): boolean {
  return code === 'SQLITE_FULL';
}

/** A writer's failure as the log reports it: storage full as StorageFullError, the rest as it came. */
export function commitFailure(error: unknown): Error {
  if (error instanceof StorageFullError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (isStorageFullCode(code) || /database or disk is full|no space left on device/i.test(message)) return new StorageFullError(message);
  return error instanceof Error ? error : new Error(message);
}
