// The environment, parsed once at start with zod. Every knob has a default for the embedded
// setup; a bad value stops the service with one clear line naming the variable.
import { getHeapStatistics } from 'node:v8';
import { z } from 'zod';
import { ACCEPT_LISTENERS } from './api/accept-listeners.js';
import { HashedApiKeys } from './api/api-keys.js';

const port = (fallback: number) =>
  z.coerce
    .number({ error: 'must be a port number' })
    .int('must be a whole port number')
    .min(1, 'must be between 1 and 65535')
    .max(65535, 'must be between 1 and 65535')
    .default(fallback);

const count = (message: string, fallback: number) =>
  z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(0, message).default(fallback);

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const ROLES = ['api', 'workers', 'all'] as const;
export type Role = (typeof ROLES)[number];

/**
 * `<key>:<tenantId>` pairs, comma-separated: each API key belongs to one tenant. Parsed into
 * HashedApiKeys: only each key's SHA-256 digest outlives parsing.
 */
const apiKeys = z
  .string()
  .optional()
  .transform((raw, ctx) => {
    const keys = new Map<string, string>();
    for (const entry of (raw ?? '').split(',').map((part) => part.trim()).filter(Boolean)) {
      const separator = entry.lastIndexOf(':');
      const key = entry.slice(0, separator);
      const tenantId = entry.slice(separator + 1);
      if (separator <= 0 || !tenantId || !/^[A-Za-z0-9_.-]+$/.test(tenantId) || /\s/.test(key)) {
        ctx.addIssue({ code: 'custom', message: `entry '${redactKey(entry)}' is not <key>:<tenantId>` });
        return z.NEVER;
      }
      if (keys.has(key)) {
        ctx.addIssue({ code: 'custom', message: `key '${redactKey(key)}' is listed twice` });
        return z.NEVER;
      }
      keys.set(key, tenantId);
    }
    return HashedApiKeys.from(keys);
  });

