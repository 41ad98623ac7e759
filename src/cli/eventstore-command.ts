// `orders eventstore`: runs the embedded EventStoreDB-compatible server alone, until SIGINT/SIGTERM.
import { startEventStoreServer, type EventStoreServerOptions } from '../esdb-server/index.js';
import { parseCommandArgs, parseCount } from './args.js';
import { CliError } from './cli-error.js';

const HELP = `Usage: orders eventstore [options]

Runs the embedded EventStoreDB-compatible server (gRPC, and its HTTP endpoints and UI on the same
port) and prints its connection string, then the UI's URL and the admin credentials.

Secured by default, as EventStoreDB since v20: TLS with its own CA and node certificate and the
'admin' user, made on first start and kept in the data directory (eventstore-ca.crt,
eventstore-admin-password; 0600 files in a 0700 folder). The connection string it prints carries
both (tls=true&tlsCAFile=..., admin:<password>@).

Options:
  --port <n>       port to listen on (default 2113; 0 picks a free one)
  --host <addr>    interface to listen on (default 127.0.0.1)
  --data <dir>     folder of the SQLite store (created when missing)
  --memory         keep everything in memory (a throw-away store)
  --insecure       no TLS and no credentials, as EventStoreDB's --insecure: anyone who reaches
                   the port may read, write and delete everything (also EVENTSTORE_INSECURE=true)
  --max-append-size <bytes>
                   largest append the server accepts, counted as EventStoreDB does (data,
                   metadata, 2 bytes per event type character); default 1048576 as EventStoreDB
  -h, --help       show this help`;

const OPTIONS = {
  port: { type: 'string' },
  host: { type: 'string' },
  data: { type: 'string' },
  memory: { type: 'boolean' },
  insecure: { type: 'boolean' },
  'max-append-size': { type: 'string' },
} as const;

export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, { options: OPTIONS, positionals: { min: 0, max: 0 }, help: HELP });
  if (!parsed) return 0;
  const { values } = parsed;
  if (values.memory && values.data !== undefined) throw new CliError('--memory and --data exclude each other', 2);
  if (!values.memory && values.data === undefined) throw new CliError('give --data <dir> or --memory', 2);
  if (values.data === '') throw new CliError('--data needs a folder', 2);
  const port = values.port === undefined ? 2113 : parseCount(values.port, '--port');
  if (port > 65_535) throw new CliError(`--port must be at most 65535, got ${port}`, 2);
  const maxAppendSize = values['max-append-size'] === undefined ? undefined : parseCount(values['max-append-size'], '--max-append-size');
  if (maxAppendSize === 0) throw new CliError('--max-append-size must be at least 1', 2);

  const insecureByEnv = process.env.EVENTSTORE_INSECURE;
  if (insecureByEnv !== undefined && insecureByEnv !== '' && !['true', 'false', '1', '0'].includes(insecureByEnv)) {
    throw new CliError(`invalid configuration: EVENTSTORE_INSECURE must be true or false (got '${insecureByEnv}')`, 2);
  }
  const insecure = values.insecure === true || insecureByEnv === 'true' || insecureByEnv === '1';
  process.umask(0o077);
  const options: EventStoreServerOptions = { ...(values.memory ? { memory: true } : { dataDir: values.data }), insecure };
  let server;
  try {
    server = await startEventStoreServer({ ...options, port, host: values.host ?? '127.0.0.1', ...(maxAppendSize === undefined ? {} : { maxAppendSize }) });
  } catch (err) {
    throw new CliError(`cannot start the event store: ${err instanceof Error ? err.message : String(err)}`);
  }
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    // Printed once the handlers are in: whoever waits for this line may signal at once.
    console.log(server.connectionString);
    if (server.uiUrl) console.log(`UI: ${server.uiUrl}`);
    const credentials = server.credentials;
    if (credentials) console.log(`login: user '${credentials.login}', password ${credentials.password}${credentials.passwordFile ? ` (kept in ${credentials.passwordFile})` : ''}; CA certificate: ${credentials.caFile}`);
    else console.log('INSECURE (--insecure): no TLS and no credentials; anyone who reaches the port can read and change everything');
  });
  await server.close();
  return 0;
}
