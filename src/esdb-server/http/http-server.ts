// The store's HTTP/1.1 side (on the gRPC port, see shared-port.ts): EventStoreDB's endpoints and
// the UI under /ui/. Reads only, except two POST actions (replay parked, delete a group), which
// refuse cross-site requests (Sec-Fetch-Site / Origin) and ask for a confirmation first. No CORS.
// Bad paths and parameters get 400/404; a request can never take the store down.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { GroupNotFoundError } from '../persistent/subscription-registry.js';
import { WWW_AUTHENTICATE, type Authentication } from '../auth/authenticate.js';
import { ADMINS_GROUP, OPS_GROUP } from '../auth/principal.js';
import { parkedTruncateBefore } from '../persistent/parked-messages.js';
import * as endpoints from './endpoints.js';
import type { EndpointContext } from './endpoints.js';
import { UI_CSS } from './ui-assets.js';
import { createUiTemplates } from './ui-templates.js';
import * as pages from './ui-pages.js';
import type { PageResult } from './ui-pages.js';

const MAX_NAME = 2_000;
const MAX_BODY = 8 * 1024;

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function createStoreHttpServer(context: EndpointContext): Server {
  const templates = createUiTemplates();
  const htmx = readFileSync(createRequire(import.meta.url).resolve('htmx.org/dist/htmx.min.js'));
  const server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000, keepAliveTimeout: 5_000, maxHeaderSize: 16 * 1024 }, (request, response) => {
    handle(request, response).catch((error: unknown) => {
      // Whatever happens here stays with this request: the store's thread must go on.
      try {
        if (error instanceof HttpError) sendPage(request, response, pages.errorPage(error.status, statusTitle(error.status), error.message));
        else sendPage(request, response, pages.errorPage(500, 'Error', 'The request failed inside the store; the store itself is fine.'));
      } catch {
        response.destroy();
      }
    });
  });
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });

  const sendPage = (request: IncomingMessage, response: ServerResponse, result: PageResult, headers: Record<string, string> = {}) => {
    if (response.headersSent) return void response.end();
    if (result.kind === 'redirect') {
      response.writeHead(303, { location: result.location, 'content-length': 0, 'cache-control': 'no-store', ...SECURITY_HEADERS }).end();
      return;
    }
    const html = templates.render(result.template, result.data);
    send(request, response, result.status, 'text/html; charset=utf-8', html, { 'cache-control': 'no-store', ...headers });
  };

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (!allowedHost(request.headers.host, context.host)) throw new HttpError(421, 'This store answers only to the host name it listens on.');
    const { segments, query } = parseTarget(request.url ?? '/');
    const method = request.method ?? 'GET';
    const read = method === 'GET' || method === 'HEAD';
    const json = (value: unknown) => send(request, response, 200, 'application/json; charset=utf-8', JSON.stringify(value));
    const only = (allowed: string) => {
      if (!read) {
        response.writeHead(405, { allow: allowed, 'content-length': 0 }).end();
        return false;
      }
      return true;
    };
    const [first, ...rest] = segments;
    const refusal = await accessRefusal(request, segments);
    if (refusal) {
      const headers: Record<string, string> = refusal.status === 401 ? { 'www-authenticate': WWW_AUTHENTICATE } : {};
      // Drain what a refused request sent, so the connection stays usable for the retry with credentials.
      request.resume();
      return sendPage(request, response, pages.errorPage(refusal.status, statusTitle(refusal.status), refusal.message), headers);
    }

    if (segments.length === 0) return only('GET, HEAD') ? sendPage(request, response, { kind: 'redirect', location: '/ui/' }) : undefined;
    if (first === 'web' && rest.length <= 1) return only('GET, HEAD') ? sendPage(request, response, { kind: 'redirect', location: '/ui/' }) : undefined;
    if (first !== 'ui') {
      const path = segments.join('/');
      const api: Record<string, () => void> = {
        ping: () => json(endpoints.ping()),
        'health/live': () => send(request, response, 204, undefined, undefined),
        info: () => json(endpoints.info(context)),
        gossip: () => json(endpoints.gossip(context)),
        stats: () => json(endpoints.stats(context)),
        metrics: () =>
          void context.metrics.registry.metrics().then(
            (text) => send(request, response, 200, context.metrics.registry.contentType, text),
            () => send(request, response, 500, 'text/plain; charset=utf-8', 'metrics could not be collected\n'),
          ),
      };
      const run = Object.hasOwn(api, path) ? api[path] : undefined;
      if (!run) return notFound(request, response);
      if (only('GET, HEAD')) run();
      return;
    }

    // ---- the UI ------------------------------------------------------------------------------
    const [section, a, b, c, ...extra] = rest;
    if (extra.length > 0) return notFound(request, response);
    if (section === 'assets' && b === undefined) {
      if (!only('GET, HEAD')) return;
      if (a === 'htmx.min.js') return send(request, response, 200, 'text/javascript; charset=utf-8', htmx, { 'cache-control': 'public, max-age=3600' });
      if (a === 'ui.css') return send(request, response, 200, 'text/css; charset=utf-8', UI_CSS, { 'cache-control': 'public, max-age=3600' });
      return notFound(request, response);
    }
    if (section === 'subscriptions' && a !== undefined && b !== undefined && c !== undefined) {
      if (method !== 'POST') {
        response.writeHead(405, { allow: 'POST', 'content-length': 0 }).end();
        return;
      }
      return sendPage(request, response, await groupAction(request, name(a), name(b), c));
    }
    if (!only('GET, HEAD')) return;
    const result = uiPage(section, a, b, c, query);
    if (!result) return notFound(request, response);
    return sendPage(request, response, result);
  }

  /**
   * A secured store asks for credentials (HTTP Basic, realm ESDB, as EventStoreDB) everywhere but
   * its open endpoints, and lets only operators ($admins, $ops) use the UI and the endpoints; wrong
   * credentials are refused everywhere. Plaintext HTTP carries credentials only on loopback: on
   * another interface it is for the open endpoints alone, the rest is HTTPS on the same port.
   */
  async function accessRefusal(request: IncomingMessage, segments: readonly string[]): Promise<{ status: number; message: string } | undefined> {
    if (!context.authenticator.secured) return undefined;
    const path = segments.join('/');
    const open = OPEN_PATHS.has(path);
    const encrypted = (request.socket as { encrypted?: boolean }).encrypted === true;
    if (!encrypted && !isLoopback(context.host)) {
      if (open && request.headers.authorization === undefined) return undefined;
      return { status: 403, message: `This store takes credentials only over HTTPS here: open https://${request.headers.host ?? context.host}${request.url ?? '/'}` };
    }
    let result: Authentication;
    try {
      result = await context.authenticator.authenticate(request.headers.authorization);
    } catch {
      return { status: 503, message: 'Credentials could not be checked; try again.' };
    }
    if (result.kind === 'invalid') return { status: 401, message: 'Wrong user name or password.' };
    if (open) return undefined;
    if (result.kind === 'anonymous') return { status: 401, message: 'Log in with the store\'s credentials (user admin; its password is kept in the data directory, eventstore-admin-password).' };
    const operator = result.principal.groups.includes(ADMINS_GROUP) || result.principal.groups.includes(OPS_GROUP);
    if (!operator) return { status: 403, message: `User '${result.principal.login}' may not use the store's UI and endpoints (only $admins and $ops).` };
    // A stream's page and its events' pages show its data: the stream's read ACL decides, as it
    // does over gRPC ($ops reads no system stream by default, e.g. a user's password hash).
    const [first, section, encoded] = segments;
    const stream = first === 'ui' && section === 'streams' && encoded !== undefined ? name(encoded) : undefined;
    if (stream !== undefined && context.authorizer && !context.authorizer.streamAllowed(result.principal, 'read', stream)) {
      return { status: 403, message: `User '${result.principal.login}' may not read the stream '${stream}'.` };
    }
    return undefined;
  }

  function uiPage(section: string | undefined, a: string | undefined, b: string | undefined, c: string | undefined, query: URLSearchParams): PageResult | undefined {
    switch (section) {
      case undefined:
        return pages.dashboardPage(context);
      case 'streams':
        if (a === undefined) return pages.streamsPage(context, optional(query, 'q'));
        if (c !== undefined) return undefined;
        if (b === undefined) return pages.streamPage(context, name(a), revisionParam(optional(query, 'from'), 'from'));
        return pages.eventPage(context, name(a), revisionParam(b, 'revision')!, query.get('full') === '1');
      case 'trace': {
        if (b !== undefined) return undefined;
        if (a !== undefined) return pages.tracePage(context, name(a));
        const id = optional(query, 'id');
        return id !== undefined ? { kind: 'redirect', location: pages.helpers.traceUrl(name(id)) } : pages.tracePage(context, undefined);
      }
      case 'subscriptions': {
        if (a === undefined) return pages.groupsPage(context, deletedNotice(query));
        if (b === undefined || c !== undefined) return undefined;
        const group = pages.findGroup(context, name(a), name(b));
        if (!group) return pages.errorPage(404, 'Not found', `There is no subscription group '${b}' on '${a}'.`);
        return pages.groupPage(context, group, replayNotice(query));
      }
      case 'projections':
        return a === undefined ? pages.projectionsPage(context) : undefined;
      default:
        return undefined;
    }
  }

  async function groupAction(request: IncomingMessage, source: string, groupName: string, action: string): Promise<PageResult> {
    const refusal = crossSiteRefusal(request);
    if (refusal) throw new HttpError(403, refusal);
    const form = await readForm(request);
    const group = pages.findGroup(context, source, groupName);
    if (!group) throw new HttpError(404, `There is no subscription group '${groupName}' on '${source}'.`);
    const groupUrl = pages.helpers.groupUrl(source, groupName);
    const confirmed = form.get('confirm') === 'yes';
    const confirmPage = (question: string, confirmLabel: string, fields: [string, string][], danger: boolean): PageResult => ({
      kind: 'page',
      status: 200,
      template: '@confirm',
      data: { title: 'Confirm', nav: 'subscriptions', h: pages.helpers, question, confirmLabel, fields, danger, action: `${groupUrl}/${action}`, cancelUrl: groupUrl },
    });

    if (action === 'replay-parked') {
      const rawCount = (form.get('count') ?? '').trim();
      let count: number | undefined;
      if (rawCount !== '' && rawCount !== 'all') {
        if (!/^[0-9]{1,9}$/.test(rawCount) || Number(rawCount) === 0) throw new HttpError(400, `How many to replay must be a whole number from 1, or empty for all (got '${rawCount}').`);
        count = Number(rawCount);
      }
      const parked = group.stats({ measure: false }).parkedMessageCount;
      const replayed = count === undefined ? parked : Math.min(count, parked);
      if (!confirmed) {
        const what = count === undefined ? `all ${parked}` : `${replayed} of the ${parked}`;
        return confirmPage(`Replay ${what} parked messages of group '${groupName}' on '${source}'? They are handed back to the group's consumers, oldest first.`, 'Replay', [['count', rawCount]], false);
      }
      if (replayed > 0) {
        const from = parkedTruncateBefore(context.log, group.parkedStream);
        group.replayParked(count === undefined ? undefined : from + count);
      }
      return { kind: 'redirect', location: `${groupUrl}?done=replay&count=${replayed}` };
    }
    if (action === 'delete') {
      if (!confirmed) {
        return confirmPage(`Delete group '${groupName}' on '${source}'? Its consumers are dropped and its checkpoint and parked messages are deleted. This cannot be undone.`, 'Delete the group', [], true);
      }
      try {
        await context.groups.delete(group.definition.source, groupName);
      } catch (error) {
        if (error instanceof GroupNotFoundError) throw new HttpError(404, error.message);
        throw error;
      }
      return { kind: 'redirect', location: `/ui/subscriptions?done=deleted&source=${encodeURIComponent(source)}&group=${encodeURIComponent(groupName)}` };
    }
    throw new HttpError(404, `There is no action '${action}' on a subscription group.`);
  }

  return server;
}

