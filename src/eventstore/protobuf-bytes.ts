// @eventstore/db-client hands google-protobuf every JSON event's data (and object metadata) as a
// base64 string (`Buffer.from(json).toString('base64')`, dist/streams/appendToStream/*.js), and
// the generated messages turn it back into bytes when they are serialized, through
// `jspb.Message.bytesAsU8`: google-protobuf 3.21 decodes base64 in JavaScript, one callback per
// byte. That was 18% of the main thread while a burst of 56 KB creates was appended, and ~4,900
// JS calls per order command in `npm start`. Node decodes the same string natively.
//
// This replaces that one function, on the google-protobuf instance the client's generated
// messages use, with Node's decoder for the strings the client makes. The bytes on the wire are
// the same (test/unit/eventstore/protobuf-bytes.unit.test.ts compares both decoders), so it holds
// for a real EventStoreDB as for the embedded one; anything that is not plain base64 (google's
// web-safe `.` padding, say) still goes to google-protobuf's own decoder.
import { createRequire } from 'node:module';

interface JspbMessage {
  bytesAsU8(value: unknown): Uint8Array | null | undefined;
}

const clientRequire = createRequire(createRequire(import.meta.url).resolve('@eventstore/db-client'));
const jspb = clientRequire('google-protobuf') as { Message: JspbMessage };

/** google-protobuf's own decoder, as it was before install. */
export const googleBytesAsU8: JspbMessage['bytesAsU8'] = jspb.Message.bytesAsU8.bind(jspb.Message);

/** jspb.Message.bytesAsU8 with Node's base64 decoder for padded base64 strings. */
export function nativeBytesAsU8(value: unknown): Uint8Array | null | undefined {
  if (typeof value !== 'string' || value.length % 4 !== 0) return googleBytesAsU8(value);
  const bytes = Buffer.from(value, 'base64');
  // Node skips what is not base64 where google-protobuf reads it (`.` padding, white space):
  // a decoded length short of what the string's length says sends the string to google's decoder.
  const padding = value.endsWith('==') ? 2 : value.endsWith('=') ? 1 : 0;
  if (bytes.byteLength !== (value.length / 4) * 3 - padding) return googleBytesAsU8(value);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Installs nativeBytesAsU8 on the client's google-protobuf (idempotent). */
export function useNativeProtobufBase64(): void {
  jspb.Message.bytesAsU8 = nativeBytesAsU8;
}

/** Puts google-protobuf's own decoder back (the benchmark's baseline). */
export function useGoogleProtobufBase64(): void {
  jspb.Message.bytesAsU8 = googleBytesAsU8;
}

/** The decoder the client's messages use now (for the tests). */
export function installedBytesAsU8(): JspbMessage['bytesAsU8'] {
  return jspb.Message.bytesAsU8;
}
