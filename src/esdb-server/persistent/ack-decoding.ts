// Acks and nacks are most of what consumers send (one message per event), so they are decoded
// straight from the bytes; anything else (options, structured UUIDs, unexpected fields) is left
// to google-protobuf. Field numbers are those of the client's persistent.proto / shared.proto.
export type AckOrNack = { kind: 'ack'; ids: string[] } | { kind: 'nack'; ids: string[]; action: number; reason: string };

const ACK = 2;
const NACK = 3;
const LENGTH_DELIMITED = 2;
const VARINT = 0;
const UUID_AS_STRING = (2 << 3) | LENGTH_DELIMITED;

class Reader {
  offset = 0;
  constructor(readonly bytes: Uint8Array) {}

  varint(): number {
    let value = 0;
    for (let shift = 1; ; shift *= 128) {
      if (this.offset >= this.bytes.length) throw new RangeError('truncated varint');
      const byte = this.bytes[this.offset++]!;
      value += (byte & 0x7f) * shift;
      if (byte < 0x80) return value;
    }
  }

  string(length: number): string {
    const end = this.offset + length;
    if (end > this.bytes.length) throw new RangeError('truncated string');
    const text = Buffer.from(this.bytes.buffer, this.bytes.byteOffset + this.offset, length).toString('utf8');
    this.offset = end;
    return text;
  }
}

/** The ack or nack in a ReadReq, or undefined when google-protobuf should decode it. */
export function decodeAckOrNack(bytes: Uint8Array): AckOrNack | undefined {
  try {
    const reader = new Reader(bytes);
    if (bytes.length === 0) return undefined;
    const tag = reader.varint();
    const field = tag >>> 3;
    if ((tag & 7) !== LENGTH_DELIMITED || (field !== ACK && field !== NACK)) return undefined;
    const end = reader.varint() + reader.offset;
    if (end !== bytes.length) return undefined;
    const ids: string[] = [];
    let action = 0;
    let reason = '';
    while (reader.offset < end) {
      const inner = reader.varint();
      const innerField = inner >>> 3;
      const wireType = inner & 7;
      if (innerField === 2 && wireType === LENGTH_DELIMITED) {
        const uuidEnd = reader.varint() + reader.offset;
        if (reader.varint() !== UUID_AS_STRING) return undefined;
        ids.push(reader.string(reader.varint()).toLowerCase());
        if (reader.offset !== uuidEnd) return undefined;
      } else if (field === NACK && innerField === 3 && wireType === VARINT) {
        action = reader.varint();
      } else if (field === NACK && innerField === 4 && wireType === LENGTH_DELIMITED) {
        reason = reader.string(reader.varint());
      } else {
        return undefined;
      }
    }
    return field === ACK ? { kind: 'ack', ids } : { kind: 'nack', ids, action, reason };
  } catch {
    return undefined;
  }
}
