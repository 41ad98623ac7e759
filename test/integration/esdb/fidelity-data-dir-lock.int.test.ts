// One event store per data directory: a second server on the same files refuses to start with
// one line naming the process that holds them. The lock is the kernel's (POSIX locks through
// SQLite), so a holder killed with -9 leaves nothing behind, and it holds from a worker thread
// (how `npm start` runs the store) as well as from a process of its own.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventStoreDBClient } from '@eventstore/db-client';
import { startEventStoreServer } from '../../../src/esdb-server/index.js';
import { startEmbeddedEventStore } from '../../../src/eventstore/embedded-store-thread.js';
import { runCli, startCli, type RunningCli } from '../../helpers/cli.js';
import { collect, eventually, orderEvents } from './support.js';

const dirs: string[] = [];
const children: RunningCli[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'order-store-lock-'));
  dirs.push(dir);
  return dir;
}

async function startStoreProcess(dir: string): Promise<{ cli: RunningCli; connectionString: string }> {
  const cli = startCli(['eventstore', '--port', '0', '--data', dir]);
  children.push(cli);
  const connectionString = await eventually(() => cli.output().stdout.match(/^esdb:\/\/\S+$/m)?.[0], 20_000);
  return { cli, connectionString };
}

describe('a second server process on the same data directory', () => {
  it('refuses to start with one line naming the pid that holds it, and the first keeps serving', async () => {
    const dir = dataDir();
    const first = await startStoreProcess(dir);
    const second = await runCli(['eventstore', '--port', '0', '--data', dir]);
    expect(second.code).not.toBe(0);
    const lines = second.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`in use by process ${first.cli.child.pid}`);
    expect(lines[0]).toContain(join(dir, 'eventstore.db'));
    expect(second.stdout).not.toMatch(/esdb:\/\//);

    const client = EventStoreDBClient.connectionString(first.connectionString);
    try {
      await client.appendToStream('order-lock-1', orderEvents(2));
      expect(await collect(client.readStream('order-lock-1'))).toHaveLength(2);
    } finally {
      await client.dispose();
    }
  });

  it('starts once the holder was killed with -9: no stale lock, the data is there', async () => {
    const dir = dataDir();
    const first = await startStoreProcess(dir);
    const client = EventStoreDBClient.connectionString(first.connectionString);
    await client.appendToStream('order-lock-2', orderEvents(3));
    await client.dispose();
    first.cli.child.kill('SIGKILL');
    await first.cli.done;

    const next = await startStoreProcess(dir);
    const reader = EventStoreDBClient.connectionString(next.connectionString);
    try {
      expect(await collect(reader.readStream('order-lock-2'))).toHaveLength(3);
    } finally {
      await reader.dispose();
    }
  });
});

describe('the embedded store on a worker thread (npm start)', () => {
  it('holds the lock: another server in the same process is refused, and may start once it closed', async () => {
    const dir = dataDir();
    const embedded = await startEmbeddedEventStore({ dataDir: dir, port: 0 });
    try {
      await expect(startEventStoreServer({ dataDir: dir, port: 0 })).rejects.toThrow(`in use by process ${process.pid}`);
    } finally {
      await embedded.close();
    }
    const server = await startEventStoreServer({ dataDir: dir, port: 0 });
    await server.close();
  });

  it('keeps a separate process off the files while it runs', async () => {
    const dir = dataDir();
    const embedded = await startEmbeddedEventStore({ dataDir: dir, port: 0 });
    try {
      const other = await runCli(['eventstore', '--port', '0', '--data', dir]);
      expect(other.code).not.toBe(0);
      expect(other.stderr).toContain(`in use by process ${process.pid}`);
    } finally {
      await embedded.close();
    }
  });
});
