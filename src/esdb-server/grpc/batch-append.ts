// Streams.BatchAppend: one long-lived bidirectional call per client connection carrying many
// appends, interleaved and keyed by correlation id. Each append is one options message plus
// proposed messages, possibly over several requests, the last marked is_final. Every reply echoes
// the correlation id and the stream; failures travel as google.rpc.Status with an Any detail.
import type * as grpc from '@grpc/grpc-js';
import type { AppendResult, ExpectedRevision, ProposedEvent } from '../log/types.js';
import { AccessDeniedError, MaximumAppendSizeExceededError, StorageFullError, StreamDeletedError } from '../log/errors.js';
import type { ServerContext } from './service-module.js';
import { AnyMessageClass, sharedPb, statusPb, streamsPb } from './protocol.js';
import { parseRevision, parseUuid, streamIdentifier, streamNameOf } from './conversions.js';
import { proposedSize, toProposedEvent } from './proposed-events.js';
import { CallWriter } from './call-writer.js';
import { refuseStream } from '../auth/acl.js';
import { isRpcError, storageFull } from './rpc-errors.js';

type BatchAppendReq = InstanceType<typeof streamsPb.BatchAppendReq>;
type BatchAppendResp = InstanceType<typeof streamsPb.BatchAppendResp>;
type UuidMessage = InstanceType<typeof sharedPb.UUID>;

// google.rpc.Code values.
const FAILED_PRECONDITION = 9;
const INVALID_ARGUMENT = 3;
const DEADLINE_EXCEEDED = 4;
const INTERNAL = 13;
const PERMISSION_DENIED = 7;

interface PendingAppend {
  correlationId: UuidMessage;
  stream: string;
  expected: ExpectedRevision;
  deadline: number | undefined;
  events: ProposedEvent[];
  size: number;
  /** Set once this append failed; its remaining requests are ignored. */
  failed: boolean;
}

export function handleBatchAppend(
  context: ServerContext,
  call: grpc.ServerDuplexStream<BatchAppendReq, BatchAppendResp>,
  track: (writer: CallWriter<BatchAppendResp>) => () => void,
): void {
  const writer = new CallWriter(call);
  const untrack = track(writer);
  const pending = new Map<string, PendingAppend>();
  let inFlight = 0;
  let clientDone = false;
  const finishIfDone = () => {
    if (clientDone && inFlight === 0) {
      untrack();
      writer.end();
    }
  };
  const reply = (response: BatchAppendResp) => void writer.write(response);

  call.on('data', (request: BatchAppendReq) => {
    const correlationId = request.getCorrelationId();
    let key: string;
    try {
      key = parseUuid(correlationId, 'correlation id');
    } catch (error) {
      // Without a correlation id no reply can be matched: the whole call is malformed.
      writer.fail(error as Error);
      untrack();
      return;
    }
    let append = pending.get(key);
    if (request.hasOptions()) {
      const options = request.getOptions()!;
      const stream = Buffer.from(options.getStreamIdentifier()?.getStreamName_asU8() ?? new Uint8Array()).toString('utf8');
      append = { correlationId: correlationId!, stream, expected: 'any', deadline: undefined, events: [], size: 0, failed: false };
      pending.set(key, append);
      try {
        streamNameOf(options.getStreamIdentifier());
        append.expected = parseBatchExpected(options);
        if (refuseStream(context.authorization, call, 'write', stream)) {
          append.failed = true;
          reply(withExpected(errorResponse(correlationId!, stream, PERMISSION_DENIED, `Access to stream '${stream}' is denied.`, new sharedPb.AccessDenied(), 'event_store.client.AccessDenied'), append.expected));
        }
        const deadline = options.getDeadline();
        if (deadline) append.deadline = deadline.toDate().getTime();
      } catch (error) {
        failAppend(append, error);
      }
    }
    if (!append) {
      reply(errorResponse(correlationId!, '', INVALID_ARGUMENT, 'the first request of an append must carry the options', new sharedPb.Unknown(), 'event_store.client.Unknown'));
      return;
    }
    if (!append.failed) {
      try {
        for (const message of request.getProposedMessagesList()) {
          const event = toProposedEvent(message);
          append.size += proposedSize(event);
          if (append.size > context.maxAppendSize) throw new MaximumAppendSizeExceededError(context.maxAppendSize);
          append.events.push(event);
        }
      } catch (error) {
        failAppend(append, error);
      }
    }
    if (!request.getIsFinal()) return;
    pending.delete(key);
    if (append.failed) return;
    if (append.deadline !== undefined && Date.now() > append.deadline) {
      reply(errorResponse(append.correlationId, append.stream, DEADLINE_EXCEEDED, 'Deadline exceeded.', new sharedPb.Timeout(), 'event_store.client.Timeout'));
      return;
    }
    const { stream, expected, events } = append;
    const finishedAppend = append;
    inFlight++;
    context.log.append(stream, expected, events).then(
      (result) => reply(resultResponse(finishedAppend, result)),
      (error: unknown) => failAppend(finishedAppend, error),
    ).finally(() => {
      inFlight--;
      finishIfDone();
    });
  });
  call.on('end', () => {
    clientDone = true;
    finishIfDone();
  });
  call.on('error', () => untrack());
  call.on('cancelled', () => untrack());

  function failAppend(append: PendingAppend, error: unknown): void {
    if (append.failed) return;
    append.failed = true;
    append.events = [];
    if (error instanceof StorageFullError) {
      // A per-append status reaches the caller as an UnknownError without code or message (the
      // client unpacks only the details it knows): end the call with RESOURCE_EXHAUSTED instead,
      // so every append waiting on it fails with that code. The client opens a new call for the
      // next append.
      writer.fail(storageFull(error));
      untrack();
      return;
    }
    reply(failureResponse(append, error));
  }
}