function send(request: IncomingMessage, response: ServerResponse, status: number, contentType: string | undefined, body: string | Buffer | undefined, headers: Record<string, string> = {}) {
  const bytes = body === undefined ? undefined : typeof body === 'string' ? Buffer.from(body) : body;
  response.writeHead(status, {
    ...SECURITY_HEADERS,
    ...headers,
    ...(contentType ? { 'content-type': contentType } : {}),
    ...(bytes ? { 'content-length': bytes.length } : {}),
  });
  response.end(request.method === 'HEAD' ? undefined : bytes);
}

/** EventStoreDB answers unknown paths with 404 and an empty body. */
function notFound(request: IncomingMessage, response: ServerResponse) {
  send(request, response, 404, undefined, undefined, { 'content-length': '0' });
}

function parseTarget(target: string): { segments: string[]; query: URLSearchParams } {
  if (!target.startsWith('/') || target.length > 8_192) throw new HttpError(400, 'Bad request target.');
  const at = target.indexOf('?');
  const path = at < 0 ? target : target.slice(0, at);
  const query = new URLSearchParams(at < 0 ? '' : target.slice(at + 1));
  const segments = path.split('/').slice(1);
  if (segments[segments.length - 1] === '') segments.pop();
  return { segments, query };
}

/** A path segment, percent-decoded. */
function name(raw: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, 'A name in the path is not valid percent-encoding.');
  }
  if (decoded.length === 0) throw new HttpError(400, 'A name in the path is empty.');
  if (decoded.length > MAX_NAME) throw new HttpError(400, `A name in the path is longer than ${MAX_NAME} characters.`);
  return decoded;
}

