// Whether the read-model file can be trusted, and a store around it that notices when it cannot.
//
// A read model is a function of the history, so losing its file loses nothing that `orders
// replay` cannot rebuild, but serving or extending a damaged one would: answers from a file
// that is gone or half garbage, events acked into a deleted file nobody reads again. So:
// - at open the file passes SQLite's `PRAGMA quick_check` (a missing file is a new one);
// - SQLITE_CORRUPT / SQLITE_NOTADB reported by any statement marks it corrupt;
// - every second the file at the path is compared (device + inode) with the one open: deleted,
//   or replaced by something else, is noticed even if no statement fails;
// - SQLITE_FULL marks it unwritable until a write succeeds again (a transient fault).
// While faulted every call of the store throws ReadModelUnavailableError (or the SQLITE_FULL
// error), so the API answers 503 and the workers retry their events instead of acking them, and
// /ready says why; the fault is logged once, loudly, with what to do. Recovery needs no restart:
// once the path holds an intact file again in which every projection of this process was
// replayed after the fault began (what `orders replay <projection>` records), the store reopens
// it, runs the schemas again and carries on; a full disk heals by itself.
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { isConnectionLoss } from './connection-loss.js';
import { isPostgresUrl, openConfiguredReadModels, openReadModelStore, readModelFileIn, type OpenTransaction, type ReadModelLocation, type ReadModelStore } from './read-model-store.js';

/** `unreachable`: the PostgreSQL of READ_MODEL_URL cannot be reached (it heals by itself). */
export type ReadModelFaultKind = 'corrupt' | 'missing' | 'replaced' | 'full' | 'unreachable';

export interface ReadModelFault {
  kind: ReadModelFaultKind;
  reason: string;
  /** Epoch ms when it was noticed. */
  since: number;
}

/** The read model cannot be used now; the fault says why. */
export class ReadModelUnavailableError extends Error {
  readonly code = 'READ_MODEL_UNAVAILABLE';
  constructor(
    readonly fault: ReadModelFault,
    options?: { cause?: unknown },
  ) {
    super(`the read model is unavailable (${fault.kind}): ${fault.reason}`, options);
    this.name = 'ReadModelUnavailableError';
  }
}

const CORRUPTION_CODES = /^SQLITE_(CORRUPT|NOTADB)/;
const INFRASTRUCTURE_CODES = /^SQLITE_(FULL|BUSY|LOCKED|IOERR|CORRUPT|NOTADB|CANTOPEN|READONLY|PROTOCOL)/;

function sqliteCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : undefined;
}

export function isCorruptionError(error: unknown): boolean {
  return CORRUPTION_CODES.test(sqliteCode(error) ?? '');
}

export function isReadModelFullError(error: unknown): boolean {
  return sqliteCode(error) === 'SQLITE_FULL';
}

/**
 * A fault of the machinery, not of the event: a disk full (the store's or the read model's), a
 * read model unavailable or locked, an event store out of reach. Retrying heals it; parking
 * the event for it would not.
 */
export function isInfrastructureFault(error: unknown): boolean {
  if (error instanceof ReadModelUnavailableError) return true;
  // PostgreSQL out of reach, restarting, or our session ended: the read models come back.
  if (isConnectionLoss(error)) return true;
  if (INFRASTRUCTURE_CODES.test(sqliteCode(error) ?? '')) return true;
  if (!(error instanceof Error)) return false;
  const grpcCode = (error as { code?: unknown }).code;
  // RESOURCE_EXHAUSTED (the embedded store's storage full), UNAVAILABLE, DEADLINE_EXCEEDED.
  if (grpcCode === 8 || grpcCode === 14 || grpcCode === 4) return true;
  return ['UnavailableError', 'DeadlineExceededError'].includes(error.constructor.name) || /storage full/i.test(error.message);
}

/** What `PRAGMA quick_check` finds wrong with the file; undefined when it is intact or absent. */
export function integrityProblem(file: string): string | undefined {
  if (file === ':memory:' || identityOf(file) === undefined) return undefined;
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { fileMustExist: true });
    const rows = db.pragma('quick_check') as Array<{ quick_check: string }>;
    const problems = rows.map((row) => row.quick_check).filter((text) => text !== 'ok');
    return problems.length === 0 ? undefined : `PRAGMA quick_check: ${problems.slice(0, 3).join('; ')}`;
  } catch (error) {
    return `SQLite cannot read it: ${error instanceof Error ? error.message : String(error)}${sqliteCode(error) ? ` (${sqliteCode(error)})` : ''}`;
  } finally {
    db?.close();
  }
}

