// The 6.x client's batch append writes each request from inside an async Promise executor
// (dist/streams/appendToStream/batchAppend.js). When the call ends early (the client is disposed
// at shutdown, or the store ends the call: storage full, a restart), the writes still queued are
// rejected there and that rejection has no handler, while the append's own promise is rejected
// properly and reaches its caller. Node then kills the process for a failure nobody lost.
// The guard below lets exactly those go (gRPC errors raised inside the client, which the caller
// has seen through its own promise) and keeps Node's crash for every other unhandled rejection.
import type { Logger } from 'pino';

/** A @grpc/grpc-js ServiceError: what the client's stream 'error' events carry. */
export function isGrpcServiceError(reason: unknown): boolean {
  return (
    reason instanceof Error &&
    typeof (reason as { code?: unknown }).code === 'number' &&
    typeof (reason as { details?: unknown }).details === 'string' &&
    typeof (reason as { metadata?: unknown }).metadata === 'object'
  );
}

export interface RejectionGuard {
  /** Unhandled client stream errors let go so far. */
  readonly ignored: number;
  remove(): void;
}

/**
 * Installs the process's unhandledRejection listener. `crash` runs for any other reason (by
 * default: log fatal and exit 1, which is what Node does without a listener).
 */
export function guardClientRejections(
  logger: Logger,
  crash: (reason: unknown) => void = (reason) => {
    logger.fatal({ err: reason }, 'unhandled promise rejection');
    process.exit(1);
  },
): RejectionGuard {
  let ignored = 0;
  const listener = (reason: unknown) => {
    if (!isGrpcServiceError(reason)) {
      crash(reason);
      return;
    }
    ignored += 1;
    const { code, details } = reason as { code: number; details: string };
    logger[ignored === 1 ? 'warn' : 'debug']({ code, details, ignored }, 'event store client: a queued write of an ended call was rejected (its append already failed to its caller)');
  };
  process.on('unhandledRejection', listener);
  return {
    get ignored() {
      return ignored;
    },
    remove: () => {
      process.off('unhandledRejection', listener);
    },
  };
}
