import { describe, expect, it } from 'vitest';
import { sharedPb, streamsPb } from '../../../src/esdb-server/grpc/protocol.js';
import { streamIdentifier } from '../../../src/esdb-server/grpc/conversions.js';
import { encodeAppendSuccess, type AppendSuccess } from '../../../src/esdb-server/grpc/batch-append-encoding.js';

/** The same reply built with the client's own message classes, as the server built it before. */
function withClasses(reply: AppendSuccess): Buffer {
  const response = new streamsPb.BatchAppendResp().setCorrelationId(new sharedPb.UUID().setString(reply.correlationId)).setStreamIdentifier(streamIdentifier(reply.stream));
  if (reply.expected === 'any') response.setAny(new sharedPb.Empty());
  else if (reply.expected === 'no_stream') response.setNoStream(new sharedPb.Empty());
  else if (reply.expected === 'stream_exists') response.setStreamExists(new sharedPb.Empty());
  else response.setStreamPosition(String(reply.expected));
  const success = new streamsPb.BatchAppendResp.Success();
  if (reply.position < 0) success.setNoPosition(new sharedPb.Empty());
  else success.setPosition(new sharedPb.AllStreamPosition().setCommitPosition(String(reply.position)).setPreparePosition(String(reply.position)));
  if (reply.nextRevision < 0) success.setNoStream(new sharedPb.Empty());
  else success.setCurrentRevision(String(reply.nextRevision));
  return Buffer.from(response.setSuccess(success).serializeBinary());
}

const id = '0b7e3f2a-5c1d-4e8f-9a6b-2d4c6e8f0a1b';
const cases: AppendSuccess[] = [
  { correlationId: id, stream: 'order-t-1', expected: 'no_stream', nextRevision: 0, position: 0 },
  { correlationId: id, stream: 'order-t-1', expected: 4, nextRevision: 6, position: 1_234_567 },
  { correlationId: id, stream: 'payment-t-é-ü', expected: 'any', nextRevision: 300, position: 2 ** 40 },
  { correlationId: id, stream: 'x', expected: 'stream_exists', nextRevision: 0, position: -1 },
  { correlationId: id, stream: 'x'.repeat(300), expected: 0, nextRevision: -1, position: -1 },
];

describe('a BatchAppend success reply encoded by hand', () => {
  it.each(cases)('is byte for byte what the message classes encode (%o)', (reply) => {
    expect(encodeAppendSuccess(reply).toString('hex')).toBe(withClasses(reply).toString('hex'));
  });

  it('reads back with the client\'s classes: correlation id, stream, revision, position and expectation', () => {
    const decoded = streamsPb.BatchAppendResp.deserializeBinary(encodeAppendSuccess(cases[1]!));
    expect(decoded.getCorrelationId()?.getString()).toBe(id);
    expect(Buffer.from(decoded.getStreamIdentifier()!.getStreamName_asU8()).toString('utf8')).toBe('order-t-1');
    expect(decoded.getSuccess()?.getCurrentRevision()).toBe('6');
    expect(decoded.getSuccess()?.getPosition()?.getCommitPosition()).toBe('1234567');
    expect(decoded.getStreamPosition()).toBe('4');
  });
});