function parseBatchExpected(options: InstanceType<typeof streamsPb.BatchAppendReq.Options>): ExpectedRevision {
  if (options.hasStreamPosition()) return parseRevision(options.getStreamPosition(), 'expected stream position');
  if (options.hasNoStream()) return 'no_stream';
  if (options.hasStreamExists()) return 'stream_exists';
  return 'any';
}

function baseResponse(correlationId: UuidMessage, stream: string): BatchAppendResp {
  return new streamsPb.BatchAppendResp().setCorrelationId(correlationId).setStreamIdentifier(streamIdentifier(stream));
}

function withExpected(response: BatchAppendResp, expected: ExpectedRevision): BatchAppendResp {
  switch (expected) {
    case 'any':
      return response.setAny(new sharedPb.Empty());
    case 'no_stream':
      return response.setNoStream(new sharedPb.Empty());
    case 'stream_exists':
      return response.setStreamExists(new sharedPb.Empty());
    default:
      return response.setStreamPosition(String(expected));
  }
}

function errorResponse(
  correlationId: UuidMessage,
  stream: string,
  code: number,
  message: string,
  detail: { serializeBinary(): Uint8Array },
  typeName: string,
): BatchAppendResp {
  const details = new AnyMessageClass();
  details.pack(detail.serializeBinary(), typeName);
  const status = new statusPb.Status().setCode(code).setMessage(message);
  status.setDetails(details as unknown as Parameters<typeof status.setDetails>[0]);
  return baseResponse(correlationId, stream).setError(status);
}

function failureResponse(append: PendingAppend, error: unknown): BatchAppendResp {
  const { correlationId, stream } = append;
  let response: BatchAppendResp;
  if (error instanceof StreamDeletedError) {
    const detail = new sharedPb.StreamDeleted().setStreamIdentifier(streamIdentifier(stream));
    response = errorResponse(correlationId, stream, FAILED_PRECONDITION, `Event stream '${stream}' is deleted.`, detail, 'event_store.client.StreamDeleted');
  } else if (error instanceof MaximumAppendSizeExceededError) {
    const detail = new sharedPb.MaximumAppendSizeExceeded().setMaxappendsize(error.maxAppendSize);
    response = errorResponse(correlationId, stream, INVALID_ARGUMENT, error.message, detail, 'event_store.client.MaximumAppendSizeExceeded');
  } else if (error instanceof AccessDeniedError) {
    response = errorResponse(correlationId, stream, PERMISSION_DENIED, error.message, new sharedPb.AccessDenied(), 'event_store.client.AccessDenied');
  } else {
    const message = isRpcError(error) ? error.details : error instanceof Error ? error.message : String(error);
    const code = isRpcError(error) ? INVALID_ARGUMENT : INTERNAL;
    response = errorResponse(correlationId, stream, code, message, new sharedPb.Unknown(), 'event_store.client.Unknown');
  }
  return withExpected(response, append.expected);
}

function resultResponse(append: PendingAppend, result: AppendResult): BatchAppendResp {
  if (result.kind === 'success') {
    const response = withExpected(baseResponse(append.correlationId, append.stream), append.expected);
    const success = new streamsPb.BatchAppendResp.Success();
    if (result.position < 0) success.setNoPosition(new sharedPb.Empty());
    else success.setPosition(new sharedPb.AllStreamPosition().setCommitPosition(String(result.position)).setPreparePosition(String(result.position)));
    if (result.nextRevision < 0) success.setNoStream(new sharedPb.Empty());
    else success.setCurrentRevision(String(result.nextRevision));
    return response.setSuccess(success);
  }
  const detail = new sharedPb.WrongExpectedVersion();
  if (result.currentRevision === 'no_stream') detail.setCurrentNoStream(new sharedPb.Empty());
  else detail.setCurrentStreamRevision(String(result.currentRevision));
  switch (result.expected) {
    case 'any':
      detail.setExpectedAny(new sharedPb.Empty());
      break;
    case 'no_stream':
      detail.setExpectedNoStream(new sharedPb.Empty());
      break;
    case 'stream_exists':
      detail.setExpectedStreamExists(new sharedPb.Empty());
      break;
    default:
      detail.setExpectedStreamPosition(String(result.expected));
  }
  const error = errorResponse(append.correlationId, append.stream, FAILED_PRECONDITION, 'Wrong expected version.', detail, 'event_store.client.WrongExpectedVersion');
  return withExpected(error, append.expected);
}
