// Hand-written protobuf encoding of a successful BatchAppendResp, the one reply of every append a
// client makes over BatchAppend: google-protobuf's message objects and their serialisation cost
// more than the rest of the reply's work on the server's thread. Field numbers are those of the
// client's streams.proto / shared.proto (generated/streams_pb.js, shared_pb.js); anything else
// (failures, a correlation id sent in its structured form) is still built with the classes.
import type { ExpectedRevision } from '../log/types.js';
import { Encoder, fieldSize, tag, VARINT, varintSize } from './read-event-encoding.js';

export interface AppendSuccess {
  /** The request's correlation id in its string form (echoed as it came). */
  correlationId: string;
  stream: string;
  expected: ExpectedRevision;
  /** The stream's revision after the append; -1: the stream has none (no_stream). */
  nextRevision: number;
  /** The append's position in $all; -1: none. */
  position: number;
}

const EMPTY_SIZE = (field: number) => fieldSize(field, 0);
const oneofUintSize = (field: number, value: number) => varintSize(tag(field, VARINT)) + varintSize(value);
/** AllStreamPosition: proto3 leaves zero values out. */
const positionSize = (position: number) => (position === 0 ? 0 : 2 * oneofUintSize(1, position));

/**
 * BatchAppendResp { correlation_id: UUID{string}, success: Success{current_revision | no_stream,
 * position | no_position}, stream_identifier: {stream_name}, expected: stream_position | no_stream
 * | any | stream_exists }, in field order as google-protobuf writes it.
 */
export function encodeAppendSuccess(reply: AppendSuccess): Buffer {
  const correlationBytes = Buffer.byteLength(reply.correlationId);
  const uuidSize = fieldSize(2, correlationBytes);
  const streamBytes = Buffer.byteLength(reply.stream);
  const identifierSize = fieldSize(3, streamBytes);
  const successSize =
    (reply.nextRevision < 0 ? EMPTY_SIZE(2) : oneofUintSize(1, reply.nextRevision)) +
    (reply.position < 0 ? EMPTY_SIZE(4) : fieldSize(3, positionSize(reply.position)));
  const expected = reply.expected;
  const expectedSize = typeof expected === 'number' ? oneofUintSize(5, expected) : EMPTY_SIZE(EXPECTED_FIELDS[expected]);
  const buffer = Buffer.allocUnsafe(fieldSize(1, uuidSize) + fieldSize(3, successSize) + fieldSize(4, identifierSize) + expectedSize);
  const encoder = new Encoder(buffer);
  encoder.header(1, uuidSize).string(2, reply.correlationId, correlationBytes);
  encoder.header(3, successSize);
  if (reply.nextRevision < 0) encoder.header(2, 0);
  else encoder.varint(tag(1, VARINT)).varint(reply.nextRevision);
  if (reply.position < 0) encoder.header(4, 0);
  else encoder.header(3, positionSize(reply.position)).uint(1, reply.position).uint(2, reply.position);
  encoder.header(4, identifierSize).string(3, reply.stream, streamBytes);
  if (typeof expected === 'number') encoder.varint(tag(5, VARINT)).varint(expected);
  else encoder.header(EXPECTED_FIELDS[expected], 0);
  return buffer;
}

const EXPECTED_FIELDS = { no_stream: 6, any: 7, stream_exists: 8 } as const;