/** Device and inode of the file at the path, or undefined when there is none. */
export function identityOf(file: string): string | undefined {
  try {
    const stat = statSync(file);
    return `${stat.dev}:${stat.ino}`;
  } catch {
    return undefined;
  }
}

const REPLAY_NOTICE_MARGIN_MS = 10_000;

/** Projections replayed into the file at or after `since` (the table `orders replay` keeps). */
function replayedSince(file: string, since: number): Set<string> {
  const done = new Set<string>();
  let db: Database.Database | undefined;
  try {
    // Not readonly: a WAL file nobody has open has no -shm, and a readonly connection cannot make one.
    db = new Database(file, { fileMustExist: true });
    const rows = db.prepare('SELECT projection, replayed_at FROM projection_replays').all() as Array<{ projection: string; replayed_at: string }>;
    // The watch notices a file replay put in place up to a tick after the first replay wrote it.
    for (const row of rows) if (Date.parse(row.replayed_at) >= since - REPLAY_NOTICE_MARGIN_MS) done.add(row.projection);
  } catch {
    // no such table, or no such file: nothing replayed
  } finally {
    db?.close();
  }
  return done;
}

// ---- health, per file and process -----------------------------------------------------------

/** The faults of every store this process has open on one file; logged once per transition. */
export class ReadModelHealth {
  readonly #faults = new Map<object, ReadModelFault>();
  #logger: Logger | undefined;
  #logged: ReadModelFault | undefined;
  #waiters: Array<() => void> = [];

  constructor(readonly file: string) {}

