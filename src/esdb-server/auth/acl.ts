// Authorization as EventStoreDB's legacy policy decides it (its default authorization provider):
//
// - Streams: `$admins` may do everything. Anyone else gets what the stream's ACL grants: the
//   `$acl` of its metadata (`$r`, `$w`, `$d`, `$mr`, `$mw`, each a user, a group or an array of
//   them; `$all` means everybody; `[]` nobody), field by field falling back to the default ACL
//   of the `$settings` stream (`$userStreamAcl`, or `$systemStreamAcl` for `$`-prefixed streams),
//   field by field falling back to the built-in defaults: user streams everybody, system streams
//   `$admins` only. `$all` is a system stream (its ACL is the metadata of `$$$all`), so reading
//   it is for `$admins` unless told otherwise. A metadata stream `$$x` is read with x's `$mr`
//   and written with x's `$mw`. `$settings` itself is written by `$admins` only, whatever it says.
// - `$ops` manages persistent subscriptions (create, update, delete, replay parked, restart) and
//   what EventStoreDB lets it manage of projections (delete, restart); stream access of `$ops`
//   is by ACL like anyone's. Consuming a persistent subscription needs read access to its stream.
// - Users: `$admins` manage them; a user may read its own details and change its own password.
// - Projections here run as the system, not as the user who created them (EventStoreDB runs a
//   projection with its creator's rights), so creating, changing, enabling, disabling or
//   resetting one is kept to `$ops` and `$admins`: a plain user could otherwise read any stream
//   through a projection's state or write any stream through its emits. Reading a projection's
//   state, result and statistics is for any authenticated user, as on EventStoreDB.
//
// An insecure store (INSECURE_AUTHORIZER) allows everything, as EventStoreDB with --insecure.
import * as grpc from '@grpc/grpc-js';
import type { EventLog } from '../log/types.js';
import { isMetadataStream } from '../log/system-streams.js';
import { accessDenied, rpcError, type RpcError } from '../grpc/rpc-errors.js';
import { ADMINS_GROUP, OPS_GROUP, type Principal } from './principal.js';
import type { UserStore } from './users.js';

export type StreamOperation = 'read' | 'write' | 'delete' | 'metadataRead' | 'metadataWrite';

export type ServerOperation =
  | 'subscriptions.create'
  | 'subscriptions.update'
  | 'subscriptions.delete'
  | 'subscriptions.replayParked'
  | 'subscriptions.restart'
  | 'subscriptions.statistics'
  | 'projections.create'
  | 'projections.update'
  | 'projections.delete'
  | 'projections.enable'
  | 'projections.disable'
  | 'projections.reset'
  | 'projections.restart'
  | 'projections.read'
  | 'users.list'
  | 'users.create'
  | 'users.update'
  | 'users.delete'
  | 'users.enable'
  | 'users.disable'
  | 'users.resetPassword';

/** Roles per operation; a field left out falls back to the next level. */
export type StreamAcl = Partial<Record<StreamOperation, readonly string[]>>;

export interface SystemSettings {
  userStreamAcl?: StreamAcl;
  systemStreamAcl?: StreamAcl;
}

export const SETTINGS_STREAM = '$settings';
export const ALL_STREAM = '$all';
/** The role that matches everybody. */
export const ALL_ROLE = '$all';

const ACL_KEYS: Record<StreamOperation, string> = { read: '$r', write: '$w', delete: '$d', metadataRead: '$mr', metadataWrite: '$mw' };
const OPERATIONS = Object.keys(ACL_KEYS) as StreamOperation[];

const everyOperation = (roles: readonly string[]): Required<StreamAcl> => Object.freeze({ read: roles, write: roles, delete: roles, metadataRead: roles, metadataWrite: roles });
export const DEFAULT_USER_STREAM_ACL = everyOperation([ALL_ROLE]);
export const DEFAULT_SYSTEM_STREAM_ACL = everyOperation([ADMINS_GROUP]);

// ---- parsing ---------------------------------------------------------------------------------

/** An `$acl` object as stream metadata and `$settings` carry it; fields that are neither a string nor an array of strings are left out. */
export function parseStreamAcl(raw: unknown): StreamAcl | undefined {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  const record = raw as Record<string, unknown>;
  const acl: StreamAcl = {};
  for (const operation of OPERATIONS) {
    const value = record[ACL_KEYS[operation]];
    if (typeof value === 'string') acl[operation] = [value];
    else if (Array.isArray(value) && value.every((role) => typeof role === 'string')) acl[operation] = value as string[];
  }
  return acl;
}

