// The environment, parsed once at start with zod. Every knob has a default for the embedded
// setup; a bad value stops the service with one clear line naming the variable.
import { z } from 'zod';

const port = (fallback: number) =>
  z.coerce
    .number({ error: 'must be a port number' })
    .int('must be a whole port number')
    .min(1, 'must be between 1 and 65535')
    .max(65535, 'must be between 1 and 65535')
    .default(fallback);

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const ROLES = ['api', 'workers', 'all'] as const;
export type Role = (typeof ROLES)[number];

/** `<key>:<tenantId>` pairs, comma-separated: each API key belongs to one tenant. */
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
    return keys;
  });

const environment = z.object({
  PORT: port(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  EVENTSTORE_PORT: port(2113),
  DATA_DIR: z.string().min(1).default('./data'),
  ESDB_CONNECTION_STRING: z
    .string()
    .regex(/^esdb(\+discover)?:\/\/\S+$/, 'must look like esdb://host:2113?tls=false')
    .optional(),
  API_KEYS: apiKeys,
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  ROLE: z.enum(ROLES, { error: `must be one of ${ROLES.join(', ')}` }).default('all'),
  BODY_LIMIT_BYTES: z.coerce.number().int().min(1024, 'must be at least 1024').default(64 * 1024),
});

export interface Config {
  port: number;
  host: string;
  eventStorePort: number;
  dataDir: string;
  /** Set: use that EventStoreDB. Unset: start the embedded store. */
  esdbConnectionString: string | undefined;
  /** API key -> tenantId. */
  apiKeys: Map<string, string>;
  logLevel: (typeof LOG_LEVELS)[number];
  role: Role;
  bodyLimitBytes: number;
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
    const shown = value === undefined || name === 'API_KEYS' ? '' : ` (got '${value}')`;
    throw new ConfigError(`invalid configuration: ${name} ${issue?.message ?? 'is invalid'}${shown}`);
  }
  const parsed = result.data;
  return {
    port: parsed.PORT,
    host: parsed.HOST,
    eventStorePort: parsed.EVENTSTORE_PORT,
    dataDir: parsed.DATA_DIR,
    esdbConnectionString: parsed.ESDB_CONNECTION_STRING,
    apiKeys: parsed.API_KEYS,
    logLevel: parsed.LOG_LEVEL,
    role: parsed.ROLE,
    bodyLimitBytes: parsed.BODY_LIMIT_BYTES,
  };
}

function redactKey(text: string): string {
  return text.length <= 4 ? '****' : `${text.slice(0, 4)}****`;
}
