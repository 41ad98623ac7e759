// EventStoreDB client spans, as @eventstore/opentelemetry makes them: `appendToStream` on the
// client's prototype is wrapped so every append (a command's, a handler's reaction, a stock
// count) is a `streams.append` CLIENT span, and each appended JSON event carries that span's
// `$traceId`/`$spanId` in its metadata. Reproduced rather than used: that package (0.1.0)
// patches through require hooks, which never see this ESM service's import of the client, and
// pulls in @opentelemetry/instrumentation 0.50. Differences: the ids are written only for a
// sampled span (a 1% sampler leaves 99% of events as they were), `db.system` is `eventstoredb`
// (that package puts its own name there), and the span carries the revision the append made.
import { SpanKind, SpanStatusCode, type Attributes, type Span } from '@opentelemetry/api';
import type { AppendExpectedRevision, AppendResult, EventData, EventStoreDBClient } from '@eventstore/db-client';
import { APPEND_SPAN, DB_SYSTEM, EsdbAttributes, withTraceContext } from './esdb-trace-context.js';
import { tracer } from './trace-api.js';

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
  const traced = async function appendToStream(this: EventStoreDBClient, streamName: string, events: EventData | EventData[], options?: AppendOptions): Promise<AppendResult> {
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
    const span = tracer().startSpan(APPEND_SPAN, { kind: SpanKind.CLIENT, attributes });
    const sampled = span.isRecording();
    const sent = sampled
      ? list.map((event) =>
          event.contentType === 'application/json' && isPlainObject(event.metadata)
            ? { ...event, metadata: withTraceContext(event.metadata, span.spanContext()) }
            : event,
        )
      : list;
    try {
      if (sampled) setServerAddress(span, await resolveUriOf(this));
      const result = await (original as unknown as (...args: unknown[]) => Promise<AppendResult>).call(this, streamName, Array.isArray(events) ? sent : sent[0], options);
      if (sampled) span.setAttribute('db.eventstoredb.stream.revision', String(result.nextExpectedRevision));
      return result;
    } catch (error) {
      span.setAttribute('error.type', error instanceof Error ? error.name : 'Error');
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      throw error;
    } finally {
      span.end();
    }
  } as unknown as Append & { __traced?: true };
  traced.__traced = true;
  prototype.appendToStream = traced;
  return () => {
    if (prototype.appendToStream === traced) prototype.appendToStream = original;
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

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !(value instanceof Uint8Array) && !Array.isArray(value);
}
