// What decoding one persistent subscription delivery costs the client's main thread with
// google-protobuf's generated `ReadResp.deserializeBinary` and with the decoder of
// src/eventstore/persistent-read-decoder.ts: the bytes the embedded store sends for an order
// event (JSON data, the usual metadata, a retry count and commit position), decoded and then
// converted by the client's own `convertPersistentSubscriptionGrpcEvent`, as its subscription
// does for each delivery. Same process, the two decoders in alternate rounds, the median of
// each. Run: `npm run bench persistent-read-decode` (BENCH_PRD_ROUNDS, 6).
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { fastReadResp, googleReadResp } from '../src/eventstore/persistent-read-decoder.js';
import { reportFigure } from './report.js';

const ROUNDS = Number(process.env.BENCH_PRD_ROUNDS ?? 6);
const TIMES = 50_000;

/* eslint-disable @typescript-eslint/no-explicit-any -- google-protobuf's generated classes are untyped here */
const clientRequire = createRequire(createRequire(import.meta.url).resolve('@eventstore/db-client'));
const persistentPb = clientRequire('../generated/persistent_pb.js') as any;
const sharedPb = clientRequire('../generated/shared_pb.js') as any;
const { convertPersistentSubscriptionGrpcEvent } = clientRequire('./utils/convertGrpcEvent.js') as { convertPersistentSubscriptionGrpcEvent(event: unknown): unknown };

function orderDelivery(lines: number): Uint8Array {
  const { ReadResp } = persistentPb;
  const recorded = new ReadResp.ReadEvent.RecordedEvent();
  const uuid = new sharedPb.UUID();
  uuid.setString(randomUUID());
  recorded.setId(uuid);
  const stream = new sharedPb.StreamIdentifier();
  stream.setStreamName(Buffer.from(`order-bench-${randomUUID()}`));
  recorded.setStreamIdentifier(stream);
  recorded.setStreamRevision('2');
  recorded.setPreparePosition('48213377');
  recorded.setCommitPosition('48213377');
  for (const [key, value] of [['type', 'order.paid'], ['content-type', 'application/json'], ['created', '17333808000000000']]) recorded.getMetadataMap().set(key, value);
  recorded.setCustomMetadata(Buffer.from(JSON.stringify({ $correlationId: randomUUID(), $causationId: randomUUID(), tenantId: 'bench', actor: 'api-key:bench', traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01` })));
  recorded.setData(
    Buffer.from(JSON.stringify({ orderId: randomUUID(), tenantId: 'bench', customerId: 'c-1', items: Array.from({ length: lines }, (_, i) => ({ sku: `SKU-${i}`, quantity: 1, unitPrice: 1999 })), total: 1999 * lines, currency: 'EUR' })),
  );
  const event = new ReadResp.ReadEvent();
  event.setEvent(recorded);
  event.setCommitPosition('48213377');
  event.setRetryCount(0);
  const resp = new ReadResp();
  resp.setEvent(event);
  return resp.serializeBinary();
}

let sink = 0;
function usPerDelivery(decode: (bytes: Uint8Array) => unknown, bytes: Uint8Array): number {
  const started = process.hrtime.bigint();
  for (let i = 0; i < TIMES; i++) {
    // As grpc-js's deserializer hands it over: a copy of the frame.
    const resolved = convertPersistentSubscriptionGrpcEvent((decode(new Uint8Array(bytes)) as any).getEvent()) as { retryCount: number };
    sink += resolved.retryCount;
  }
  return Number(process.hrtime.bigint() - started) / 1e3 / TIMES;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

for (const [name, lines] of [['order event', 2], ['order of 20 lines', 20]] as const) {
  const bytes = orderDelivery(lines);
  const google: number[] = [];
  const fast: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    google.push(usPerDelivery(googleReadResp, bytes));
    fast.push(usPerDelivery(fastReadResp, bytes));
  }
  console.log(`${name} (${bytes.length} B delivery): google-protobuf ${google.map((v) => v.toFixed(2)).join(' / ')} µs, this decoder ${fast.map((v) => v.toFixed(2)).join(' / ')} µs a delivery decoded and converted`);
  reportFigure({ name: `client delivery decode + convert, ${name} (${bytes.length} B)`, value: median(fast), unit: 'µs', baseline: median(google), baselineName: 'google-protobuf' });
}
if (sink < 0) console.log(sink);
