// EventStoreDB client spans, as @eventstore/opentelemetry makes them: `appendToStream` on the
// client's prototype is wrapped so every append (a command's, a handler's reaction, a stock
// count) is a `streams.append` CLIENT span, and each appended JSON event carries that span's
// `$traceId`/`$spanId` in its metadata. Reproduced rather than used: that package (0.1.0)
// patches through require hooks, which never see this ESM service's import of the client, and
// pulls in @opentelemetry/instrumentation 0.50. Differences: the ids are written only for a
// sampled span (inside a caller's trace the sampler dropped, `$traceparent` with flags 00
// instead, so consumers follow the drop; a root dropped here, nothing: esdb-trace-context.ts),
// `db.system` is `eventstoredb` (that package puts its own name there), and the span carries the
// revision the append made. Inside a trace a parent-based sampler dropped, no span is started at
// all: the events carry a caller's dropped context, and nothing of one this process dropped itself.
import { SpanKind, SpanStatusCode, context, trace, type Attributes, type Span, type SpanContext } from '@opentelemetry/api';
import type { AppendExpectedRevision, AppendResult, EventData, EventStoreDBClient } from '@eventstore/db-client';
import { APPEND_SPAN, DB_SYSTEM, READ_SPAN, EsdbAttributes, SPAN_ID_KEY, TRACE_ID_KEY, TRACEPARENT_KEY, unsampledTraceparent } from './esdb-trace-context.js';
import { droppedHere, startSpan, tracer, unsampledParent } from './trace-api.js';
import { jsonUtf8 } from '../eventstore/event-serialization.js';

type Append = EventStoreDBClient['appendToStream'];
interface AppendOptions {
  expectedRevision?: AppendExpectedRevision;
  credentials?: { username: string };
}

/** Wraps `prototype.appendToStream`; returns the function that puts it back. */
export function instrumentEventStoreClient(clientClass: { prototype: EventStoreDBClient }): () => void {
  const prototype = clientClass.prototype;
  const original = prototype.appendToStream as Append & { __traced?: true };
  if (original.__traced) return () => undefined;
  const call = (client: EventStoreDBClient, streamName: string, events: EventData | EventData[], options?: AppendOptions) =>
    (original as unknown as (...args: unknown[]) => Promise<AppendResult>).call(client, streamName, events, options);
  const traced = function appendToStream(this: EventStoreDBClient, streamName: string, events: EventData | EventData[], options?: AppendOptions): Promise<AppendResult> {
    const dropped = unsampledParent();
    // A drop of this process's own travels in no event (trace-api.ts, `dropsUntraced`); a caller's does.
    if (dropped) return call(this, streamName, droppedHere(dropped) ? events : withUnsampledContext(events, dropped.spanContext()), options);
    return tracedAppend(this, streamName, events, options);
  } as unknown as Append & { __traced?: true };
  async function tracedAppend(client: EventStoreDBClient, streamName: string, events: EventData | EventData[], options?: AppendOptions): Promise<AppendResult> {
    const span = startSpan(APPEND_SPAN, { kind: SpanKind.CLIENT }, context.active());
    if (!span.isRecording()) {
      // Dropped: nothing to record. Under a caller's unsampled context (a sampler that does not
      // follow parents), that context goes on in the events; a root of this process's own, nothing.
      const underCaller = trace.getSpanContext(context.active())?.isRemote === true;
      try {
        return await call(client, streamName, underCaller ? withUnsampledContext(events, span.spanContext()) : events, options);
      } finally {
        span.end();
      }
    }
    const list = Array.isArray(events) ? events : [events];
    const attributes: Attributes = {
      [EsdbAttributes.STREAM]: streamName,
      [EsdbAttributes.DATABASE_SYSTEM]: DB_SYSTEM,
      [EsdbAttributes.DATABASE_OPERATION]: 'appendToStream',
      'messaging.system': DB_SYSTEM,
      'messaging.operation.type': 'send',
      'messaging.destination.name': streamName,
      'messaging.batch.message_count': list.length,
    };
    if (options?.credentials?.username) attributes[EsdbAttributes.DATABASE_USER] = options.credentials.username;
    const expected = options?.expectedRevision;
    if (expected !== undefined) attributes['db.eventstoredb.expected_revision'] = String(expected);
    span.setAttributes(attributes);
    const { traceId, spanId } = span.spanContext();
    const sent = list.map(withMetadataFields({ [TRACE_ID_KEY]: traceId, [SPAN_ID_KEY]: spanId }));
    try {
      setServerAddress(span, await resolveUriOf(client));
      const result = await call(client, streamName, Array.isArray(events) ? sent : sent[0]!, options);
      span.setAttribute('db.eventstoredb.stream.revision', String(result.nextExpectedRevision));
      return result;
    } catch (error) {
      span.setAttribute('error.type', error instanceof Error ? error.name : 'Error');
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      throw error;
    } finally {
      span.end();
    }
  }
  traced.__traced = true;
  prototype.appendToStream = traced;
  const unpatchReads = [instrumentRead(prototype, 'readStream'), instrumentRead(prototype, 'readAll')];
  return () => {
    if (prototype.appendToStream === traced) prototype.appendToStream = original;
    for (const unpatch of unpatchReads) unpatch();
  };
}