function optional(query: URLSearchParams, key: string): string | undefined {
  const value = query.get(key);
  if (value === null || value.trim() === '') return undefined;
  if (value.length > MAX_NAME) throw new HttpError(400, `'${key}' is longer than ${MAX_NAME} characters.`);
  return value.trim();
}

function revisionParam(raw: string | undefined, label: string): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^[0-9]{1,16}$/.test(raw) || !Number.isSafeInteger(Number(raw))) throw new HttpError(400, `The ${label} must be a whole number from 0 (got '${raw.slice(0, 100)}').`);
  return Number(raw);
}

function replayNotice(query: URLSearchParams): string | undefined {
  if (query.get('done') !== 'replay') return undefined;
  const count = Number(query.get('count'));
  if (!Number.isSafeInteger(count) || count < 0) return undefined;
  return count === 0 ? 'Nothing to replay: the group has no parked messages.' : `Replay started: ${count} parked message${count === 1 ? '' : 's'} handed back to the group's consumers.`;
}

function deletedNotice(query: URLSearchParams): string | undefined {
  if (query.get('done') !== 'deleted') return undefined;
  const group = query.get('group');
  const source = query.get('source');
  return group && source ? `Deleted group '${group}' on '${source}'.` : undefined;
}

/** Why a state-changing request is refused as cross-site; undefined when it is same-origin. */
function crossSiteRefusal(request: IncomingMessage): string | undefined {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') return `Refused: a ${site} request may not change the store (Sec-Fetch-Site).`;
  const origin = request.headers.origin;
  if (origin !== undefined) {
    let host: string | undefined;
    try {
      host = new URL(origin).host;
    } catch {
      host = undefined;
    }
    if (!host || host !== request.headers.host) return 'Refused: the request comes from another origin.';
  }
  return undefined;
}

