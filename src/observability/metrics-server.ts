// The HTTP port of a process that runs no API (ROLE=workers): `GET /metrics` for Prometheus, and
// `GET /health` / `GET /ready` answered as the API answers them, so the image's HEALTHCHECK and
// an orchestrator's probes work the same for every role.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { PROBLEM_CONTENT_TYPE, problem } from '../api/problem.js';
import { METRICS_REFUSAL, isForwarded, metricsAccessFrom, metricsDecision } from './metrics-access.js';

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

export interface MetricsServerOptions {
  port: number;
  host: string;
  /** `/ready` answers 200 while this resolves true (the event store answers), else 503 (with the reason when given). */
  isReady?: () => Promise<boolean | { code: 'EVENT_STORE_UNAVAILABLE' | 'STORAGE_FULL' | 'READ_MODEL_UNAVAILABLE'; detail: string; extensions?: Record<string, unknown> }>;
  /** Where METRICS_TOKEN is read (default process.env): set, /metrics needs it as a Bearer token. */
  env?: NodeJS.ProcessEnv;
}

const ROUTES = ['/health', '/ready', '/metrics'];

export async function startMetricsServer(registry: Registry, options: MetricsServerOptions): Promise<MetricsServer> {
  const isReady = options.isReady ?? (async () => true);
  const access = metricsAccessFrom(options.env);
  const server: Server = createServer((request, response) => {
    const path = request.url?.split('?')[0] ?? '/';
    if (!ROUTES.includes(path)) {
      sendProblem(response, 404, problem('ROUTE_NOT_FOUND', `no route ${request.method} ${path} (this workers-only port serves ${ROUTES.join(', ')})`, {}, path));
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('allow', 'GET, HEAD');
      sendProblem(response, 405, problem('METHOD_NOT_ALLOWED', `${request.method} is not allowed on ${path}`, {}, path));
      return;
    }
    if (path === '/health') {
      sendJson(response, 200, { status: 'ok' });
      return;
    }
    if (path === '/ready') {
      isReady().then(
        (ready) =>
          ready === true
            ? sendJson(response, 200, { status: 'ready' })
            : sendProblem(response, 503, ready ? problem(ready.code, ready.detail, ready.extensions ?? {}, path) : problem('EVENT_STORE_UNAVAILABLE', 'the event store did not answer a read', {}, path)),
        () => sendProblem(response, 503, problem('EVENT_STORE_UNAVAILABLE', 'the event store did not answer a read', {}, path)),
      );
      return;
    }
    // No tenant talks to this port, so /metrics is open here unless METRICS_TOKEN is set.
    const decision = metricsDecision(access, { authorization: request.headers.authorization, remoteAddress: request.socket.remoteAddress, forwarded: isForwarded(request.headers) }, true);
    if (decision !== 'allowed') {
      response.setHeader('www-authenticate', 'Bearer realm="metrics"');
      sendProblem(response, METRICS_REFUSAL.status, problem(METRICS_REFUSAL.code, METRICS_REFUSAL.detail, {}, path));
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (error: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(error)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
}

function sendProblem(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': PROBLEM_CONTENT_TYPE }).end(JSON.stringify(body));
}