/**
 * A read (`readStream`, `readAll`: a command's load, a replay's catch-up over `$all`, `orders
 * trace`) inside a recorded trace as a `streams.read` CLIENT span from the call until the read
 * stream closes (read to its end, left early, or failed). @eventstore/opentelemetry records no
 * reads; the name and attributes follow its append's.
 */
function instrumentRead(prototype: EventStoreDBClient, name: 'readStream' | 'readAll'): () => void {
  const original = prototype[name] as (...args: unknown[]) => NodeJS.ReadableStream;
  const traced = function (this: EventStoreDBClient, ...args: unknown[]) {
    // Only inside a recorded trace: the service's own periodic reads (lag, health) are no traces of their own.
    if (!trace.getSpan(context.active())?.isRecording()) return original.apply(this, args);
    const span = tracer().startSpan(READ_SPAN, { kind: SpanKind.CLIENT });
    const stream = original.apply(this, args);
    const streamName = name === 'readStream' ? String(args[0]) : '$all';
    span.setAttributes({
      [EsdbAttributes.DATABASE_SYSTEM]: DB_SYSTEM,
      [EsdbAttributes.DATABASE_OPERATION]: name,
      [EsdbAttributes.STREAM]: streamName,
    });
    stream.once('error', (error: unknown) => {
      span.setAttribute('error.type', error instanceof Error ? error.name : 'Error');
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
    });
    stream.once('close', () => span.end());
    return stream;
  };
  (prototype as unknown as Record<string, unknown>)[name] = traced;
  return () => {
    if ((prototype as unknown as Record<string, unknown>)[name] === traced) (prototype as unknown as Record<string, unknown>)[name] = original;
  };
}

/** The node the client talks to (`host:port`), as @eventstore/opentelemetry reads it. */
async function resolveUriOf(client: EventStoreDBClient): Promise<string | undefined> {
  const resolve = (client as unknown as { resolveUri?: () => Promise<string> }).resolveUri;
  return typeof resolve === 'function' ? resolve.call(client).catch(() => undefined) : undefined;
}

function setServerAddress(span: Span, uri: string | undefined): void {
  if (!uri) return;
  try {
    const { hostname, port } = new URL(`http://${uri}`);
    span.setAttribute(EsdbAttributes.SERVER_ADDRESS, hostname);
    if (port) span.setAttribute(EsdbAttributes.SERVER_PORT, Number(port));
  } catch {
    // Not a host:port: left out.
  }
}

/** The JSON events with the dropped trace's context in `$traceparent` (one string for them all). */
function withUnsampledContext(events: EventData | EventData[], context: SpanContext): EventData | EventData[] {
  const mark = withMetadataFields(...unsampledFieldsOf(context));
  return Array.isArray(events) ? events.map(mark) : mark(events);
}