/** The JSON of a `$settings` event. */
export function parseSystemSettings(raw: unknown): SystemSettings {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return {};
  const record = raw as Record<string, unknown>;
  return { userStreamAcl: parseStreamAcl(record.$userStreamAcl), systemStreamAcl: parseStreamAcl(record.$systemStreamAcl) };
}

// ---- decisions (pure) ------------------------------------------------------------------------

export function isAdmin(principal: Principal | undefined): boolean {
  return principal !== undefined && principal.groups.includes(ADMINS_GROUP);
}

export function isOpsOrAdmin(principal: Principal | undefined): boolean {
  return principal !== undefined && (principal.groups.includes(ADMINS_GROUP) || principal.groups.includes(OPS_GROUP));
}

/** True when the principal (undefined: anonymous) holds one of the roles: `$all`, its login or one of its groups. */
export function holdsRole(principal: Principal | undefined, roles: readonly string[]): boolean {
  if (roles.includes(ALL_ROLE)) return true;
  if (!principal) return false;
  return roles.includes(principal.login) || principal.groups.some((group) => roles.includes(group));
}

/**
 * The stream an operation is decided on, and as which operation: `$$x` is x's metadata, so
 * reading it is x's metadataRead and writing or deleting it is x's metadataWrite.
 */
export function aclTarget(stream: string, operation: StreamOperation): { stream: string; operation: StreamOperation } {
  if (!isMetadataStream(stream)) return { stream, operation };
  const target = stream.slice(2);
  if (operation === 'read' || operation === 'metadataRead') return { stream: target, operation: 'metadataRead' };
  return { stream: target, operation: 'metadataWrite' };
}

/** The roles that may perform `operation` on `stream` (already an aclTarget) given its own ACL and the settings. */
export function rolesFor(operation: StreamOperation, stream: string, streamAcl: StreamAcl | undefined, settings: SystemSettings): readonly string[] {
  const system = stream.startsWith('$');
  const defaults = system ? settings.systemStreamAcl : settings.userStreamAcl;
  return streamAcl?.[operation] ?? defaults?.[operation] ?? (system ? DEFAULT_SYSTEM_STREAM_ACL : DEFAULT_USER_STREAM_ACL)[operation];
}

/**
 * May `principal` perform `operation` on `stream` (already an aclTarget)? `streamAcl` is the
 * `$acl` of the stream's metadata (undefined: none), `settings` what `$settings` holds.
 */
export function streamAllowed(principal: Principal | undefined, operation: StreamOperation, stream: string, streamAcl: StreamAcl | undefined, settings: SystemSettings): boolean {
  if (isAdmin(principal)) return true;
  if (stream === SETTINGS_STREAM && operation !== 'read' && operation !== 'metadataRead') return false;
  return holdsRole(principal, rolesFor(operation, stream, streamAcl, settings));
}

/** Server operations that are not about one stream's data. `subject` is the login a users.* call is about. */
export function operationAllowed(principal: Principal | undefined, operation: ServerOperation | 'users.read' | 'users.changePassword', subject?: string): boolean {
  switch (operation) {
    case 'subscriptions.create':
    case 'subscriptions.update':
    case 'subscriptions.delete':
    case 'subscriptions.replayParked':
    case 'subscriptions.restart':
    case 'projections.create':
    case 'projections.update':
    case 'projections.delete':
    case 'projections.enable':
    case 'projections.disable':
    case 'projections.reset':
    case 'projections.restart':
      return isOpsOrAdmin(principal);
    case 'subscriptions.statistics':
    case 'projections.read':
      return principal !== undefined;
    case 'users.read':
      return isAdmin(principal) || (principal !== undefined && principal.login === subject);
    case 'users.changePassword':
      return principal !== undefined && principal.login === subject;
    case 'users.list':
    case 'users.create':
    case 'users.update':
    case 'users.delete':
    case 'users.enable':
    case 'users.disable':
    case 'users.resetPassword':
      return isAdmin(principal);
    default: {
      const unknown: never = operation;
      throw new Error(`unknown operation ${String(unknown)}`);
    }
  }
}

// ---- the store's authorizer -----------------------------------------------------------------

export interface Authorizer {
  /** False on an insecure store: everything is allowed. */
  readonly secured: boolean;
  /** May the principal (undefined: anonymous) perform `operation` on `stream` (a `$$` stream is its stream's metadata)? */
  streamAllowed(principal: Principal | undefined, operation: StreamOperation, stream: string): boolean;
  operationAllowed(principal: Principal | undefined, operation: ServerOperation | 'users.read' | 'users.changePassword', subject?: string): boolean;
}

