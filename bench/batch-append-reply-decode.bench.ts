// What decoding the store's reply to one append costs the client's thread with google-protobuf's
// generated `BatchAppendResp.deserializeBinary` and with src/eventstore/batch-append-reply-decoder.ts:
// a success reply as the embedded store sends it (correlation id, revision, position, stream),
// decoded and read as the client's batchAppend reads it (parseUUID, BigInt of the revision and
// positions). Same process, the two decoders in alternate rounds, the median of each.
// Run: `npm run bench batch-append-reply-decode` (BENCH_BARD_ROUNDS, 6).
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { fastBatchAppendResp, googleBatchAppendResp } from '../src/eventstore/batch-append-reply-decoder.js';
import { reportFigure } from './report.js';

const ROUNDS = Number(process.env.BENCH_BARD_ROUNDS ?? 6);
const TIMES = 100_000;

/* eslint-disable @typescript-eslint/no-explicit-any -- google-protobuf's generated classes are untyped here */
const clientRequire = createRequire(createRequire(import.meta.url).resolve('@eventstore/db-client'));
const streamsPb = clientRequire('../generated/streams_pb.js') as any;
const sharedPb = clientRequire('../generated/shared_pb.js') as any;
const { parseUUID, createUUID } = clientRequire('./utils/grpcUUID.js') as any;
const { createStreamIdentifier } = clientRequire('./utils/grpcStreamIdentifier.js') as any;
const { BatchAppendResp } = streamsPb;

const orderId = randomUUID();

function replyBytes(): Uint8Array {
  const resp = new BatchAppendResp();
  resp.setCorrelationId(createUUID());
  const success = new BatchAppendResp.Success();
  success.setCurrentRevision('5');
  const position = new sharedPb.AllStreamPosition();
  position.setCommitPosition('48213377');
  position.setPreparePosition('48213377');
  success.setPosition(position);
  resp.setSuccess(success);
  resp.setStreamIdentifier(createStreamIdentifier(`order-bench-${orderId}`));
  resp.setStreamPosition('3');
  return resp.serializeBinary();
}

/** The client's `data` handler of batchAppend, after grpc-js's deserializer (a copy of the frame). */
function usPerReply(decode: (bytes: Uint8Array) => unknown, bytes: Uint8Array): number {
  const started = process.hrtime.bigint();
  for (let i = 0; i < TIMES; i++) {
    const resp = decode(new Uint8Array(bytes)) as any;
    const id = parseUUID(resp.getCorrelationId()) as string;
    if (resp.hasError()) throw new Error('unexpected error reply');
    const success = resp.getSuccess();
    const grpcPosition = success.getPosition();
    sink += BigInt(success.getCurrentRevision()) + BigInt(grpcPosition.getCommitPosition()) + BigInt(grpcPosition.getPreparePosition()) + BigInt(id.length);
  }
  return Number(process.hrtime.bigint() - started) / 1e3 / TIMES;
}

let sink = 0n;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const bytes = replyBytes();
const google: number[] = [];
const fast: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  google.push(usPerReply(googleBatchAppendResp, bytes));
  fast.push(usPerReply(fastBatchAppendResp, bytes));
}
console.log(`an append's reply (${bytes.length} B) decoded and read: google-protobuf ${google.map((v) => v.toFixed(2)).join(' / ')} µs, this decoder ${fast.map((v) => v.toFixed(2)).join(' / ')} µs`);
reportFigure({ name: `client append reply decoded and read (${bytes.length} B)`, value: median(fast), unit: 'µs', baseline: median(google), baselineName: 'google-protobuf' });
if (sink < 0n) console.log(sink);
