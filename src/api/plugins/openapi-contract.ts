// Completes the generated OpenAPI document with what the cross-cutting plugins do to every
// route, so the document states what the server sends: the correlation id in and out, the
// rate-limit headers and 429, load shedding's 503 with Retry-After, body limits (413) and media
// types (415), 401 with WWW-Authenticate on keyed routes, 414 for over-long path parameters, 500,
// problem+json for every error, an operationId on every operation, optional bodies not marked
// required, and no component schema nobody references. Routes declare only what is theirs.
import { CORRELATION_HEADER, SAFE_CORRELATION_ID } from './correlation.js';

type Json = Record<string, unknown>;
interface Operation extends Json {
  operationId?: string;
  parameters?: Json[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Json }> };
  security?: unknown[];
  responses: Record<string, Json & { headers?: Record<string, Json>; content?: Record<string, Json> }>;
}
interface Document extends Json {
  paths?: Record<string, Record<string, Operation>>;
  components?: Json & { schemas?: Record<string, Json> };
}

export interface ContractFacts {
  /** Routes (fastify URL templates) load shedding never answers 503 for. */
  neverShed: ReadonlySet<string>;
  /** Whether rate limiting applies to a route (fastify URL template); always false when it is off. */
  rateLimited: (url: string) => boolean;
}

const PROBLEM_CONTENT = { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } };
const METHODS_WITH_BODY = new Set(['post', 'put', 'patch']);
/** Route-specific response headers other than ETag (which every answer carrying an Order has). */
const LOCATION_ON = new Set(['createOrder']);

const header = (description: string, schema: Json = { type: 'string' }) => ({ description, schema });
const HEADERS = {
  correlation: header('The request\'s correlation id (the one sent when it matched the pattern, else a generated UUID); every event the request appends carries it as <tenantId>:<id>, so `orders trace <id> --tenant <tenantId>` finds them'),
  limit: header('Requests allowed per minute for this API key', { type: 'integer' }),
  remaining: header('Requests left in the current minute', { type: 'integer' }),
  reset: header('Seconds until the current minute\'s budget resets', { type: 'integer' }),
  retryAfter: header('Seconds to wait before retrying', { type: 'integer' }),
  etag: header('The order stream\'s revision, quoted ("7"): send it as If-Match to make a command conditional, or as If-None-Match to poll'),
  location: header('The order\'s URL'),
  wwwAuthenticate: header('Bearer: send Authorization: Bearer <api key>'),
};

const ERRORS: Record<string, string> = {
  '400': 'Invalid input (every failing field listed) or an unreadable request',
  '401': 'Missing or unknown API key',
  '413': 'The request body is larger than BODY_LIMIT_BYTES',
  '414': 'A path parameter is too long',
  '415': 'The body is not application/json',
  '410': 'The order was tombstoned, or its history truncated, in the event store',
  '429': 'Rate limited: retry after Retry-After seconds',
  '500': 'Unexpected error (logged with the correlation id)',
  '503': 'Overloaded (with Retry-After) or the event store is unreachable',
};

export function completeContract(document: Document, facts: ContractFacts): Document {
  for (const [path, operations] of Object.entries(document.paths ?? {})) {
    const url = path.replace(/\{([^}]+)\}/g, ':$1');
    for (const [method, operation] of Object.entries(operations)) completeOperation(operation, method, path, url, facts);
  }
  pruneUnreferencedSchemas(document);
  return document;
}

