// The `orders` command. Each subcommand lives in its own file, loaded only when asked for.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError } from './cli-error.js';

// gRPC's own logger writes lines such as 'E No address added out of total 1 resolved' to stderr,
// next to the CLI's one-line answer for the same failure. Set before grpc-js loads (the store's
// threads inherit it); GRPC_VERBOSITY=ERROR brings its lines back.
process.env.GRPC_VERBOSITY ??= 'NONE';

export interface Command {
  /** Runs the command; resolves with the exit code (0 when omitted). */
  run(args: string[]): Promise<number | void>;
}

const commands: Record<string, { summary: string; load: () => Promise<Command> }> = {
  serve: { summary: 'run the service (API and workers) on the embedded store or ESDB_CONNECTION_STRING', load: () => import('./serve-command.js') },
  eventstore: { summary: 'run the embedded EventStoreDB-compatible server alone', load: () => import('./eventstore-command.js') },
  history: { summary: 'every event of an order with the state after each', load: () => import('./history-command.js') },
  trace: { summary: 'the causation tree of every event carrying a correlation id', load: () => import('./trace-command.js') },
  parked: { summary: 'list the events a subscription group parked, and replay them', load: () => import('./parked-command.js') },
  replay: { summary: 'rebuild a projection\'s read model from the full history', load: () => import('./replay-command.js') },
  outbox: { summary: 'WhatsApp messages with their state; resend or settle one on an operator decision', load: () => import('./outbox-command.js') },
  projections: { summary: 'every projection and handler group: status, checkpoint, lag, parked', load: () => import('./projections-command.js') },
};

/** The package's version, from the package.json above this file (src/cli or dist/src/cli). */
function version(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    try {
      return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      if (dirname(dir) === dir) return 'unknown';
    }
  }
}

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  const lines = Object.entries(commands).map(([name, { summary }]) => `  ${name.padEnd(width)}  ${summary}`);
  return [
    'Usage: orders <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Run `orders help <command>` (or `orders <command> --help`) for its options; `orders --version` for the version.',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-v' || name === 'version') {
    console.log(`orders ${version()}`);
    return 0;
  }
  if (name === 'help' && rest.length > 0) {
    // `orders help <command>` is `orders <command> --help`.
    const [topic, ...extra] = rest;
    if (extra.length > 0) throw new CliError(`help takes one command, got '${rest.join(' ')}'`, 2);
    return runCommand(topic!, ['--help']);
  }
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 2;
  }
  if (name.startsWith('-')) throw new CliError(`unknown option '${name}': options go after the command (run \`orders --help\`)`, 2);
  return runCommand(name, rest);
}

async function runCommand(name: string, args: string[]): Promise<number> {
  const entry = commands[name];
  if (!entry) throw new CliError(`unknown command '${name}' (run \`orders --help\` for the list)`, 2);
  const command = await entry.load();
  return (await command.run(args)) ?? 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof CliError) {
      console.error(`orders: ${err.message}`);
      process.exitCode = err.exitCode;
    } else {
      const message = err instanceof Error ? err.message : String(err);
      console.error(`orders: ${message}`);
      if (process.env.DEBUG) console.error(err);
      process.exitCode = 1;
    }
  },
);
