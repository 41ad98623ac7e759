// What serializing an append costs the client with google-protobuf's base64 decoder and with
// Node's (src/eventstore/protobuf-bytes.ts), for an order event of ~500 bytes and a large
// create of ~56 KB: the client's own generated AppendReq.ProposedMessage, its data and metadata
// set as the client sets them (base64 strings), serializeBinary each time. Same process, the two
// decoders in alternate rounds, the median of each. Run: `npm run bench protobuf-bytes`
// (BENCH_PB_ROUNDS, 6).
import { randomUUID } from 'node:crypto';
import streamsPb from '@eventstore/db-client/generated/streams_pb.js';
import { useGoogleProtobufBase64, useNativeProtobufBase64 } from '../src/eventstore/protobuf-bytes.js';
import { reportFigure } from './report.js';

const ROUNDS = Number(process.env.BENCH_PB_ROUNDS ?? 6);
interface ProposedMessage {
  setData(value: string): void;
  setCustomMetadata(value: string): void;
  serializeBinary(): Uint8Array;
}
const { ProposedMessage } = (streamsPb as unknown as { AppendReq: { ProposedMessage: new () => ProposedMessage } }).AppendReq;

const base64Json = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64');
const orderData = (lines: number) =>
  base64Json({ orderId: randomUUID(), customerId: 'c-1', lines: Array.from({ length: lines }, (_, i) => ({ sku: `SKU-${i}`, quantity: 1 + (i % 3), unitPrice: 1999 })) });
const metadata = base64Json({ $correlationId: randomUUID(), $causationId: randomUUID(), tenantId: 't-1' });

function usPerSerialize(data: string, times: number): number {
  const started = process.hrtime.bigint();
  for (let i = 0; i < times; i++) {
    const message = new ProposedMessage();
    message.setData(data);
    message.setCustomMetadata(metadata);
    message.serializeBinary();
  }
  return Number(process.hrtime.bigint() - started) / 1e3 / times;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

for (const [name, lines, times] of [['order event', 8, 20_000], ['large create', 1_000, 300]] as const) {
  const data = orderData(lines);
  const google: number[] = [];
  const native: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    useGoogleProtobufBase64();
    google.push(usPerSerialize(data, times));
    useNativeProtobufBase64();
    native.push(usPerSerialize(data, times));
  }
  const bytes = Buffer.from(data, 'base64').length;
  console.log(`${name} (${bytes} bytes of data): google-protobuf ${google.map((v) => v.toFixed(2)).join(' / ')} µs, Node ${native.map((v) => v.toFixed(2)).join(' / ')} µs a serialize`);
  reportFigure({ name: `client append serialize, ${name} (${bytes} B)`, value: median(native), unit: 'µs', baseline: median(google), baselineName: "google-protobuf's base64" });
}
