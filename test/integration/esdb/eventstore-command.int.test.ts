import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventStoreDBClient, jsonEvent, MaxAppendSizeExceededError } from '@eventstore/db-client';
import { runCli, startCli } from '../../helpers/cli.js';
import { collect, eventually, orderEvents } from './support.js';

describe('orders eventstore', () => {
  it('prints the connection string, serves the client on it, and exits 0 on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'orders-eventstore-cli-'));
    const cli = startCli(['eventstore', '--port', '0', '--data', dataDir]);
    try {
      const connectionString = await eventually(() => cli.output().stdout.match(/^esdb:\/\/\S+$/m)?.[0], 20_000);
      const client = EventStoreDBClient.connectionString(connectionString);
      await client.appendToStream('order-cli', orderEvents(2));
      expect(await collect(client.readStream('order-cli'))).toHaveLength(2);
      await client.dispose();
      const ui = await eventually(() => cli.output().stdout.match(/^UI: (http:\/\/127\.0\.0\.1:\d+\/)$/m)?.[1], 20_000);
      expect(new URL(ui).port).toBe(new URL(connectionString.replace('esdb://', 'http://')).port);
      // Secured by default: the UI asks for the admin credentials the command printed.
      expect((await fetch(new URL('ui/', ui))).status).toBe(401);
      const password = await eventually(() => cli.output().stdout.match(/^login: user 'admin', password (\S+) \(kept in (\S+)\)/m) ?? undefined, 20_000);
      expect(password[2]).toBe(join(dataDir, 'eventstore-admin-password'));
      const basic = `Basic ${Buffer.from(`admin:${password[1]}`).toString('base64')}`;
      expect((await fetch(new URL('ui/', ui), { headers: { authorization: basic } })).status).toBe(200);
      cli.child.kill('SIGTERM');
      const result = await cli.done;
      expect(result.code).toBe(0);
    } finally {
      cli.child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('runs on an in-memory store with --memory and stops on SIGINT', async () => {
    const cli = startCli(['eventstore', '--memory', '--port', '0']);
    await eventually(() => cli.output().stdout.match(/esdb:\/\//)?.[0], 20_000);
    cli.child.kill('SIGINT');
    expect((await cli.done).code).toBe(0);
  });

  it('runs without TLS and credentials with --insecure, and says so', async () => {
    const cli = startCli(['eventstore', '--memory', '--port', '0', '--insecure']);
    try {
      const connectionString = await eventually(() => cli.output().stdout.match(/^esdb:\/\/127\.0\.0\.1:\d+\?tls=false$/m)?.[0], 20_000);
      await eventually(() => (cli.output().stdout.includes('INSECURE (--insecure)') ? true : undefined), 20_000);
      const anyone = EventStoreDBClient.connectionString(connectionString);
      await anyone.appendToStream('order-open', orderEvents(1));
      expect(await collect(anyone.readStream('order-open'))).toHaveLength(1);
      await anyone.dispose();
      cli.child.kill('SIGTERM');
      expect((await cli.done).code).toBe(0);
    } finally {
      cli.child.kill('SIGKILL');
    }
  });

  it('prints its options with --help', async () => {
    const result = await runCli(['eventstore', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('--data <dir>');
    expect(result.stdout).toContain('--memory');
    expect(result.stdout).toContain('--max-append-size <bytes>');
    expect(result.stdout).toContain('--insecure');
  });

  it('takes --max-append-size and refuses larger appends with MaxAppendSizeExceededError naming it', async () => {
    const cli = startCli(['eventstore', '--memory', '--port', '0', '--max-append-size', '2000']);
    try {
      const connectionString = await eventually(() => cli.output().stdout.match(/^esdb:\/\/\S+$/m)?.[0], 20_000);
      const client = EventStoreDBClient.connectionString(connectionString);
      try {
        const error = await client.appendToStream('order-big', jsonEvent({ type: 'big', data: { blob: 'x'.repeat(2_000) } })).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(MaxAppendSizeExceededError);
        expect(error).toMatchObject({ maxAppendSize: 2000 });
        await expect(client.appendToStream('order-small', jsonEvent({ type: 'small', data: { blob: 'x'.repeat(500) } }))).resolves.toBeDefined();
      } finally {
        await client.dispose();
      }
      cli.child.kill('SIGTERM');
      expect((await cli.done).code).toBe(0);
    } finally {
      cli.child.kill('SIGKILL');
    }
  });

  it.each([
    [['--bogus'], /unknown option '--bogus'/i],
    [['--memory', '--port', 'abc'], /--port must be a non-negative integer/],
    [['--memory', '--port', '70000'], /--port must be at most 65535/],
    [['--port', '0'], /give --data <dir> or --memory/],
    [['--memory', '--data', 'x'], /exclude each other/],
    [['--memory', '--max-append-size', 'lots'], /--max-append-size must be a non-negative integer/],
    [['--memory', '--max-append-size', '0'], /--max-append-size must be at least 1/],
  ])('rejects %j with a one-line error and a usage exit code', async (args, message) => {
    const result = await runCli(['eventstore', ...args]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(message);
  });
});