export const INSECURE_AUTHORIZER: Authorizer = Object.freeze({
  secured: false,
  streamAllowed: () => true,
  operationAllowed: () => true,
});

/**
 * Decides from what the log holds now: the `$acl` of the stream's metadata and the last
 * `$settings` event, read on each decision for anyone not in `$admins` (an indexed read of one
 * event each), so an ACL or settings change applies to the next call.
 *
 * With `users`, a principal whose user was disabled or deleted since its call was authenticated
 * is refused too: a call that stays open (the client's one BatchAppend call per connection, which
 * carries every later append) is authenticated once, when it starts.
 */
export function storeAuthorizer(log: EventLog, users?: Pick<UserStore, 'details'>): Authorizer {
  const active = (principal: Principal | undefined) => {
    if (!principal || !users) return true;
    const user = users.details(principal.login);
    return user !== undefined && !user.disabled;
  };
  // The last event of a stream, parsed, kept while the stream's revision stays the same (one
  // indexed look-up per decision instead of a read).
  const cache = new Map<string, { revision: number | undefined; value: unknown }>();
  const lastJsonCached = (stream: string): unknown => {
    const revision = log.streamRevision(stream);
    const cached = cache.get(stream);
    if (cached && cached.revision === revision) return cached.value;
    const value = revision === undefined ? undefined : lastJson(stream);
    if (cache.size >= 10_000) {
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) cache.delete(oldest);
    }
    cache.set(stream, { revision, value });
    return value;
  };
  const lastJson = (stream: string): unknown => {
    const read = log.readStream(stream, { from: 'end', direction: 'backwards', maxCount: 1, resolveLinkTos: false });
    const event = read.kind === 'ok' ? read.events[0]?.event : undefined;
    if (!event) return undefined;
    try {
      return JSON.parse(Buffer.from(event.data.buffer, event.data.byteOffset, event.data.byteLength).toString('utf8'));
    } catch {
      return undefined;
    }
  };
  return {
    secured: true,
    streamAllowed(principal, operation, stream) {
      if (!active(principal)) return false;
      if (isAdmin(principal)) return true;
      const target = aclTarget(stream, operation);
      const metadata = lastJsonCached(`$$${target.stream}`);
      const streamAcl = metadata && typeof metadata === 'object' ? parseStreamAcl((metadata as Record<string, unknown>).$acl) : undefined;
      return streamAllowed(principal, target.operation, target.stream, streamAcl, parseSystemSettings(lastJsonCached(SETTINGS_STREAM)));
    },
    operationAllowed(principal, operation, subject) {
      return active(principal) && operationAllowed(principal, operation, subject);
    },
  };
}

// ---- refusals ----------------------------------------------------------------------------------

/** The refusal of a stream operation: PERMISSION_DENIED with `exception: access-denied` (the client's AccessDeniedError). */
export function streamAccessDenied(stream: string): RpcError {
  return accessDenied(stream);
}

/** The refusal of a server operation, as the client maps it to AccessDeniedError. */
export function operationAccessDenied(operation: string): RpcError {
  return rpcError(grpc.status.PERMISSION_DENIED, `Access denied: ${operation}.`, { exception: 'access-denied' });
}

// ---- calls -----------------------------------------------------------------------------------

/** What a service needs to decide on one of its calls: the rules, and who the call acts as (authentication's principalOf). */
export interface CallAuthorization {
  readonly authorizer: Authorizer;
  principalOf(call: object): Principal | undefined;
}

/** Undefined when the call may perform `operation` on `stream`; its refusal otherwise. No authorization given: an insecure store. */
export function refuseStream(authorization: CallAuthorization | undefined, call: object, operation: StreamOperation, stream: string): RpcError | undefined {
  if (!authorization?.authorizer.secured) return undefined;
  return authorization.authorizer.streamAllowed(authorization.principalOf(call), operation, stream) ? undefined : streamAccessDenied(stream);
}

/** Undefined when the call may perform the server operation; its refusal otherwise. */
export function refuseOperation(
  authorization: CallAuthorization | undefined,
  call: object,
  operation: ServerOperation | 'users.read' | 'users.changePassword',
  subject?: string,
): RpcError | undefined {
  if (!authorization?.authorizer.secured) return undefined;
  return authorization.authorizer.operationAllowed(authorization.principalOf(call), operation, subject) ? undefined : operationAccessDenied(operation);
}
