// The store's users, kept where EventStoreDB keeps them: one `$user-<login>` stream per user
// whose last event is the user's whole state (`$UserCreated`, `$UserUpdated`, `$PasswordChanged`,
// `$UserDeleted`), and the `$users` stream listing every login ever created (`$User` events).
// So users travel with the data directory, a backup and a restore, and are read back from the
// log on every call (one indexed read): nothing in memory can disagree with the log.
//
// Passwords are kept as scrypt hashes (N=2^14, r=8, p=1, 16-byte salt). Deriving one costs tens
// of milliseconds and runs on libuv's pool (never on the event loop); a login/password pair that
// matched a stored hash is remembered (keyed by a SHA-256 of pair and hash), so every later call
// with the same credentials costs a hash and a map look-up. Changing the password changes the
// stored hash, so what was remembered no longer matches.
//
// Default users, created on the first start of a secured store (each only if its stream never
// existed, so a deleted default user stays deleted): `admin` in `$admins` with the password the
// caller gives, and `ops` in `$ops`. EventStoreDB gives `ops` the password `changeit`; here the
// caller gives one, or `ops` gets a random password nobody is told and stays unusable until an
// admin resets it (Users.ResetPassword) — no well-known password on a store anyone can reach.
import { createHash, randomBytes, randomUUID, scrypt, timingSafeEqual } from 'node:crypto';
import type { EventLog, ExpectedRevision, ProposedEvent } from '../log/types.js';
import { ADMINS_GROUP, OPS_GROUP, type Principal } from './principal.js';

export const USERS_STREAM = '$users';
export const USER_STREAM_PREFIX = '$user-';
export const DEFAULT_ADMIN_LOGIN = 'admin';
export const DEFAULT_OPS_LOGIN = 'ops';

export const USER_CREATED = '$UserCreated';
export const USER_UPDATED = '$UserUpdated';
export const PASSWORD_CHANGED = '$PasswordChanged';
export const USER_DELETED = '$UserDeleted';
const USER_LISTED = '$User';

export interface UserDetails {
  readonly login: string;
  readonly fullName: string;
  readonly groups: readonly string[];
  readonly disabled: boolean;
  /** When the user's stream was last written. */
  readonly lastUpdated: Date;
}

export interface NewUser {
  login: string;
  fullName: string;
  groups: readonly string[];
  password: string;
}

export interface UserStore {
  /** The principal of an enabled user whose password matches; undefined otherwise (unknown, deleted, disabled, wrong password). */
  verify(login: string, password: string): Promise<Principal | undefined>;
  /** An existing (not deleted) user, disabled or not. */
  details(login: string): UserDetails | undefined;
  /** Every existing user, by login. */
  list(): UserDetails[];
  create(user: NewUser): Promise<void>;
  update(login: string, changes: { fullName: string; groups: readonly string[]; password?: string }): Promise<void>;
  enable(login: string): Promise<void>;
  disable(login: string): Promise<void>;
  /** Refused with WrongPasswordError when `currentPassword` is not the user's password. */
  changePassword(login: string, currentPassword: string, newPassword: string): Promise<void>;
  resetPassword(login: string, newPassword: string): Promise<void>;
  delete(login: string): Promise<void>;
}

export interface UserStoreOptions {
  /** Password of the default `admin` user, used only when that user is first created. */
  adminPassword: string;
  /** Password of the default `ops` user when first created; omitted: a random one nobody knows (reset it to use `ops`). */
  opsPassword?: string;
}

export class UserNotFoundError extends Error {
  constructor(readonly login: string) {
    super(`User '${login}' does not exist.`);
    this.name = 'UserNotFoundError';
  }
}

export class UserExistsError extends Error {
  constructor(readonly login: string) {
    super(`User '${login}' already exists.`);
    this.name = 'UserExistsError';
  }
}

export class WrongPasswordError extends Error {
  constructor(readonly login: string) {
    super(`The current password of user '${login}' is not the one given.`);
    this.name = 'WrongPasswordError';
  }
}

export class InvalidUserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidUserError';
  }
}