function completeOperation(operation: Operation, method: string, path: string, url: string, facts: ContractFacts): void {
  operation.operationId ??= operationIdFor(method, path);
  const secured = (operation.security?.length ?? 0) > 0;
  const takesBody = METHODS_WITH_BODY.has(method);
  const hasPathParameters = path.includes('{');
  const rateLimited = facts.rateLimited(url);

  operation.parameters = [
    ...(operation.parameters ?? []).filter((parameter) => parameter.name !== CORRELATION_HEADER),
    {
      in: 'header',
      name: CORRELATION_HEADER,
      required: false,
      description: 'Follows the request through its events and logs; a value not matching the pattern is replaced by a generated UUID',
      schema: { type: 'string', pattern: SAFE_CORRELATION_ID.source },
    },
  ];
  if (operation.requestBody && acceptsNull(operation.requestBody)) operation.requestBody.required = false;

  const responses = operation.responses;
  const add = (status: string) => {
    responses[status] ??= { description: ERRORS[status] ?? 'Problem details', content: PROBLEM_CONTENT };
  };
  if (takesBody || (operation.parameters?.length ?? 0) > 1) add('400');
  if (secured) add('401');
  if (takesBody) {
    add('413');
    add('415');
  }
  if (hasPathParameters) add('414');
  if (rateLimited) add('429');
  if (secured || !facts.neverShed.has(url)) add('503');
  add('500');

  for (const [status, response] of Object.entries(responses)) {
    const headers: Record<string, Json> = { ...(response.headers ?? {}), [CORRELATION_HEADER]: HEADERS.correlation };
    if (rateLimited) Object.assign(headers, { 'x-ratelimit-limit': HEADERS.limit, 'x-ratelimit-remaining': HEADERS.remaining, 'x-ratelimit-reset': HEADERS.reset });
    if (status === '429' || status === '503') headers['retry-after'] = HEADERS.retryAfter;
    if (status === '401' && secured) headers['www-authenticate'] = { ...HEADERS.wwwAuthenticate, required: true };
    if (status === '401' && operation.operationId === 'getMetrics') {
      headers['www-authenticate'] = { ...HEADERS.wwwAuthenticate, description: 'Bearer: send Authorization: Bearer <METRICS_TOKEN> (the operator\'s token; an API key does not open /metrics)', required: true };
      response.description = "Without the operator's token (METRICS_TOKEN), or without it configured from anywhere but a direct client on this machine";
    }
    if (status === '304' || refersTo(response, 'Order')) headers.etag = { ...HEADERS.etag, required: true };
    if (LOCATION_ON.has(operation.operationId) && (status === '200' || status === '201')) headers.location = { ...HEADERS.location, required: true };
    response.headers = headers;
    if (Number(status) >= 400) {
      response.content = PROBLEM_CONTENT;
      if (response.description === 'Default Response' || response.description === 'Problem details') response.description = ERRORS[status] ?? 'Problem details';
    }
  }
}

/** `GET /orders/{orderId}/events` -> `getOrdersByOrderIdEvents`, for routes that name none. */
function operationIdFor(method: string, path: string): string {
  const words = path
    .split('/')
    .filter(Boolean)
    .map((segment) => (segment.startsWith('{') ? `by-${segment.slice(1, -1)}` : segment))
    .flatMap((segment) => segment.split(/[^A-Za-z0-9]+/))
    .filter(Boolean);
  return [method, ...words].map((word, index) => (index === 0 ? word.toLowerCase() : word[0]!.toUpperCase() + word.slice(1))).join('');
}

function acceptsNull(body: NonNullable<Operation['requestBody']>): boolean {
  return Object.values(body.content ?? {}).some((media) => {
    const schema = media.schema ?? {};
    const variants = (schema.anyOf ?? schema.oneOf ?? []) as Json[];
    return schema.type === 'null' || (Array.isArray(schema.type) && schema.type.includes('null')) || variants.some((variant) => variant.type === 'null');
  });
}

function refersTo(response: { content?: Record<string, Json> }, schemaName: string): boolean {
  return Object.values(response.content ?? {}).some((media) => JSON.stringify(media).includes(`"#/components/schemas/${schemaName}"`));
}

/** Drops component schemas that neither an operation nor a referenced schema points at. */
function pruneUnreferencedSchemas(document: Document): void {
  const schemas = document.components?.schemas;
  if (!schemas) return;
  const referenced = new Set<string>();
  const visit = (value: unknown) => {
    for (const match of JSON.stringify(value).matchAll(/"#\/components\/schemas\/([^"]+)"/g)) {
      const name = decodeURIComponent(match[1]!);
      if (referenced.has(name)) continue;
      referenced.add(name);
      visit(schemas[name]);
    }
  };
  visit(document.paths);
  for (const name of Object.keys(schemas)) if (!referenced.has(name)) delete schemas[name];
}
