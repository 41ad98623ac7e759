// The service's pino logger. Fastify gets the same instance, so request logs and the rest share
// one stream and one level. JSON lines for machines (stdout not a terminal: docker, systemd, a
// pipe); on a terminal, pino-pretty's readable lines, written synchronously on this thread so
// nothing is lost when the process exits. Without pino-pretty installed it stays JSON.
import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';
import { traceContextFields } from './log-trace-context.js';

export type { Logger };

export interface LoggerOptions {
  level: LevelWithSilent;
  /** Service name on every line. */
  name?: string;
  /** Readable lines instead of JSON; default: when stdout is a terminal. */
  pretty?: boolean;
}

export function createLogger(options: LoggerOptions): Logger {
  const settings = {
    name: options.name ?? 'order-store',
    level: options.level,
    // Never log credentials, even when a request is logged in full.
    redact: { paths: ['req.headers.authorization', 'headers.authorization'], censor: '[redacted]' },
    // trace_id / span_id of the active span, so a log line leads to its trace.
    mixin: traceContextFields,
  };
  const pretty = (options.pretty ?? process.stdout.isTTY === true) ? prettyStream() : undefined;
  return pretty ? pino(settings, pretty) : pino(settings);
}

type PrettyFactory = (options: Record<string, unknown>) => DestinationStream;

function prettyStream(): DestinationStream | undefined {
  let factory: PrettyFactory;
  try {
    // pino-pretty is CommonJS; required here so a missing copy falls back to JSON at once.
    factory = createRequire(import.meta.url)('pino-pretty') as PrettyFactory;
  } catch {
    return undefined;
  }
  return factory({
    sync: true,
    colorize: !process.env.NO_COLOR,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,name',
    singleLine: true,
  });
}