const environment = z.object({
  PORT: port(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  EVENTSTORE_PORT: port(2113),
  DATA_DIR: z.string().min(1).default('./data'),
  // A secured EventStoreDB is configured here alone, passed to the client unchanged:
  // esdb://user:password@host:2113?tls=true (tlsCAFile=..., tlsVerifyCert=... as the client takes them).
  ESDB_CONNECTION_STRING: z
    .string()
    .regex(/^esdb(\+discover)?:\/\/\S+$/, 'must look like esdb://host:2113?tls=false')
    .optional(),
  // Unset: the read models are a SQLite file under DATA_DIR. postgres://user:pass@host:5432/db[?schema=name]:
  // every read model, handler ledger and handler table in PostgreSQL (API, workers, replay, CLI).
  READ_MODEL_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\/\S+$/, 'must look like postgres://user:password@host:5432/database (or be unset for the SQLite file under DATA_DIR)')
    .optional(),
  API_KEYS: apiKeys,
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  ROLE: z.enum(ROLES, { error: `must be one of ${ROLES.join(', ')}` }).default('all'),
  BODY_LIMIT_BYTES: z.coerce.number().int().min(1024, 'must be at least 1024').default(64 * 1024),
  EVENTSTORE_HOST: z.string().min(1).default('127.0.0.1'),
  // EventStoreDB's --insecure for the embedded store: no TLS, no credentials (anyone who reaches the port may do anything).
  EVENTSTORE_INSECURE: z.enum(['true', 'false', '1', '0'], { error: 'must be true or false' }).default('false').transform((value) => value === 'true' || value === '1'),
  RATE_LIMIT_PER_MINUTE: z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(0, 'must be 0 (off) or more').default(120_000),
  // A quarter of the latency budget: a request waits about that long before fastify sees it.
  OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(0, 'must be 0 (off) or more').default(500),
  // Below V8's own limit, so the API sheds before the process dies of heap exhaustion.
  OVERLOAD_MAX_HEAP_USED_BYTES: z.coerce
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(0, 'must be 0 (off) or more')
    .default(() => Math.floor(getHeapStatistics().heap_size_limit * 0.9)),
  OVERLOAD_RETRY_AFTER_SECONDS: z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(1, 'must be at least 1').default(5),
  OVERLOAD_MAX_IN_FLIGHT_COMMANDS: count('must be 0 (unbounded) or more', 64),
  OVERLOAD_MAX_IN_FLIGHT_READS: count('must be 0 (unbounded) or more', 128),
  OVERLOAD_MAX_QUEUED: count('must be 0 (no waiting) or more', 512),
  OVERLOAD_MAX_QUEUE_MS: count('must be 0 (no waiting) or more', 1_000),
  OVERLOAD_TARGET_SERVICE_MS: count('must be 0 (fixed bounds) or more', 500),
  OVERLOAD_LATENCY_BUDGET_MS: count('must be 0 (no budget) or more', 2_000),
  // A connection answered 503 is not read for this long; with the MAX set, longer for each 503 in
  // a row on it (at most half the latency budget and Retry-After): load-shedding.ts, longestHold.
  OVERLOAD_SHED_PAUSE_MS: count('must be 0 (not paused) or more', 250),
  OVERLOAD_SHED_PAUSE_MAX_MS: count('must be 0 (holds do not grow) or more', 0),
  // Appends waiting on the store client's one BatchAppend stream before a command is refused.
  OVERLOAD_MAX_QUEUED_APPENDS: count('must be 0 (unbounded) or more', 256),
  // Commands' first appends let go to that stream in one turn of the event loop (it moves ~2 a turn).
  OVERLOAD_MAX_APPENDS_PER_TURN: count('must be 0 (unbounded) or more', 8),
  // The kernel caps it at net.core.somaxconn; a full backlog drops new connections' handshakes.
  HTTP_LISTEN_BACKLOG: z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(1, 'must be at least 1').default(4_096),
  // Listeners accepting on the API's port in the process (each takes one new connection per
  // event-loop iteration): api/accept-listeners.ts. 1: Node's one listener.
  HTTP_ACCEPT_LISTENERS: z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(1, 'must be at least 1').max(64, 'must be at most 64').default(ACCEPT_LISTENERS),
  // A client that has not sent its whole request by then gets 408 and its connection closed.
  HTTP_REQUEST_TIMEOUT_MS: z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(1_000, 'must be at least 1000').default(30_000),
  // Below Docker's 10 s stop timeout, with room for closing the store after it.
  SHUTDOWN_GRACE_MS: z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(0, 'must be 0 or more').default(8_000),
  // How far V8 lets each thread's old generation grow past what its last full GC kept, in %
  // (V8's --heap-growing-percent; 0: V8's own factor, which let the main heap reach 3-4x its live
  // size under overload): heap-growth.ts.
  HEAP_GROWING_PERCENT: z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(0, 'must be 0 or more').max(300, 'must be at most 300').default(50),
});

