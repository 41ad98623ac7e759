// The HTTP request as a SERVER span (HTTP semantic conventions), a small fastify hook rather than
// an instrumentation that patches `http`: a caller's `traceparent` (W3C) becomes the parent, the
// span is named by method and route template, and the route's handler runs with it active, so
// the command's spans hang under it. Attributes are bounded: the route template, never the path
// or query (they hold order and customer ids), no headers. A caller's unsampled `traceparent`
// (flags 00) under a parent-based sampler starts no span: the handler runs in the caller's
// context, so everything after follows the caller's decision; a root the sampler drops gets its
// non-recording span and no attributes.
//
// The request's context is kept on the request: the route's handler starts in it, and route code
// that reaches the store after an `await` hands it over with `inRequestContext` (trace-api.ts says
// why no AsyncLocalStorage carries it). The request's logger gets the ids of a recorded span as
// bindings, so its lines after an `await` (fastify's `request completed` too) still carry them.
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, propagation, trace, type Context, type Span } from '@opentelemetry/api';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import { bindTraceContext } from './log-trace-context.js';
import { tracer, tracingEnabled, unsampledParent } from './trace-api.js';

const spans = new WeakMap<FastifyRequest, Span>();
const contexts = new WeakMap<FastifyRequest, Context>();

/** The request's trace context (its span's, or a caller's dropped one); undefined when tracing is off. */
export function requestContext(request: FastifyRequest): Context | undefined {
  return contexts.get(request);
}

/** Runs `fn` in the request's trace context: for route code that calls the store after an `await`. */
export function inRequestContext<T>(request: FastifyRequest, fn: () => T): T {
  const active = contexts.get(request);
  return active === undefined ? fn() : context.with(active, fn);
}

/** Adds nothing when tracing is off at build time (the SDK starts before the app is built). */
export function registerHttpTracing(app: FastifyInstance): void {
  if (!tracingEnabled()) return;
  // Callback hooks rather than async ones: no promise and no microtask per request for them.
  app.addHook('onRequest', (request, reply, done) => {
    if (tracingEnabled()) startRequestSpan(request, reply);
    done();
  });
  function startRequestSpan(request: FastifyRequest, reply: FastifyReply): void {
    const parent = propagation.extract(ROOT_CONTEXT, request.headers);
    const dropped = unsampledParent(parent);
    if (dropped) {
      contexts.set(request, parent);
      return;
    }
    const route = request.routeOptions.url;
    const method = request.method;
    const span = tracer().startSpan(route ? `${method} ${route}` : method, { kind: SpanKind.SERVER }, parent);
    contexts.set(request, trace.setSpan(parent, span));
    // Only a recorded span has anything left to do at the response.
    if (!span.isRecording()) return;
    spans.set(request, span);
    // Fastify's request and reply each hold the request's logger.
    request.log = reply.log = bindTraceContext(request.log, span.spanContext());
    const [host, port] = splitHost(request.host);
    span.setAttributes({
      'http.request.method': method,
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
      const active = contexts.get(request);
      return active ? context.with(active, () => handler.call(this, request, reply)) : handler.call(this, request, reply);
    } as RouteHandlerMethod;
  });
  app.addHook('onResponse', (request, reply, done) => {
    endRequestSpan(request, reply);
    done();
  });
  function endRequestSpan(request: FastifyRequest, reply: FastifyReply): void {
    const span = spans.get(request);
    if (!span) return;
    spans.delete(request);
    if (!span.isRecording()) return;
    const status = reply.statusCode;
    span.setAttribute('http.response.status_code', status);
    // Server spans: 5xx is the server's fault, 4xx the caller's (status left unset).
    if (status >= 500) {
      span.setAttribute('error.type', String(status));
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
  }
  app.addHook('onRequestAbort', (request, done) => {
    const span = spans.get(request);
    spans.delete(request);
    if (span?.isRecording()) {
      span.setAttribute('error.type', 'aborted');
      span.setStatus({ code: SpanStatusCode.ERROR, message: 'the client closed the connection' });
      span.end();
    }
    done();
  });
}

function splitHost(host: string | undefined): [string | undefined, number | undefined] {
  if (!host) return [undefined, undefined];
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(host);
  if (!match) return [undefined, undefined];
  return [match[1], match[2] ? Number(match[2]) : undefined];
}
