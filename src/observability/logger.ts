// The service's pino logger. Fastify gets the same instance, so request logs and the rest share
// one stream and one level.
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level: LevelWithSilent;
  /** Service name on every line. */
  name?: string;
}

export function createLogger(options: LoggerOptions): Logger {
  return pino({
    name: options.name ?? 'order-store',
    level: options.level,
    // Never log credentials, even when a request is logged in full.
    redact: { paths: ['req.headers.authorization', 'headers.authorization'], censor: '[redacted]' },
  });
}
