// A projection killed mid-run (kill -9 of the server process) restarts where its checkpoint left
// it: its state and the events it emitted equal those of a run that was never killed (emitted
// events commit in one transaction with the checkpoint, so none is lost or written twice).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventStoreDBClient, jsonEvent } from '@eventstore/db-client';
import { afterAll, describe, expect, it } from 'vitest';
import { startCli, type RunningCli } from '../../helpers/cli.js';
import { collect, eventually } from './support.js';

const dataDir = mkdtempSync(join(tmpdir(), 'orders-esdb-projection-crash-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

async function startServer(): Promise<{ cli: RunningCli; client: EventStoreDBClient }> {
  const cli = startCli(['eventstore', '--port', '0', '--data', dataDir], { timeoutMs: 120_000 });
  const connectionString = await eventually(() => cli.output().stdout.match(/^esdb:\/\/\S+$/m)?.[0], 20_000);
  return { cli, client: EventStoreDBClient.connectionString(connectionString) };
}

const STREAMS = 200;
const EVENTS_PER_STREAM = 150;
const TOTAL = STREAMS * EVENTS_PER_STREAM;

/** Counts per type and sums the amounts; every 100th event emits a tally. A little work per event keeps it running long enough to be killed. */
const query = (tallies: string) => `
fromCategory('crashorder')
  .when({
    $init: function () { return { count: 0, amount: 0, types: {} }; },
    $any: function (state, event) {
      var spin = 0;
      for (var i = 0; i < 20000; i++) spin += i;
      state.count += 1;
      state.amount += event.body.amount;
      state.types[event.eventType] = (state.types[event.eventType] || 0) + 1;
      if (state.count % 100 === 0) emit('${tallies}', 'Tallied', { count: state.count, amount: state.amount });
    }
  })`;

describe('projections after kill -9', () => {
  it('restart where they left off: state and emitted events equal a run without the kill', async () => {
    const first = await startServer();
    for (let stream = 0; stream < STREAMS; stream++) {
      const events = Array.from({ length: EVENTS_PER_STREAM }, (_, n) => jsonEvent({ type: n % 3 === 0 ? 'OrderPlaced' : 'OrderPaid', data: { amount: (stream * 7 + n) % 100 } }));
      await first.client.appendToStream(`crashorder-${stream}`, events);
    }
    await first.client.createProjection('killed', query('tallies-killed'), { emitEnabled: true });
    // Kill it once it has committed some of the work but not all of it.
    const before = await eventually(async () => {
      const state = (await first.client.getProjectionState('killed')) as { count: number } | undefined;
      return state && state.count > 0 ? state.count : undefined;
    }, 30_000);
    first.cli.child.kill('SIGKILL');
    await first.cli.done;
    await first.client.dispose().catch(() => undefined);
    expect(before).toBeLessThan(TOTAL);

    const second = await startServer();
    try {
      await second.client.createProjection('reference', query('tallies-reference'), { emitEnabled: true });
      const finished = async (name: string) =>
        eventually(async () => {
          const state = (await second.client.getProjectionState(name)) as { count: number } | undefined;
          return state && state.count === TOTAL ? state : undefined;
        }, 60_000);
      const [killed, reference] = await Promise.all([finished('killed'), finished('reference')]);
      expect(killed).toEqual(reference);
      const tallies = async (stream: string) => (await collect(second.client.readStream(stream))).map((event) => event.event?.data);
      const killedTallies = await tallies('tallies-killed');
      expect(killedTallies).toHaveLength(TOTAL / 100);
      expect(killedTallies).toEqual(await tallies('tallies-reference'));
      expect((await second.client.getProjectionStatus('killed')).projectionStatus).toBe('Running');
    } finally {
      await second.client.dispose();
      second.cli.child.kill('SIGTERM');
      await second.cli.done;
    }
  }, 150_000);
});
