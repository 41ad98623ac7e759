// The HTTP request as a SERVER span (HTTP semantic conventions), a small fastify hook rather than
// an instrumentation that patches `http`: a caller's `traceparent` (W3C) becomes the parent, the
// span is named by method and route template, and the route's handler runs with it active, so
// the command's spans hang under it. Attributes are bounded: the route template, never the path
// or query (they hold order and customer ids), no headers. A caller's unsampled `traceparent`
// (flags 00) under a parent-based sampler starts no span: the handler runs in the caller's
// context, so everything after follows the caller's decision; a root the sampler drops gets its
// non-recording span and no attributes.
//
// The request's context is kept on the request (a decoration, so every request has the same shape;
// a WeakMap entry per request cost the GC more): the route's handler starts in it, and route code
// that reaches the store after an `await` hands it over with `inRequestContext` (trace-api.ts says
// why no AsyncLocalStorage carries it). The request's logger gets the ids of a recorded span as
// bindings, so its lines after an `await` (fastify's `request completed` too) still carry them.
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, propagation, trace, type Context, type Span } from '@opentelemetry/api';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import { bindTraceContext } from './log-trace-context.js';
import { startSpan, tracingEnabled, unsampledParent } from './trace-api.js';

const CONTEXT = Symbol('order-store.trace-context');
/** Only a recorded span's: what is left to do at the response. */
const SPAN = Symbol('order-store.trace-span');
type TracedRequest = FastifyRequest & { [CONTEXT]?: Context | undefined; [SPAN]?: Span | undefined };

/** The request's trace context (its span's, or a caller's dropped one); undefined when tracing is off. */
export function requestContext(request: FastifyRequest): Context | undefined {
  return (request as TracedRequest)[CONTEXT];
}

/** Runs `fn` in the request's trace context: for route code that calls the store after an `await`. */
export function inRequestContext<T>(request: FastifyRequest, fn: () => T): T {
  const active = (request as TracedRequest)[CONTEXT];
  return active === undefined ? fn() : context.with(active, fn);
}

/** Adds nothing when tracing is off at build time (the SDK starts before the app is built). */
export function registerHttpTracing(app: FastifyInstance): void {
  if (!tracingEnabled()) return;
  app.decorateRequest(CONTEXT as unknown as string, undefined);
  app.decorateRequest(SPAN as unknown as string, undefined);
  // Callback hooks rather than async ones: no promise and no microtask per request for them.
  app.addHook('onRequest', (request, reply, done) => {
    if (tracingEnabled()) startRequestSpan(request as TracedRequest, reply);
    done();
  });
  // The headers the registered propagator reads (traceparent, tracestate, baggage by default): a
  // request with none of them (most, unless a traced service calls) skips the extraction.
  const fields = propagation.fields().map((field) => field.toLowerCase());
  const carriesContext = (headers: FastifyRequest['headers']) => fields.some((field) => headers[field] !== undefined);
  function startRequestSpan(request: TracedRequest, reply: FastifyReply): void {
    const parent = carriesContext(request.headers) ? propagation.extract(ROOT_CONTEXT, request.headers) : ROOT_CONTEXT;
    if (unsampledParent(parent)) {
      request[CONTEXT] = parent;
      return;
    }
    // Named only for a span the SDK starts (a dropped root needs no name: trace-api.ts).
    const span = startSpan(() => spanName(request), { kind: SpanKind.SERVER }, parent);
    request[CONTEXT] = trace.setSpan(parent, span);
    // Only a recorded span has anything left to do at the response.
    if (!span.isRecording()) return;
    request[SPAN] = span;
    endIfAborted(request);
    // Fastify's request and reply each hold the request's logger.
    request.log = reply.log = bindTraceContext(request.log, span.spanContext());
    const route = request.routeOptions.url;
    const [host, port] = splitHost(request.host);
    span.setAttributes({
      'http.request.method': request.method,
      ...(route ? { 'http.route': route } : {}),
      'url.scheme': request.protocol,
      'network.protocol.version': request.raw.httpVersion,
      ...(host ? { 'server.address': host } : {}),
      ...(port ? { 'server.port': port } : {}),
    });
  }
  // The handler starts in the request's context (what it calls before its first `await` sees it).
  app.addHook('onRoute', (route) => {
    const handler = route.handler as RouteHandlerMethod;
    route.handler = function tracedHandler(this: FastifyInstance, request, reply) {
      const active = (request as TracedRequest)[CONTEXT];
      return active ? context.with(active, handler, this, request, reply) : handler.call(this, request, reply);
    } as RouteHandlerMethod;
  });
  app.addHook('onResponse', (request, reply, done) => {
    const span = (request as TracedRequest)[SPAN];
    if (span) endRequestSpan(request as TracedRequest, span, reply);
    done();
  });
  function endRequestSpan(request: TracedRequest, span: Span, reply: FastifyReply): void {
    request[SPAN] = undefined;
    const status = reply.statusCode;
    span.setAttribute('http.response.status_code', status);
    // Server spans: 5xx is the server's fault, 4xx the caller's (status left unset).
    if (status >= 500) {
      span.setAttribute('error.type', String(status));
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
  }
}

/**
 * A recorded request whose client leaves before the answer: its span ends as aborted. Listened
 * for on the recorded request only, not with fastify's onRequestAbort hook, which puts a
 * `close` listener on every request (99 in 100 unsampled at 1%).
 */
function endIfAborted(request: TracedRequest): void {
  request.raw.once('close', () => {
    const span = request[SPAN];
    if (!span || !request.raw.aborted) return;
    request[SPAN] = undefined;
    span.setAttribute('error.type', 'aborted');
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'the client closed the connection' });
    span.end();
  });
}

function spanName(request: FastifyRequest): string {
  const route = request.routeOptions.url;
  return route ? `${request.method} ${route}` : request.method;
}

function splitHost(host: string | undefined): [string | undefined, number | undefined] {
  if (!host) return [undefined, undefined];
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(host);
  if (!match) return [undefined, undefined];
  return [match[1], match[2] ? Number(match[2]) : undefined];
}