export interface Config {
  port: number;
  host: string;
  eventStorePort: number;
  dataDir: string;
  /** Set: use that EventStoreDB. Unset: start the embedded store. */
  esdbConnectionString: string | undefined;
  /** Set (postgres://...): the read models are in PostgreSQL. Unset: `<dataDir>/readmodels.db`. */
  readModelUrl: string | undefined;
  /** API key -> tenantId; from API_KEYS a HashedApiKeys (SHA-256 digest -> tenantId), never the raw keys. */
  apiKeys: Map<string, string>;
  logLevel: (typeof LOG_LEVELS)[number];
  role: Role;
  bodyLimitBytes: number;
  /** Interface the embedded store listens on. */
  eventStoreHost: string;
  /** EVENTSTORE_INSECURE: the embedded store without TLS and credentials. */
  eventStoreInsecure: boolean;
  /** Per API key; 0: no rate limit. */
  rateLimitPerMinute: number;
  /** The API answers 503 + Retry-After while over these (0: not checked). */
  overload: {
    maxEventLoopDelayMs: number;
    maxHeapUsedBytes: number;
    retryAfterSeconds: number;
    /** Commands / reads worked on at once (0: unbounded); beyond them a request waits up to maxQueueMs, at most maxQueued of each kind. */
    maxInFlightCommands: number;
    maxInFlightReads: number;
    maxQueued: number;
    maxQueueMs: number;
    /** The in-flight bounds shrink while requests hold their slot longer than this (0: fixed bounds). */
    targetServiceMs: number;
    /** What a request may take from when the API sees it to its answer, served or 503 (0: no budget). */
    latencyBudgetMs: number;
    /** A connection answered 503 is not read for this long, at most the Retry-After delay (0: not paused). */
    shedPauseMs: number;
    shedPauseMaxMs: number;
    /** Appends waiting for the store before a command is refused 503 (0: not bounded by count). */
    maxQueuedAppends: number;
    maxAppendsPerTurn: number;
  };
  /** The API's listener: backlog of connections not yet accepted; how long a client may take to send a request. */
  http: { listenBacklog: number; acceptListeners: number; requestTimeoutMs: number };
  /** On SIGTERM/SIGINT, how long in-flight requests and handler calls may take before the process exits anyway. */
  shutdownGraceMs: number;
  /** V8's old generation grows to (1 + this / 100) x what its last full GC kept (0: V8's own factor). */
  heapGrowingPercent: number;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty variables count as unset, as a shell `FOO=` usually means.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const result = environment.safeParse(present);
  if (!result.success) {
    const issue = result.error.issues[0];
    const name = String(issue?.path[0] ?? 'environment');
    const value = present[name];
    // Never echo secrets: API keys, or the credentials of a connection string.
    const shown = value === undefined || name === 'API_KEYS' ? '' : ` (got '${value.replace(/\/\/[^/@\s]*@/, '//***@')}')`;
    throw new ConfigError(`invalid configuration: ${name} ${issue?.message ?? 'is invalid'}${shown}`);
  }
  const parsed = result.data;
  return {
    port: parsed.PORT,
    host: parsed.HOST,
    eventStorePort: parsed.EVENTSTORE_PORT,
    dataDir: parsed.DATA_DIR,
    esdbConnectionString: parsed.ESDB_CONNECTION_STRING,
    readModelUrl: parsed.READ_MODEL_URL,
    apiKeys: parsed.API_KEYS,
    logLevel: parsed.LOG_LEVEL,
    role: parsed.ROLE,
    bodyLimitBytes: parsed.BODY_LIMIT_BYTES,
    eventStoreHost: parsed.EVENTSTORE_HOST,
    eventStoreInsecure: parsed.EVENTSTORE_INSECURE,
    rateLimitPerMinute: parsed.RATE_LIMIT_PER_MINUTE,
    overload: {
      maxEventLoopDelayMs: parsed.OVERLOAD_MAX_EVENT_LOOP_DELAY_MS,
      maxHeapUsedBytes: parsed.OVERLOAD_MAX_HEAP_USED_BYTES,
      retryAfterSeconds: parsed.OVERLOAD_RETRY_AFTER_SECONDS,
      maxInFlightCommands: parsed.OVERLOAD_MAX_IN_FLIGHT_COMMANDS,
      maxInFlightReads: parsed.OVERLOAD_MAX_IN_FLIGHT_READS,
      maxQueued: parsed.OVERLOAD_MAX_QUEUED,
      maxQueueMs: parsed.OVERLOAD_MAX_QUEUE_MS,
      targetServiceMs: parsed.OVERLOAD_TARGET_SERVICE_MS,
      latencyBudgetMs: parsed.OVERLOAD_LATENCY_BUDGET_MS,
      shedPauseMs: parsed.OVERLOAD_SHED_PAUSE_MS,
      shedPauseMaxMs: parsed.OVERLOAD_SHED_PAUSE_MAX_MS,
      maxQueuedAppends: parsed.OVERLOAD_MAX_QUEUED_APPENDS,
      maxAppendsPerTurn: parsed.OVERLOAD_MAX_APPENDS_PER_TURN,
    },
    http: { listenBacklog: parsed.HTTP_LISTEN_BACKLOG, acceptListeners: parsed.HTTP_ACCEPT_LISTENERS, requestTimeoutMs: parsed.HTTP_REQUEST_TIMEOUT_MS },
    shutdownGraceMs: parsed.SHUTDOWN_GRACE_MS,
    heapGrowingPercent: parsed.HEAP_GROWING_PERCENT,
  };
}

function redactKey(text: string): string {
  return text.length <= 4 ? '****' : `${text.slice(0, 4)}****`;
}
