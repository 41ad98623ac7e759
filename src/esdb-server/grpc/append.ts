// Streams.Append: a client stream of one options message then the proposed messages; one reply.
import type * as grpc from '@grpc/grpc-js';
import type { AppendResult, ExpectedRevision, ProposedEvent } from '../log/types.js';
import { AccessDeniedError, MaximumAppendSizeExceededError, StreamDeletedError } from '../log/errors.js';
import type { ServerContext } from './service-module.js';
import { sharedPb, streamsPb } from './protocol.js';
import { parseExpectedRevision, streamNameOf } from './conversions.js';
import { proposedSize, toProposedEvent } from './proposed-events.js';
import { accessDenied, invalidArgument, maximumAppendSizeExceeded, streamDeleted, toRpcError } from './rpc-errors.js';
import { refuseStream } from '../auth/acl.js';

type AppendReq = InstanceType<typeof streamsPb.AppendReq>;
type AppendResp = InstanceType<typeof streamsPb.AppendResp>;

export function handleAppend(
  context: ServerContext,
  call: grpc.ServerReadableStream<AppendReq, AppendResp>,
  callback: grpc.sendUnaryData<AppendResp>,
): void {
  let header: { stream: string; expected: ExpectedRevision } | undefined;
  const events: ProposedEvent[] = [];
  let size = 0;
  let finished = false;
  const fail = (error: unknown) => {
    if (finished) return;
    finished = true;
    callback(toRpcError(error));
  };

  call.on('data', (request: AppendReq) => {
    if (finished) return;
    try {
      if (request.hasOptions()) {
        if (header) throw invalidArgument('options must be sent once, first');
        const options = request.getOptions()!;
        header = { stream: streamNameOf(options.getStreamIdentifier()), expected: parseExpectedRevision(options) };
        const denied = refuseStream(context.authorization, call, 'write', header.stream);
        if (denied) throw denied;
        return;
      }
      if (!header) throw invalidArgument('the first append message must carry the options');
      if (!request.hasProposedMessage()) throw invalidArgument('append message carries neither options nor an event');
      const event = toProposedEvent(request.getProposedMessage()!);
      size += proposedSize(event);
      // Fail as soon as the limit is crossed rather than buffering the rest of an oversized append.
      if (size > context.maxAppendSize) throw maximumAppendSizeExceeded(context.maxAppendSize);
      events.push(event);
    } catch (error) {
      fail(error);
    }
  });
  call.on('error', () => {
    finished = true;
  });
  call.on('end', () => {
    if (finished) return;
    if (!header) return fail(invalidArgument('append request without options'));
    const { stream, expected } = header;
    context.log.append(stream, expected, events).then(
      (result) => {
        if (finished) return;
        finished = true;
        callback(null, toAppendResp(result));
      },
      (error: unknown) => fail(storeError(error, stream)),
    );
  });
}

/** The store's own errors, as the client expects to see them. */
export function storeError(error: unknown, stream: string): unknown {
  if (error instanceof StreamDeletedError) return streamDeleted(stream);
  if (error instanceof MaximumAppendSizeExceededError) return maximumAppendSizeExceeded(error.maxAppendSize);
  if (error instanceof AccessDeniedError) return accessDenied(stream);
  return error;
}

function toAppendResp(result: AppendResult): AppendResp {
  const response = new streamsPb.AppendResp();
  if (result.kind === 'success') {
    const success = new streamsPb.AppendResp.Success();
    // An empty append writes nothing and has no position.
    if (result.position < 0) success.setNoPosition(new sharedPb.Empty());
    else success.setPosition(new streamsPb.AppendResp.Position().setCommitPosition(String(result.position)).setPreparePosition(String(result.position)));
    if (result.nextRevision < 0) success.setNoStream(new sharedPb.Empty());
    else success.setCurrentRevision(String(result.nextRevision));
    return response.setSuccess(success);
  }
  // A wrong expected version is a normal reply, not a gRPC error.
  const wrong = new streamsPb.AppendResp.WrongExpectedVersion();
  if (result.currentRevision === 'no_stream') wrong.setCurrentNoStream(new sharedPb.Empty());
  else wrong.setCurrentRevision(String(result.currentRevision));
  switch (result.expected) {
    case 'any':
      wrong.setExpectedAny(new sharedPb.Empty());
      break;
    case 'no_stream':
      wrong.setExpectedNoStream(new sharedPb.Empty());
      break;
    case 'stream_exists':
      wrong.setExpectedStreamExists(new sharedPb.Empty());
      break;
    default:
      wrong.setExpectedRevision(String(result.expected));
  }
  return response.setWrongExpectedVersion(wrong);
}
