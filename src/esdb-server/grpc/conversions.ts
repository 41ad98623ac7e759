// Turning storage values into protocol messages and protocol fields into storage values.
import type { ExpectedRevision, RecordedEvent, ResolvedEvent } from '../log/types.js';
import { sharedPb, streamsPb } from './protocol.js';
import { invalidArgument } from './rpc-errors.js';

const UINT64_MAX = (1n << 64n) - 1n;

export function streamIdentifier(stream: string): InstanceType<typeof sharedPb.StreamIdentifier> {
  return new sharedPb.StreamIdentifier().setStreamName(Buffer.from(stream, 'utf8'));
}

export function streamNameOf(identifier: InstanceType<typeof sharedPb.StreamIdentifier> | undefined): string {
  if (!identifier) throw invalidArgument('stream_identifier is required');
  const name = Buffer.from(identifier.getStreamName_asU8()).toString('utf8');
  if (name.length === 0) throw invalidArgument('stream name must not be empty');
  return name;
}

/** Parses a uint64 carried as a decimal string; the store keeps revisions and positions as numbers. */
export function parseUint64(value: string, field: string): number {
  if (!/^\d+$/.test(value)) throw invalidArgument(`${field} must be an unsigned integer, got '${value}'`);
  const big = BigInt(value);
  if (big > UINT64_MAX) throw invalidArgument(`${field} is out of range`);
  return big > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(big);
}

/** A revision the store can hold exactly (a revision beyond 2^53 can never match). */
export function parseRevision(value: string, field: string): number {
  const parsed = parseUint64(value, field);
  if (parsed === Number.MAX_SAFE_INTEGER && BigInt(value) !== BigInt(Number.MAX_SAFE_INTEGER)) {
    throw invalidArgument(`${field} is out of range`);
  }
  return parsed;
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function parseUuid(uuid: InstanceType<typeof sharedPb.UUID> | undefined, field: string): string {
  if (!uuid) throw invalidArgument(`${field} is required`);
  let text: string;
  if (uuid.hasStructured()) {
    const structured = uuid.getStructured()!;
    const most = BigInt.asUintN(64, BigInt(structured.getMostSignificantBits()));
    const least = BigInt.asUintN(64, BigInt(structured.getLeastSignificantBits()));
    const hex = most.toString(16).padStart(16, '0') + least.toString(16).padStart(16, '0');
    text = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  } else {
    text = uuid.getString().toLowerCase();
  }
  if (!UUID_PATTERN.test(text)) throw invalidArgument(`${field} is not a UUID: '${text}'`);
  return text;
}

export type UuidFormat = 'string' | 'structured';

export function toUuidMessage(id: string, format: UuidFormat): InstanceType<typeof sharedPb.UUID> {
  const uuid = new sharedPb.UUID();
  if (format === 'string') return uuid.setString(id);
  const hex = id.replace(/-/g, '');
  const structured = new sharedPb.UUID.Structured()
    .setMostSignificantBits(BigInt.asIntN(64, BigInt(`0x${hex.slice(0, 16)}`)).toString())
    .setLeastSignificantBits(BigInt.asIntN(64, BigInt(`0x${hex.slice(16)}`)).toString());
  return uuid.setStructured(structured);
}

type RecordedEventMessage = InstanceType<typeof streamsPb.ReadResp.ReadEvent.RecordedEvent>;

/** The setters the Streams and the PersistentSubscriptions RecordedEvent messages both have. */
interface RecordedEventFields {
  setId(value: InstanceType<typeof sharedPb.UUID>): unknown;
  setStreamIdentifier(value: InstanceType<typeof sharedPb.StreamIdentifier>): unknown;
  setStreamRevision(value: string): unknown;
  setCommitPosition(value: string): unknown;
  setPreparePosition(value: string): unknown;
  setData(value: Uint8Array): unknown;
  setCustomMetadata(value: Uint8Array): unknown;
  getMetadataMap(): { set(key: string, value: string): unknown };
}

/** Fills either service's RecordedEvent message from a stored event. */
export function fillRecordedEvent<T extends RecordedEventFields>(message: T, event: RecordedEvent, uuidFormat: UuidFormat): T {
  message.setId(toUuidMessage(event.id, uuidFormat));
  message.setStreamIdentifier(streamIdentifier(event.stream));
  message.setStreamRevision(String(event.revision));
  message.setCommitPosition(String(event.position));
  message.setPreparePosition(String(event.position));
  message.setData(event.data);
  message.setCustomMetadata(event.metadata);
  const map = message.getMetadataMap();
  map.set('type', event.type);
  map.set('content-type', event.contentType);
  map.set('created', event.created.toString());
  return message;
}

export function toRecordedEventMessage(event: RecordedEvent, uuidFormat: UuidFormat): RecordedEventMessage {
  return fillRecordedEvent(new streamsPb.ReadResp.ReadEvent.RecordedEvent(), event, uuidFormat);
}

export function toReadEvent(resolved: ResolvedEvent, uuidFormat: UuidFormat): InstanceType<typeof streamsPb.ReadResp.ReadEvent> {
  const message = new streamsPb.ReadResp.ReadEvent().setCommitPosition(String(resolved.position));
  if (resolved.event) message.setEvent(toRecordedEventMessage(resolved.event, uuidFormat));
  if (resolved.link) message.setLink(toRecordedEventMessage(resolved.link, uuidFormat));
  return message;
}

/** The oneof shared by Append, Delete and Tombstone options. */
interface ExpectedRevisionOptions {
  hasRevision(): boolean;
  getRevision(): string;
  hasNoStream(): boolean;
  hasAny(): boolean;
  hasStreamExists(): boolean;
}

export function parseExpectedRevision(options: ExpectedRevisionOptions): ExpectedRevision {
  if (options.hasRevision()) return parseRevision(options.getRevision(), 'expected revision');
  if (options.hasNoStream()) return 'no_stream';
  if (options.hasStreamExists()) return 'stream_exists';
  if (options.hasAny()) return 'any';
  throw invalidArgument('expected stream revision is required');
}
