// The `orders` command's answers to its user, through real child processes: the version, help per
// command, usage errors in the CLI's own words with exit code 2, a port in use named by its
// variable (one line, nothing from gRPC), and log lines readable on a terminal, JSON otherwise.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, startCli } from '../../helpers/cli.js';
import { freePort } from '../../helpers/free-port.js';

const root = join(import.meta.dirname, '..', '..', '..');
const dataDir = mkdtempSync(join(tmpdir(), 'order-store-cli-usage-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

async function occupy(port: number): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return server;
}

describe('orders', () => {
  it('prints its version with --version', async () => {
    const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    const result = await runCli(['--version']);
    expect([result.code, result.stdout.trim()]).toEqual([0, `orders ${version}`]);
  });

  it('answers `orders help <command>` with that command\'s --help', async () => {
    const help = await runCli(['help', 'replay']);
    const flag = await runCli(['replay', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: orders replay <projection>');
    expect(help.stdout).toBe(flag.stdout);
    const unknown = await runCli(['help', 'frobnicate']);
    expect([unknown.code, unknown.stderr.trim()]).toEqual([2, "orders: unknown command 'frobnicate' (run `orders --help` for the list)"]);
  });

  it.each([
    [['replay', 'order-summary', '--frobnicate'], "orders: unknown option '--frobnicate' for replay (it takes --until <value>, --out <value>, --dry-run) (run `orders help replay`)"],
    [['replay', 'order-summary', '--until'], "orders: --until needs a value (--until <value>, or --until=<value> for one that starts with '-') (run `orders help replay`)"],
    [['projections', '--json=yes'], 'orders: --json is a switch and takes no value (run `orders help projections`)'],
    [['parked', 'some-group', '--replay', '--stop-at', 'ten'], "orders: --stop-at must be a non-negative integer, got 'ten'"],
    [['replay', 'no-such-projection'], "orders: unknown projection 'no-such-projection'"],
    [['--frobnicate'], "orders: unknown option '--frobnicate': options go after the command (run `orders --help`)"],
  ])('refuses %j in its own words with exit code 2', async (args, expected) => {
    const result = await runCli(args, { env: { DATA_DIR: dataDir } });
    expect(result.code).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(expected);
    // node:util's wording ("place it at the end of the command after '--'") stays out.
    expect(result.stderr).not.toMatch(/place it|ambiguous|ERR_PARSE_ARGS/);
  });

  it('names EVENTSTORE_PORT in one line, with no gRPC log line, when the store\'s port is taken', async () => {
    const taken = await freePort();
    const blocker = await occupy(taken);
    try {
      const result = await runCli(['serve'], { env: { PORT: String(await freePort()), EVENTSTORE_PORT: String(taken), DATA_DIR: dataDir, API_KEYS: 'k:t', LOG_LEVEL: 'warn' } });
      expect(result.code).toBe(1);
      expect(result.stderr.trim()).toBe(
        `orders: could not start: the embedded event store cannot listen on 127.0.0.1:${taken}: the port is already in use (set EVENTSTORE_PORT to a free port)`,
      );
      expect(result.stdout + result.stderr).not.toMatch(/No address added/);
    } finally {
      blocker.close();
    }
  });

  it('names PORT when the API\'s port is taken', async () => {
    const taken = await freePort();
    const blocker = await occupy(taken);
    try {
      const result = await runCli(['serve'], { env: { PORT: String(taken), EVENTSTORE_PORT: String(await freePort()), DATA_DIR: dataDir, API_KEYS: 'k:t', LOG_LEVEL: 'warn' } });
      expect(result.code).toBe(1);
      expect(result.stderr.trim()).toBe(`orders: could not start: the API cannot listen on 127.0.0.1:${taken}: the port is already in use (set PORT to a free port)`);
    } finally {
      blocker.close();
    }
  });
});

describe('the service\'s log lines', () => {
  const env = async () => ({ PORT: String(await freePort()), EVENTSTORE_PORT: String(await freePort()), DATA_DIR: dataDir, API_KEYS: 'k:t', LOG_LEVEL: 'info' });

  it('are JSON, one object a line, when stdout is not a terminal', async () => {
    const service = startCli(['serve'], { env: await env() });
    const deadline = Date.now() + 30_000;
    while (!service.output().stdout.includes('subscription groups started') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    service.child.kill('SIGTERM');
    const { stdout, code } = await service.done;
    expect(code).toBe(0);
    const logLines = stdout.split('\n').filter((line) => line.startsWith('{'));
    expect(logLines.length).toBeGreaterThan(2);
    const messages = logLines.map((line) => (JSON.parse(line) as { msg: string }).msg);
    expect(messages).toContain('subscription groups started');
    expect(messages).toContain('stopped');
  });

  const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
  it.skipIf(!hasScript)('are readable lines, not JSON, on a terminal (through script(1), a real pty)', async () => {
    const settings = await env();
    const assignments = Object.entries({ ...settings, ORDERS_FROM_SOURCE: '1', NO_COLOR: '1' }).map(([key, value]) => `${key}=${value}`);
    // Inside the pty: start the service, wait (at most 60 s) until it answers, then SIGTERM it. If
    // script(1) is killed on the timeout, the shell's EXIT trap still takes the service down with it
    // instead of leaving it running after the test.
    const waitUp = `${process.execPath} -e "const end=Date.now()+60000;const go=()=>fetch('http://127.0.0.1:${settings.PORT}/health').then(()=>{},()=>Date.now()<end?setTimeout(go,200):process.exit(1));go()"`;
    const command = `env ${assignments.join(' ')} ${process.execPath} bin/orders.js serve & pid=$!; trap 'kill -KILL $pid 2>/dev/null' EXIT; ${waitUp}; kill -TERM $pid; wait $pid`;
    const result = spawnSync('script', ['-qfec', command, '/dev/null'], { cwd: root, encoding: 'utf8', timeout: 90_000 });
    const output = result.stdout;
    expect(output).toMatch(/INFO.*embedded event store started/);
    expect(output).toMatch(/INFO.*shutting down/);
    expect(output).not.toMatch(/^\{"level"/m);
  });
});