function readForm(request: IncomingMessage): Promise<URLSearchParams> {
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded' && !(type === '' && request.headers['content-length'] === '0')) {
    return Promise.reject(new HttpError(415, 'Actions take a form (application/x-www-form-urlencoded).'));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new HttpError(413, 'The form is too large.'));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
    request.on('error', () => reject(new HttpError(400, 'The request body could not be read.')));
  });
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** Open to anyone on a secured store, as on EventStoreDB: liveness, what the node is, and gossip. */
const OPEN_PATHS = new Set(['ping', 'health/live', 'info', 'gossip']);

function isLoopback(listening: string): boolean {
  return LOOPBACK_NAMES.has(listening) || listening.startsWith('127.');
}

/** Against DNS rebinding: a store on loopback answers only to loopback host names. */
function allowedHost(header: string | undefined, listening: string): boolean {
  if (!isLoopback(listening)) return true;
  if (!header) return false;
  let hostname: string;
  try {
    hostname = new URL(`http://${header}`).hostname;
  } catch {
    return false;
  }
  return LOOPBACK_NAMES.has(hostname) || /^127\.\d+\.\d+\.\d+$/.test(hostname) || hostname.endsWith('.localhost');
}

function statusTitle(status: number): string {
  return { 400: 'Bad request', 401: 'Log in', 403: 'Forbidden', 503: 'Unavailable', 404: 'Not found', 413: 'Too large', 415: 'Unsupported form', 421: 'Wrong host' }[status] ?? 'Error';
}