/** Opens the users of a store and creates the default ones if they never existed. */
export async function openUserStore(log: EventLog, options: UserStoreOptions): Promise<UserStore> {
  const store = new StreamUserStore(log);
  if (!store.everExisted(DEFAULT_ADMIN_LOGIN)) {
    await store.create({ login: DEFAULT_ADMIN_LOGIN, fullName: 'Event Store Administrator', groups: [ADMINS_GROUP], password: options.adminPassword });
  }
  if (!store.everExisted(DEFAULT_OPS_LOGIN)) {
    const password = options.opsPassword ?? randomBytes(24).toString('base64url');
    await store.create({ login: DEFAULT_OPS_LOGIN, fullName: 'Event Store Operations', groups: [OPS_GROUP], password });
  }
  return store;
}

export function userStreamOf(login: string): string {
  return `${USER_STREAM_PREFIX}${login}`;
}

// ---- password hashing -----------------------------------------------------------------------

const KDF = { N: 16_384, r: 8, p: 1, keyLength: 32 } as const;
const KDF_NAME = `scrypt:${KDF.N}:${KDF.r}:${KDF.p}`;

function derive(password: string, salt: Buffer, kdf: string): Promise<Buffer> {
  const [name, n, r, p] = kdf.split(':');
  if (name !== 'scrypt') return Promise.reject(new Error(`unknown password hash '${kdf}'`));
  const cost = { N: Number(n), r: Number(r), p: Number(p), maxmem: 256 * 1024 * 1024 };
  return new Promise((ok, fail) => scrypt(password, salt, KDF.keyLength, cost, (error, key) => (error ? fail(error) : ok(key))));
}

async function hashPassword(password: string): Promise<{ kdf: string; salt: string; hash: string }> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, KDF_NAME);
  return { kdf: KDF_NAME, salt: salt.toString('base64'), hash: key.toString('base64') };
}

// ---- the stored state -------------------------------------------------------------------------

/** The JSON of every event of a `$user-<login>` stream but `$UserDeleted`: the user's whole state. */
interface UserData {
  loginName: string;
  fullName: string;
  groups: string[];
  disabled: boolean;
  kdf: string;
  salt: string;
  hash: string;
}

interface UserState {
  data: UserData;
  revision: number;
  lastUpdated: Date;
}

const VERIFIED_CACHE_SIZE = 10_000;
const STATE_CACHE_SIZE = 1_000;

class StreamUserStore implements UserStore {
  /** SHA-256 of (login, password, stored hash) for pairs that matched: later calls skip scrypt. */
  private readonly verified = new Map<string, true>();
  /** Each login's state as of the revisions in `key`. */
  private readonly states = new Map<string, { key: string; state: UserState | undefined }>();
  /** Salt for timing: an unknown login costs a derivation, like a wrong password. */
  private readonly decoySalt = randomBytes(16);

  constructor(private readonly log: EventLog) {}

  async verify(login: string, password: string): Promise<Principal | undefined> {
    const state = this.stateOf(login);
    if (!state) {
      await derive(password, this.decoySalt, KDF_NAME);
      return undefined;
    }
    const { data } = state;
    const key = createHash('sha256').update(`${login}\0${password}\0${data.kdf}\0${data.salt}\0${data.hash}`).digest('base64');
    let matches = this.verified.has(key);
    if (!matches) {
      matches = await this.matches(data, password);
      if (matches) this.remember(key);
    }
    if (!matches || data.disabled) return undefined;
    // Read again: the user may have been changed while the hash was derived.
    const now = this.stateOf(login);
    if (!now || now.data.disabled || now.data.hash !== data.hash) return undefined;
    return Object.freeze({ login: now.data.loginName, groups: Object.freeze([...now.data.groups]) });
  }

  details(login: string): UserDetails | undefined {
    const state = this.stateOf(login);
    return state && toDetails(state);
  }

