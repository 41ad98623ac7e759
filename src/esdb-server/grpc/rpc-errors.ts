// Errors the way EventStoreDB sends them: a gRPC status plus trailer metadata whose `exception`
// key selects the client's error class; each exception needs its companion keys, or the client
// throws a TypeError instead of the right error.
import * as grpc from '@grpc/grpc-js';
import { StorageFullError } from '../log/errors.js';
import type { ExpectedRevision } from '../log/types.js';

export interface RpcError extends Error {
  code: grpc.status;
  details: string;
  metadata: grpc.Metadata;
}

export function rpcError(code: grpc.status, details: string, trailers: Record<string, string> = {}): RpcError {
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(trailers)) metadata.set(key, trailerValue(value));
  const sent = wellFormed(details);
  return Object.assign(new Error(sent), { code, details: sent, metadata });
}

/**
 * A message grpc-js can send: it percent-encodes the status message with `encodeURI`, which
 * throws on a lone surrogate (an event id or a name decoded from invalid UTF-8 carries them), and
 * the call then got no status at all, only the caller's deadline (found by the malformed-request
 * property test).
 */
function wellFormed(text: string): string {
  return text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

/**
 * A trailer value grpc-js accepts: printable ASCII (it throws on anything else, and the error
 * was never sent). A stream named `café` keeps its trailer, with the rest percent-encoded as
 * UTF-8, and the client still gets its error class.
 */
function trailerValue(value: string): string {
  return /^[ -~]*$/.test(value) ? value : wellFormed(value).replace(/[^ -~]/gu, (char) => encodeURIComponent(char));
}

export function isRpcError(error: unknown): error is RpcError {
  return error instanceof Error && typeof (error as Partial<RpcError>).code === 'number' && (error as Partial<RpcError>).metadata instanceof grpc.Metadata;
}

export function invalidArgument(details: string): RpcError {
  return rpcError(grpc.status.INVALID_ARGUMENT, details);
}

export function streamDeleted(stream: string): RpcError {
  return rpcError(grpc.status.FAILED_PRECONDITION, `Event stream '${stream}' is deleted.`, {
    exception: 'stream-deleted',
    'stream-name': stream,
  });
}

export function wrongExpectedVersion(stream: string, expected: ExpectedRevision, current: number | 'no_stream', operation: 'Append' | 'Delete' = 'Append'): RpcError {
  const trailers: Record<string, string> = {
    exception: 'wrong-expected-version',
    'stream-name': stream,
    'expected-version': String(expectedVersionNumber(expected)),
  };
  // Without `actual-version` the client reports 'no_stream'.
  if (current !== 'no_stream') trailers['actual-version'] = String(current);
  return rpcError(
    grpc.status.FAILED_PRECONDITION,
    `${operation} failed due to WrongExpectedVersion. Stream: ${stream}, Expected version: ${expectedVersionNumber(expected)}, Actual version: ${current === 'no_stream' ? -1 : current}`,
    trailers,
  );
}

export function maximumAppendSizeExceeded(maxAppendSize: number): RpcError {
  return rpcError(grpc.status.INVALID_ARGUMENT, `Maximum Append Size of ${maxAppendSize} Exceeded.`, {
    exception: 'maximum-append-size-exceeded',
    'maximum-append-size': String(maxAppendSize),
  });
}

export function missingRequiredMetadata(properties: string[]): RpcError {
  return rpcError(grpc.status.INVALID_ARGUMENT, `Missing required metadata properties: ${properties.join(', ')}.`, {
    exception: 'missing-required-metadata-property',
    'required-metadata-properties': properties.join(','),
  });
}

export function accessDenied(stream: string): RpcError {
  return rpcError(grpc.status.PERMISSION_DENIED, `Access to stream '${stream}' is denied.`, { exception: 'access-denied' });
}

export function serverShuttingDown(): RpcError {
  return rpcError(grpc.status.UNAVAILABLE, 'Server is shutting down.');
}

/**
 * The disk is full. EventStoreDB has no answer for this (its node stops on an IOException and
 * clients see UNAVAILABLE); this store keeps serving reads and refuses writes with
 * RESOURCE_EXHAUSTED, which the client reports as an error with that code and these details
 * without dropping its connection (UNAVAILABLE would make it reconnect and drop every
 * subscription of the connection). The `exception` key names it for callers that look.
 */
export const STORAGE_FULL_EXCEPTION = 'storage-full';

export function storageFull(error: StorageFullError): RpcError {
  return rpcError(grpc.status.RESOURCE_EXHAUSTED, error.message, { exception: STORAGE_FULL_EXCEPTION });
}

/** Anything unexpected becomes a plain INTERNAL status rather than a crash or a hang. */
export function toRpcError(error: unknown): RpcError {
  if (isRpcError(error)) return error;
  if (error instanceof StorageFullError) return storageFull(error);
  const message = error instanceof Error ? error.message : String(error);
  return rpcError(grpc.status.INTERNAL, message);
}

/** EventStoreDB's numeric form of an expected version, as carried in error trailers. */
export function expectedVersionNumber(expected: ExpectedRevision): number {
  switch (expected) {
    case 'any':
      return -2;
    case 'no_stream':
      return -1;
    case 'stream_exists':
      return -4;
    default:
      return expected;
  }
}