  /** Resolves once no store of this file is faulted (at once when none is). */
  whenHealthy(): Promise<void> {
    if (!this.fault) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  set logger(logger: Logger | undefined) {
    this.#logger ??= logger;
  }

  /** The oldest fault, if any (what /ready reports). */
  get fault(): ReadModelFault | undefined {
    let oldest: ReadModelFault | undefined;
    for (const fault of this.#faults.values()) if (!oldest || fault.since < oldest.since) oldest = fault;
    return oldest;
  }

  set(source: object, fault: ReadModelFault | undefined): void {
    if (fault) this.#faults.set(source, fault);
    else this.#faults.delete(source);
    const now = this.fault;
    if (now && !this.#logged) {
      const advice =
        now.kind === 'full'
          ? 'free disk space: writes resume by themselves'
          : now.kind === 'unreachable'
            ? 'reads answer 503 and the workers hold their events (retried, never parked) until the database answers again'
            : 'rebuild it from the history with `orders replay <projection>` for each projection; the service resumes once they are replayed';
      this.#logger?.error({ readModelFile: this.file, fault: now.kind, reason: now.reason }, `read model unavailable (${now.kind}): ${now.reason}; ${advice}`);
      this.#logged = now;
    } else if (!now && this.#logged) {
      this.#logger?.info({ readModelFile: this.file, was: this.#logged.kind, downMs: Date.now() - this.#logged.since }, 'read model available again');
      this.#logged = undefined;
    }
    if (!now) this.#waiters.splice(0).forEach((resolve) => resolve());
  }
}

const healthByFile = new Map<string, ReadModelHealth>();
/** Connections to files replaced under them: never closed (see release()). */
const abandoned: ReadModelStore[] = [];

export function readModelHealthOf(file: string): ReadModelHealth {
  const key = file === ':memory:' ? file : resolve(file);
  let health = healthByFile.get(key);
  if (!health) {
    health = new ReadModelHealth(key);
    healthByFile.set(key, health);
  }
  return health;
}

// ---- the watched store ----------------------------------------------------------------------

export interface WatchedStoreOptions {
  file: string;
  logger?: Logger;
  /** Projections whose replay into a fresh file must be recorded before it is used again. */
  projections?: readonly string[];
  /** How often the file's identity is compared (default 1 s). */
  watchIntervalMs?: number;
  open?: (options: { file: string }) => ReadModelStore;
}

export interface WatchedReadModelStore extends ReadModelStore {
  readonly health: ReadModelHealth;
}

/**
 * A ReadModelStore that checks its file at open, watches it, refuses to be used while it is
 * faulted, and reopens the file once `orders replay` has rebuilt it (see the top of this file).
 */
export async function openWatchedReadModelStore(options: WatchedStoreOptions): Promise<WatchedReadModelStore> {
  const { file } = options;
  const open = options.open ?? openReadModelStore;
  const health = readModelHealthOf(file);
  health.logger = options.logger;
  const source = {};
  const ddl: string[] = [];
  let inner: ReadModelStore | undefined;
  let identity: string | undefined;
  let fault: ReadModelFault | undefined;
  let closed = false;

  let faultOrigin = '';
  const setFault = (next: ReadModelFault | undefined) => {
    if (next && !fault) faultOrigin = next.reason;
    fault = next;
    health.set(source, next);
  };
  const faultFor = (kind: ReadModelFaultKind, reason: string): ReadModelFault => ({ kind, reason, since: fault?.since ?? Date.now() });

  /** Opens the file at the path if it is intact; else records why not. */
  const tryOpen = async (): Promise<boolean> => {
    const problem = integrityProblem(file);
    if (problem) {
      identity = identityOf(file);
      setFault(faultFor('corrupt', `${file} is corrupt: ${problem}`));
      return false;
    }
    let opened: ReadModelStore | undefined;
    try {
      opened = open({ file });
      for (const statement of ddl) await opened.migrate(statement);
    } catch (error) {
      await opened?.close().catch(() => undefined);
      identity = identityOf(file);
      setFault(faultFor(isCorruptionError(error) ? 'corrupt' : 'missing', `${file} cannot be opened: ${error instanceof Error ? error.message : String(error)}`));
      return false;
    }
    inner = opened;
    identity = identityOf(file);
    setFault(undefined);
    return true;
  };

  const unavailable = (cause?: unknown): never => {
    throw new ReadModelUnavailableError(fault ?? faultFor('missing', `${file} is not open`), cause === undefined ? undefined : { cause });
  };

  /** Runs one call on the open file, classifying what SQLite reports. */
  const call = async <T>(fn: (store: ReadModelStore) => Promise<T>, writes: boolean): Promise<T> => {
    if (closed) throw new Error('the read-model store is closed');
    if (!inner || (fault && fault.kind !== 'full')) return unavailable();
    // Another store of this process noticed the file's fault first: this one's watch follows.
    const shared = health.fault;
    if (shared && shared.kind !== 'full') throw new ReadModelUnavailableError(shared);
    try {
      const result = await fn(inner);
      if (writes && fault?.kind === 'full') setFault(undefined);
      return result;
    } catch (error) {
      if (error instanceof ReadModelUnavailableError) throw error;
      if (isCorruptionError(error)) {
        setFault(faultFor('corrupt', `SQLite reports ${file} corrupt: ${error instanceof Error ? error.message : String(error)}`));
        // After the statement (and any transaction around it) has unwound.
        queueMicrotask(() => release(identityOf(file) === identity));
        return unavailable(error);
      }
      if (isReadModelFullError(error)) setFault(faultFor('full', `the disk holding ${file} is full (SQLITE_FULL)`));
      throw error;
    }
  };

  /**
   * Lets go of the damaged file's connection. Closing checkpoints and deletes `<file>-wal` by its
   * path, so it is closed only while that path is still the damaged file's (deleted or corrupt,
   * noticed before a replay put a new file there); a connection to a file already replaced is
   * left open instead, as its close would delete the new file's WAL.
   */
  const release = (pathStillItsOwn: boolean) => {
    const old = inner;
    inner = undefined;
    if (!old) return;
    if (!pathStillItsOwn) {
      abandoned.push(old);
      return;
    }
    // the file is gone or damaged: nothing to keep of it
    old.close().catch(() => undefined);
  };

  const watch = () => {
    if (closed || file === ':memory:') return;
    const now = identityOf(file);
    if (inner && (!fault || fault.kind === 'full')) {
      if (now === identity) return;
      setFault(faultFor(now === undefined ? 'missing' : 'replaced', now === undefined ? `${file} was deleted while open` : `${file} was replaced by another file while open`));
      release(now === undefined);
      return;
    }
    // Faulted: come back only on an intact new file the projections were replayed into.
    if (now === undefined || now === identity || !fault) return;
    const missing = (options.projections ?? []).filter((name) => !replayedSince(file, fault!.since).has(name));
    if (missing.length > 0) {
      const reason = `${faultOrigin}; waiting for \`orders replay\` of ${missing.join(', ')} into the new file`;
      if (fault.reason !== reason) setFault({ ...fault, reason });
      return;
    }
    release(false);
    void tryOpen();
  };

  await tryOpen();
  const timer = setInterval(watch, options.watchIntervalMs ?? 1_000);
  timer.unref();

  const store: WatchedReadModelStore = {
    dialect: 'sqlite',
    location: file,
    health,
    run: (sql, ...params) => call((s) => s.run(sql, ...params), true),
    write: (sql, ...params) => call((s) => s.write(sql, ...params), true),
    get: <T>(sql: string, ...params: unknown[]) => call((s) => s.get<T>(sql, ...params), false),
    all: <T>(sql: string, ...params: unknown[]) => call((s) => s.all<T>(sql, ...params), false),
    exec: (sql) => call((s) => s.exec(sql), true),
    transaction: <T>(fn: Parameters<ReadModelStore['transaction']>[0]) => call((s) => s.transaction(fn), true) as Promise<T>,
    snapshot: <T>(fn: Parameters<ReadModelStore['snapshot']>[0]) => call((s) => s.snapshot(fn), false) as Promise<T>,
    begin: (): Promise<OpenTransaction> => call((s) => s.begin(), true),
    migrate: async (statement) => {
      if (!ddl.includes(statement)) ddl.push(statement);
      // Recorded for the reopen; a faulted file takes it then.
      if (inner && !fault) await call((s) => s.migrate(statement), true);
    },
    close: async () => {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      health.set(source, undefined);
      await inner?.close();
    },
  };
  return store;
}

/**
 * The read models a service process (API, workers) uses: on SQLite the watched file under the
 * data directory; on PostgreSQL (READ_MODEL_URL) the pool, with a health of its own that
 * connection loss marks (it says why in /ready) and the next statement that succeeds clears.
 */
export async function openServiceReadModels(
  location: ReadModelLocation,
  options: { logger?: Logger; projections?: readonly string[]; poolSize?: number } = {},
): Promise<WatchedReadModelStore> {
  if (!isPostgresUrl(location.readModelUrl)) {
    return openWatchedReadModelStore({
      file: readModelFileIn(location.dataDir),
      // The service commits on its main thread: the WAL's checkpoints go to a thread of their own.
      open: (store) =>
        openReadModelStore({
          ...store,
          checkpointThread: true,
          onCheckpointError: (error) => options.logger?.warn({ err: error }, 'the read models\' checkpoint thread failed: the connection checkpoints on its own again'),
        }),
      ...(options.logger ? { logger: options.logger } : {}),
      ...(options.projections ? { projections: options.projections } : {}),
    });
  }
  const store = await openConfiguredReadModels(location, options.poolSize !== undefined ? { poolSize: options.poolSize } : {});
  const health = readModelHealthOf(store.location);
  health.logger = options.logger;
  const source = {};
  let since: number | undefined;
  const watched = <A extends unknown[], T>(fn: (...args: A) => Promise<T>) =>
    async (...args: A): Promise<T> => {
      try {
        const result = await fn(...args);
        if (since !== undefined) {
          since = undefined;
          health.set(source, undefined);
        }
        return result;
      } catch (error) {
        if (isConnectionLoss(error)) {
          since ??= Date.now();
          health.set(source, { kind: 'unreachable', reason: `the read models' PostgreSQL (${store.location}) cannot be reached: ${error instanceof Error ? error.message : String(error)}`, since });
        }
        throw error;
      }
    };
  return {
    ...store,
    health,
    run: watched(store.run),
    write: watched(store.write),
    get: watched(store.get) as ReadModelStore['get'],
    all: watched(store.all) as ReadModelStore['all'],
    exec: watched(store.exec),
    transaction: watched(store.transaction) as ReadModelStore['transaction'],
    snapshot: watched(store.snapshot) as ReadModelStore['snapshot'],
    begin: watched(store.begin),
    migrate: watched(store.migrate),
    close: async () => {
      health.set(source, undefined);
      await store.close();
    },
  };
}