  list(): UserDetails[] {
    const logins = new Set<string>();
    const listed = this.log.readStream(USERS_STREAM, { from: 'start', direction: 'forwards', maxCount: Number.MAX_SAFE_INTEGER, resolveLinkTos: false });
    if (listed.kind === 'ok') {
      for (const { event } of listed.events) {
        const login = event && parseJson(event.data);
        if (typeof login === 'string') logins.add(login);
      }
    }
    return [...logins]
      .sort()
      .map((login) => this.details(login))
      .filter((user): user is UserDetails => user !== undefined);
  }

  async create(user: NewUser): Promise<void> {
    validateLogin(user.login);
    validatePassword(user.password);
    const last = this.lastEvent(user.login);
    if (last && last.type !== USER_DELETED) throw new UserExistsError(user.login);
    const data: UserData = { loginName: user.login, fullName: user.fullName, groups: validGroups(user.groups), disabled: false, ...(await hashPassword(user.password)) };
    const stream = userStreamOf(user.login);
    if (!last) {
      // A user's stream holds its password hash: only $admins may ever read or change it, whatever
      // $settings says of system streams.
      const onlyAdmins = { $r: ADMINS_GROUP, $w: ADMINS_GROUP, $d: ADMINS_GROUP, $mr: ADMINS_GROUP, $mw: ADMINS_GROUP };
      await this.log.append(`$$${stream}`, 'any', [jsonEvent('$metadata', { $acl: onlyAdmins })]);
    }
    await this.write(stream, last ? last.revision : 'no_stream', USER_CREATED, data, user.login);
    await this.log.append(USERS_STREAM, 'any', [jsonEvent(USER_LISTED, user.login)]);
  }

  async update(login: string, changes: { fullName: string; groups: readonly string[]; password?: string }): Promise<void> {
    if (changes.password !== undefined) validatePassword(changes.password);
    const state = this.existing(login);
    const password = changes.password === undefined ? {} : await hashPassword(changes.password);
    await this.write(userStreamOf(login), state.revision, USER_UPDATED, { ...state.data, fullName: changes.fullName, groups: validGroups(changes.groups), ...password }, login);
  }

  async enable(login: string): Promise<void> {
    const state = this.existing(login);
    await this.write(userStreamOf(login), state.revision, USER_UPDATED, { ...state.data, disabled: false }, login);
  }

  async disable(login: string): Promise<void> {
    const state = this.existing(login);
    await this.write(userStreamOf(login), state.revision, USER_UPDATED, { ...state.data, disabled: true }, login);
  }

  async changePassword(login: string, currentPassword: string, newPassword: string): Promise<void> {
    validatePassword(newPassword);
    const state = this.existing(login);
    if (!(await this.matches(state.data, currentPassword))) throw new WrongPasswordError(login);
    await this.write(userStreamOf(login), state.revision, PASSWORD_CHANGED, { ...state.data, ...(await hashPassword(newPassword)) }, login);
  }

  async resetPassword(login: string, newPassword: string): Promise<void> {
    validatePassword(newPassword);
    const state = this.existing(login);
    await this.write(userStreamOf(login), state.revision, PASSWORD_CHANGED, { ...state.data, ...(await hashPassword(newPassword)) }, login);
  }

  async delete(login: string): Promise<void> {
    const state = this.existing(login);
    const result = await this.log.append(userStreamOf(login), state.revision, [jsonEvent(USER_DELETED, { loginName: login })]);
    if (result.kind === 'wrong_expected_version') throw new Error(`User '${login}' was changed at the same time; try again.`);
  }

  /** True when the user's stream has any event, even a `$UserDeleted`. */
  everExisted(login: string): boolean {
    return this.log.streamRevision(userStreamOf(login)) !== undefined;
  }

  // ---- helpers --------------------------------------------------------------------------------

  private async matches(data: UserData, password: string): Promise<boolean> {
    const stored = Buffer.from(data.hash, 'base64');
    const derived = await derive(password, Buffer.from(data.salt, 'base64'), data.kdf);
    return stored.length === derived.length && timingSafeEqual(stored, derived);
  }

