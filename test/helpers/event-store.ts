// Starts a real embedded event store on a free port for a test file. Never mock the client.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventStoreDBClient } from '@eventstore/db-client';
import { afterAll, beforeAll } from 'vitest';
import { startEventStoreServer, type EventStoreServer } from '../../src/esdb-server/index.js';

export interface TestEventStore {
  server: EventStoreServer;
  client: EventStoreDBClient;
  connectionString: string;
  /** Folder of the SQLite files when started with `durable: true`. */
  dataDir: string | undefined;
  close(): Promise<void>;
}

export interface TestEventStoreOptions {
  durable?: boolean;
  dataDir?: string;
  /**
   * A store secured as the default one is (TLS with its own CA, credentials): `client` and
   * `connectionString` connect as `admin`. Off by default so the many tests about something else
   * stay fast (as `--insecure`); the security tests and the e2e tests through `orders serve` use
   * the real secured default.
   */
  secure?: boolean;
}

export async function startTestEventStore(options: TestEventStoreOptions = {}): Promise<TestEventStore> {
  const ownDir = options.durable && !options.dataDir ? mkdtempSync(join(tmpdir(), 'order-store-esdb-')) : undefined;
  const dataDir = options.dataDir ?? ownDir;
  const insecure = options.secure !== true;
  const server = await startEventStoreServer(dataDir ? { port: 0, dataDir, insecure } : { port: 0, memory: true, insecure });
  const client = EventStoreDBClient.connectionString(server.connectionString);
  return {
    server,
    client,
    connectionString: server.connectionString,
    dataDir,
    async close() {
      await client.dispose();
      await server.close();
      if (ownDir) rmSync(ownDir, { recursive: true, force: true });
    },
  };
}

/**
 * For a test file sharing one store: starts it before the file's tests and closes it after.
 * `store` and `client` are there once the tests run (not while the file is being collected).
 */
export function useTestEventStore(options: { durable?: boolean; secure?: boolean } = {}): { readonly store: TestEventStore; readonly client: EventStoreDBClient } {
  let started: TestEventStore | undefined;
  beforeAll(async () => {
    started = await startTestEventStore(options);
  });
  afterAll(async () => {
    await started?.close();
  });
  const current = () => {
    if (!started) throw new Error('the test event store starts in beforeAll: use it inside tests and hooks');
    return started;
  };
  return {
    get store() {
      return current();
    },
    get client() {
      return current().client;
    },
  };
}
