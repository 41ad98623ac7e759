import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventStoreDBClient, jsonEvent, NO_STREAM, StreamNotFoundError } from '@eventstore/db-client';
import { startCli, type RunningCli } from '../../helpers/cli.js';
import { collect, eventually } from './support.js';

const dataDir = mkdtempSync(join(tmpdir(), 'orders-esdb-crash-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

async function startServer(): Promise<{ cli: RunningCli; client: EventStoreDBClient }> {
  const cli = startCli(['eventstore', '--port', '0', '--data', dataDir]);
  const connectionString = await eventually(() => cli.output().stdout.match(/^esdb:\/\/\S+$/m)?.[0], 20_000);
  return { cli, client: EventStoreDBClient.connectionString(connectionString) };
}

const EVENTS_PER_APPEND = 3;

describe('crash safety', () => {
  it('keeps every acknowledged append, whole, and no partial append after kill -9 mid-load', async () => {
    const first = await startServer();
    const acknowledged = new Set<number>();
    let attempted = 0;
    let stop = false;
    // 20 concurrent writers, each append a new stream of three events.
    const writer = async () => {
      while (!stop) {
        const index = attempted++;
        const events = Array.from({ length: EVENTS_PER_APPEND }, (_, n) => jsonEvent({ type: 'crash.test', data: { index, n } }));
        try {
          await first.client.appendToStream(`crash-${index}`, events, { expectedRevision: NO_STREAM });
          acknowledged.add(index);
        } catch {
          return; // the server is gone
        }
      }
    };
    const writers = Array.from({ length: 20 }, writer);
    await eventually(() => (acknowledged.size >= 300 ? true : undefined), 20_000);
    first.cli.child.kill('SIGKILL');
    stop = true;
    await first.cli.done;
    await Promise.allSettled(writers);
    await first.client.dispose();

    const second = await startServer();
    try {
      const counts = new Map<number, number>();
      for (let index = 0; index < attempted; index++) {
        const events = await collect(second.client.readStream(`crash-${index}`)).catch((error: unknown) => {
          if (error instanceof StreamNotFoundError) return [];
          throw error;
        });
        for (const event of events) expect(event.event!.data).toMatchObject({ index });
        counts.set(index, events.length);
      }
      const lost = [...acknowledged].filter((index) => counts.get(index) !== EVENTS_PER_APPEND);
      const partial = [...counts].filter(([, count]) => count !== 0 && count !== EVENTS_PER_APPEND);
      expect(lost).toEqual([]);
      expect(partial).toEqual([]);
      expect(acknowledged.size).toBeGreaterThanOrEqual(300);
    } finally {
      await second.client.dispose();
      second.cli.child.kill('SIGTERM');
      await second.cli.done;
    }
  });
});