  private remember(key: string): void {
    if (this.verified.size >= VERIFIED_CACHE_SIZE) {
      const oldest = this.verified.keys().next().value;
      if (oldest !== undefined) this.verified.delete(oldest);
    }
    this.verified.set(key, true);
  }

  private existing(login: string): UserState {
    const state = this.stateOf(login);
    if (!state) throw new UserNotFoundError(login);
    return state;
  }

  private async write(stream: string, expected: ExpectedRevision, type: string, data: UserData, login: string): Promise<void> {
    const result = await this.log.append(stream, expected, [jsonEvent(type, data)]);
    if (result.kind === 'wrong_expected_version') throw new Error(`User '${login}' was changed at the same time; try again.`);
  }

  private lastEvent(login: string) {
    if (!isPlausibleLogin(login)) return undefined;
    const read = this.log.readStream(userStreamOf(login), { from: 'end', direction: 'backwards', maxCount: 1, resolveLinkTos: false });
    return read.kind === 'ok' ? read.events[0]?.event : undefined;
  }

  /**
   * Read on every call (authentication and authorization ask for each one), so kept per login
   * with the revisions of its stream and metadata stream: two indexed look-ups while nothing
   * changed, the stream read again once anything did.
   */
  private stateOf(login: string): UserState | undefined {
    if (!isPlausibleLogin(login)) return undefined;
    const stream = userStreamOf(login);
    const key = `${this.log.streamRevision(stream)}/${this.log.streamRevision(`$$${stream}`)}`;
    const cached = this.states.get(login);
    if (cached?.key === key) return cached.state;
    const state = this.readState(login);
    if (this.states.size >= STATE_CACHE_SIZE) {
      const oldest = this.states.keys().next().value;
      if (oldest !== undefined) this.states.delete(oldest);
    }
    this.states.set(login, { key, state });
    return state;
  }

  private readState(login: string): UserState | undefined {
    const event = this.lastEvent(login);
    if (!event || event.type === USER_DELETED) return undefined;
    const data = parseUserData(event.data);
    if (!data || data.loginName !== login) return undefined;
    return { data, revision: event.revision, lastUpdated: new Date(Number(event.created / 10_000n)) };
  }
}

function toDetails(state: UserState): UserDetails {
  const { data } = state;
  return { login: data.loginName, fullName: data.fullName, groups: [...data.groups], disabled: data.disabled, lastUpdated: state.lastUpdated };
}

function jsonEvent(type: string, data: unknown): ProposedEvent {
  return { id: randomUUID(), type, contentType: 'application/json', data: Buffer.from(JSON.stringify(data), 'utf8'), metadata: new Uint8Array(0) };
}

function parseJson(data: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
  } catch {
    return undefined;
  }
}

function parseUserData(raw: Uint8Array): UserData | undefined {
  const value = parseJson(raw);
  if (!value || typeof value !== 'object') return undefined;
  const data = value as Partial<UserData>;
  const strings = [data.loginName, data.fullName, data.kdf, data.salt, data.hash];
  if (strings.some((field) => typeof field !== 'string')) return undefined;
  if (typeof data.disabled !== 'boolean' || !Array.isArray(data.groups) || !data.groups.every((group) => typeof group === 'string')) return undefined;
  return data as UserData;
}

/** Basic auth splits `login:password` at the first colon, so a login cannot hold one. */
function isPlausibleLogin(login: string): boolean {
  // eslint-disable-next-line no-control-regex
  return login.length > 0 && login.length <= 256 && !login.includes(':') && !/[\u0000-\u001f\u007f]/.test(login);
}

function validateLogin(login: string): void {
  if (!isPlausibleLogin(login)) throw new InvalidUserError(`Login name must be 1 to 256 characters without ':' or control characters, got ${JSON.stringify(login)}.`);
}

function validatePassword(password: string): void {
  if (password.length === 0) throw new InvalidUserError('Password must not be empty.');
}

function validGroups(groups: readonly string[]): string[] {
  const clean = [...new Set(groups.map((group) => group.trim()))];
  if (clean.some((group) => group.length === 0)) throw new InvalidUserError('Group names must not be empty.');
  return clean;
}
