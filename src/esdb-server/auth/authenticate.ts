// Authentication: who a gRPC call or an HTTP request acts as. Credentials arrive as EventStoreDB
// takes them, `authorization: Basic base64(login:password)` (gRPC metadata, as the client sends
// it over TLS, or the HTTP header), and are checked against the user store (users.ts).
//
// As a secured EventStoreDB (v23.10+, anonymous access off): a call with credentials that do not
// match an enabled user is refused with UNAUTHENTICATED (the client's AccessDeniedError), a call
// with none is refused with PERMISSION_DENIED + `exception: access-denied` (AccessDeniedError
// too), except where EventStoreDB lets anonymous callers in (server features and gossip, which a
// client asks before anything else). Over HTTP the refusal is 401 with a Basic challenge.
// Authorization (what an authenticated principal may do: groups, stream ACLs) is acl.ts's.
import * as grpc from '@grpc/grpc-js';
import type { IncomingMessage } from 'node:http';
import type { ServiceModule } from '../grpc/service-module.js';
import { rpcError } from '../grpc/rpc-errors.js';
import { INSECURE_PRINCIPAL, type Principal } from './principal.js';

/** What authentication needs of the user store (users.ts's UserStore is one). */
export interface CredentialVerifier {
  verify(login: string, password: string): Promise<Principal | undefined>;
}

export type Authentication =
  | { readonly kind: 'user'; readonly principal: Principal }
  /** No credentials at all. */
  | { readonly kind: 'anonymous' }
  /** Credentials that are malformed or match no enabled user. */
  | { readonly kind: 'invalid' };

export interface Authenticator {
  /** False on an insecure store (--insecure): everybody acts as INSECURE_PRINCIPAL. */
  readonly secured: boolean;
  /** From the value of an `authorization` header or metadata entry (undefined: none sent). */
  authenticate(authorization: string | undefined): Promise<Authentication>;
}

/** The realm of the Basic challenge, as EventStoreDB names it. */
export const BASIC_REALM = 'ESDB';
export const WWW_AUTHENTICATE = `Basic realm="${BASIC_REALM}"`;

export function insecureAuthenticator(): Authenticator {
  const insecure: Authentication = { kind: 'user', principal: INSECURE_PRINCIPAL };
  return { secured: false, authenticate: () => Promise.resolve(insecure) };
}

/**
 * How long a successful check of one `authorization` value is trusted without asking the user
 * store again. Checking reads the user from the log (and hashes the pair): about a millisecond,
 * which every append of a busy writer would pay. A password changed or a user disabled takes
 * effect within this long (EventStoreDB caches authenticated users too); a refusal is never kept.
 */
export const AUTHENTICATION_CACHE_MS = 1_000;
const CACHE_ENTRIES = 1_000;

export function basicAuthenticator(users: CredentialVerifier, options: { cacheMs?: number } = {}): Authenticator {
  const cacheMs = options.cacheMs ?? AUTHENTICATION_CACHE_MS;
  const recent = new Map<string, { result: Authentication; until: number }>();
  return {
    secured: true,
    async authenticate(authorization) {
      if (authorization === undefined || authorization === '') return { kind: 'anonymous' };
      const cached = recent.get(authorization);
      if (cached && cached.until > Date.now()) return cached.result;
      const credentials = parseBasic(authorization);
      if (!credentials) return { kind: 'invalid' };
      const principal = await users.verify(credentials.login, credentials.password);
      if (!principal) {
        recent.delete(authorization);
        return { kind: 'invalid' };
      }
      const result: Authentication = { kind: 'user', principal };
      if (cacheMs > 0) {
        recent.delete(authorization);
        if (recent.size >= CACHE_ENTRIES) recent.delete(recent.keys().next().value!);
        recent.set(authorization, { result, until: Date.now() + cacheMs });
      }
      return result;
    },
  };
}

/** `Basic base64(login:password)`; undefined when the value is not that (another scheme, bad base64, no colon). */
export function parseBasic(authorization: string): { login: string; password: string } | undefined {
  const match = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(authorization);
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { login: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

// ---- gRPC ----------------------------------------------------------------------------------

const principals = new WeakMap<object, Principal>();

/**
 * The principal a gRPC call acts as, set by the authentication wrapper (withAuthentication)
 * before the handler runs. Undefined only for anonymous calls to services open to anonymous
 * callers (server features, gossip).
 */
export function principalOf(call: object): Principal | undefined {
  return principals.get(call);
}

export interface AuthenticationPolicy {
  /** Anonymous callers may use the service (EventStoreDB lets them ask server features and gossip). */
  anonymous?: boolean;
}

/** The calls of `module` authenticated first: refused as EventStoreDB refuses them, else handed on with their principal. */
export function withAuthentication(module: ServiceModule, authenticator: Authenticator, policy: AuthenticationPolicy = {}): ServiceModule {
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const [name, handler] of Object.entries(module.implementation)) {
    const method = module.definition[name] as grpc.MethodDefinition<unknown, unknown> | undefined;
    const answersWithCallback = method ? !method.responseStream : false;
    implementation[name] = ((call: grpc.ServerUnaryCall<unknown, unknown>, callback?: grpc.sendUnaryData<unknown>) => {
      const header = firstValue(call.metadata.get('authorization'));
      authenticator.authenticate(header).then(
        (result) => {
          const refusal = refusalOf(result, policy);
          if (refusal) return refuse(call, answersWithCallback ? callback : undefined, refusal);
          if (result.kind === 'user') principals.set(call, result.principal);
          // Gone while its credentials were checked (a first check hashes): nobody to answer.
          if (call.cancelled) return;
          (handler as (call: unknown, callback?: unknown) => void)(call, callback);
        },
        () => refuse(call, answersWithCallback ? callback : undefined, rpcError(grpc.status.UNAVAILABLE, 'Credentials could not be checked.')),
      );
    }) as grpc.UntypedHandleCall;
  }
  return { ...module, implementation };
}

function refusalOf(result: Authentication, policy: AuthenticationPolicy) {
  if (result.kind === 'invalid') return rpcError(grpc.status.UNAUTHENTICATED, 'Bad username or password.');
  if (result.kind === 'anonymous' && !policy.anonymous) return rpcError(grpc.status.PERMISSION_DENIED, 'Access denied: no credentials.', { exception: 'access-denied' });
  return undefined;
}

function refuse(call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown> | undefined, error: ReturnType<typeof rpcError>) {
  if (callback) callback(error);
  else call.emit('error', error);
}

function firstValue(values: grpc.MetadataValue[]): string | undefined {
  const value = values[0];
  return value === undefined ? undefined : typeof value === 'string' ? value : value.toString('utf8');
}

// ---- HTTP ----------------------------------------------------------------------------------

export function authenticateRequest(authenticator: Authenticator, request: IncomingMessage): Promise<Authentication> {
  return authenticator.authenticate(request.headers.authorization);
}