// The last dropped context's `$traceparent` and its JSON text: a dropped trace's appends (the
// command's, then each reaction's, in the delivery's context) all carry the same context object.
let lastUnsampled: SpanContext | undefined;
let lastUnsampledFields: [Record<string, string>, string] | undefined;

function unsampledFieldsOf(context: SpanContext): [Record<string, string>, string] {
  if (context === lastUnsampled && lastUnsampledFields) return lastUnsampledFields;
  const fields = { [TRACEPARENT_KEY]: unsampledTraceparent(context) };
  lastUnsampled = context;
  return (lastUnsampledFields = [fields, jsonMembers(fields)]);
}

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * Adds `fields` to a JSON event's metadata, an object or the UTF-8 bytes of a JSON object (what
 * src/eventstore hands the client, so that it need not stringify and base64 it): bytes stay bytes,
 * the fields spliced in before the closing brace (the last of duplicate keys wins, as with a
 * spread), and an object becomes the bytes of its JSON with the fields (the same stored bytes). Consecutive events of one append that share a metadata object (a command's do) share
 * its result. `known`: the fields' JSON members (`jsonMembers`), when the caller keeps them.
 */
function withMetadataFields(fields: Record<string, string>, known?: string): (event: EventData) => EventData {
  let members = known;
  let last: object | undefined;
  let lastSent: EventData['metadata'] | undefined;
  return (event) => {
    if (event.contentType !== 'application/json') return event;
    const metadata = event.metadata;
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) return event;
    let sent = metadata === last ? lastSent : undefined;
    if (sent === undefined) {
      if (metadata instanceof Uint8Array) {
        sent = spliceJsonObject(metadata, (members ??= jsonMembers(fields)));
        if (sent === undefined) return event;
      } else {
        // Sent as the bytes of its JSON, which the client would make of it anyway: handed an
        // object, it stringifies and base64-encodes it, and protobuf decodes that base64 back,
        // twice per event (event-serialization.ts's metadataToSend says more).
        sent = jsonUtf8({ ...metadata, ...fields });
      }
      last = metadata;
      lastSent = sent;
    }
    // Field by field rather than a spread of the event (cheaper: with the kept members above, a
    // dropped append of two events went from 1.6-3.4 to 0.8-2.6 µs in a loop, session 12).
    return { id: event.id, contentType: event.contentType, type: event.type, data: event.data, metadata: sent } as EventData;
  };
}


/** `"k":"v",...` of `fields` (the JSON text of the object without its braces). */
function jsonMembers(fields: Record<string, string>): string {
  let text = '';
  for (const key in fields) text += `${text ? ',' : ''}${JSON.stringify(key)}:${JSON.stringify(fields[key])}`;
  return text;
}

/**
 * `{...}` with `members` (the JSON text `"k":"v",...`) added before its closing brace; undefined
 * when the bytes are no JSON object. Written in a Buffer from Node's pool: a small `new
 * Uint8Array` and a TextEncoder round trip cost more than the rest of the splice.
 */
export function spliceJsonObject(bytes: Uint8Array, members: string): Uint8Array | undefined {
  let end = bytes.length - 1;
  while (end > 0 && isJsonSpace(bytes[end]!)) end--;
  let start = 0;
  while (start < end && isJsonSpace(bytes[start]!)) start++;
  if (bytes[start] !== OPEN_BRACE || bytes[end] !== CLOSE_BRACE) return undefined;
  let inner = end - 1;
  while (inner > start && isJsonSpace(bytes[inner]!)) inner--;
  const empty = inner === start;
  const length = Buffer.byteLength(members);
  const out = Buffer.allocUnsafe(end + (empty ? 0 : 1) + length + 1);
  out.set(bytes.subarray(0, end), 0);
  let at = end;
  if (!empty) out[at++] = 0x2c;
  at += out.write(members, at, 'utf8');
  out[at] = CLOSE_BRACE;
  // A plain Uint8Array view of it: the client sends metadata as bytes only when its constructor
  // is Uint8Array (a Buffer would be stringified as JSON).
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

function isJsonSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}
