// An outgoing HTTP call to a provider as a CLIENT span (HTTP semantic conventions) whose context
// goes out in the request's `traceparent`, so the provider's side (or a proxy) can join the
// trace. Named by method and URL template: the URL's ids are never attributes. Inside a trace the
// sampler dropped no span is started, but the dropped context still goes out (flags 00), so the
// provider's side drops it too.
import { SpanKind, SpanStatusCode, context, propagation, trace, type Span } from '@opentelemetry/api';
import { tracer, tracingEnabled, unsampledParent } from './trace-api.js';

export interface ClientCall {
  method: string;
  /** The URL with its ids as placeholders, e.g. `https://graph.facebook.com/v21.0/{phone-number-id}/messages`. */
  urlTemplate: string;
  /** Where the request goes, for server.address / server.port. */
  url: string;
  /** Attributes of the call that are bounded and say nothing about a customer. */
  attributes?: Record<string, string | number | boolean>;
}

export interface ClientSpan {
  /** The request's headers plus `traceparent` (and `tracestate`) of this span. */
  headers(base: Record<string, string>): Record<string, string>;
  answered(status: number): void;
  failed(errorType: string, message: string): void;
}

const UNTRACED: ClientSpan = { headers: (base) => base, answered: () => undefined, failed: () => undefined };
const DROPPED: ClientSpan = {
  headers(base) {
    const carrier: Record<string, string> = { ...base };
    propagation.inject(context.active(), carrier);
    return carrier;
  },
  answered: () => undefined,
  failed: () => undefined,
};

export async function traceClientCall<T>(call: ClientCall, run: (span: ClientSpan) => Promise<T>): Promise<T> {
  if (!tracingEnabled()) return run(UNTRACED);
  if (unsampledParent()) return run(DROPPED);
  const target = new URL(call.url);
  const port = target.port ? Number(target.port) : target.protocol === 'https:' ? 443 : 80;
  const path = new URL(call.urlTemplate).pathname;
  const span = tracer().startSpan(`${call.method} ${decodeURI(path)}`, { kind: SpanKind.CLIENT });
  if (span.isRecording()) {
    span.setAttributes({
      'http.request.method': call.method,
      'server.address': target.hostname,
      'server.port': port,
      'url.scheme': target.protocol.replace(':', ''),
      'url.template': call.urlTemplate,
      ...call.attributes,
    });
  }
  const active = trace.setSpan(context.active(), span);
  const handle = clientSpan(span, active);
  try {
    return await context.with(active, () => run(handle));
  } catch (error) {
    if (span.isRecording() && !ended.has(span)) handle.failed(error instanceof Error ? error.name : 'Error', error instanceof Error ? error.message : String(error));
    throw error;
  } finally {
    span.end();
  }
}

const ended = new WeakSet<Span>();

function clientSpan(span: Span, active: ReturnType<typeof context.active>): ClientSpan {
  return {
    headers(base) {
      const carrier: Record<string, string> = { ...base };
      propagation.inject(active, carrier);
      return carrier;
    },
    answered(status) {
      span.setAttribute('http.response.status_code', status);
      if (status >= 400) {
        span.setAttribute('error.type', String(status));
        span.setStatus({ code: SpanStatusCode.ERROR });
        ended.add(span);
      }
    },
    failed(errorType, message) {
      span.setAttribute('error.type', errorType);
      span.setStatus({ code: SpanStatusCode.ERROR, message });
      ended.add(span);
    },
  };
}
