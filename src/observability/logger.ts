// The service's pino logger. Fastify gets the same instance, so request logs and the rest share
// one stream and one level. JSON lines for machines (stdout not a terminal: docker, systemd, a
// pipe); on a terminal, pino-pretty's readable lines, written synchronously on this thread so
// nothing is lost when the process exits. Without pino-pretty installed it stays JSON.
import { writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
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
  guardProcessStdout();
  const pretty = (options.pretty ?? process.stdout.isTTY === true) ? prettyStream() : undefined;
  return pino(settings, pretty ?? stdoutThatNeverThrows());
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
    destination: new Writable({
      write(chunk: Buffer | string, _encoding, done) {
        writeToStdout(chunk);
        done();
      },
    }),
    colorize: !process.env.NO_COLOR,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,name',
    singleLine: true,
  });
}

// ---- stdout that cannot kill the process ----------------------------------------------------
// pino's own destination (sonic-boom) emits an unhandled 'error' on EPIPE, and on ENOSPC (stdout
// on a full disk) its flush at exit retries forever: a process that cannot log would die or
// never exit. Logging is not worth either: lines that cannot be written are dropped and counted,
// and the count is written as a line of its own once stdout takes writes again.

const STDOUT = 1;
const EAGAIN_RETRIES = 100;
let droppedLines = 0;
let droppedSince: string | undefined;

function stdoutThatNeverThrows(): DestinationStream {
  return { write: (line: string) => writeToStdout(line) };
}

let stdoutGuarded = false;

/**
 * What else writes to stdout (console.log of the CLI's banner) goes through process.stdout,
 * whose failures arrive as an 'error' event: unhandled, that kills the process. They are
 * dropped like the logger's own.
 */
function guardProcessStdout(): void {
  if (stdoutGuarded) return;
  stdoutGuarded = true;
  process.stdout.on('error', () => {
    droppedLines++;
    droppedSince ??= new Date().toISOString();
  });
}

/** Writes all of `data` to fd 1, or drops it (counted) when stdout refuses it. */
export function writeToStdout(data: Buffer | string): void {
  if (droppedLines > 0) {
    const note = `${JSON.stringify({ level: 40, time: Date.now(), msg: `${droppedLines} log line(s) could not be written to stdout since ${droppedSince} and were dropped` })}\n`;
    if (!writeFully(Buffer.from(note))) {
      droppedLines++;
      return;
    }
    droppedLines = 0;
    droppedSince = undefined;
  }
  if (!writeFully(typeof data === 'string' ? Buffer.from(data) : data)) {
    droppedLines++;
    droppedSince ??= new Date().toISOString();
  }
}

function writeFully(buffer: Buffer): boolean {
  let offset = 0;
  let busy = 0;
  while (offset < buffer.length) {
    try {
      offset += writeSync(STDOUT, buffer, offset);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // A non-blocking pipe that is full: the reader is slow, wait a little (bounded).
      if ((code === 'EAGAIN' || code === 'EBUSY') && busy++ < EAGAIN_RETRIES) {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
        continue;
      }
      // EPIPE (nobody reads), ENOSPC (a full disk), EIO, EBADF...: give the line up.
      return false;
    }
  }
  return true;
}

/** Log lines dropped since stdout last took a write (for tests and /metrics). */
export function droppedLogLines(): number {
  return droppedLines;
}
