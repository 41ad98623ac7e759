// Events per second delivered AND acked through persistent subscriptions of the embedded server
// (one consumer with buffer 100; three RoundRobin consumers), as a ratio to a catch-up
// subscription reading the same events in the same run.
// Env: PS_BENCH_EVENTS (default 100000), PS_BENCH_BUFFER (default 100), PS_BENCH_ROUNDS (default
// 2: the three measurements interleaved, best of each kept, so a burst of load from elsewhere
// does not land on one side of a ratio only), PS_BENCH_DURABLE=1 to use a data folder instead of
// an in-memory store.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import {
  EventStoreDBClient,
  jsonEvent,
  persistentSubscriptionToStreamSettingsFromDefaults,
  ROUND_ROBIN,
  START,
  type PersistentSubscriptionToStreamResolvedEvent,
} from '@eventstore/db-client';
import { startEventStoreServer } from '../src/esdb-server/index.js';
import { reportFigure } from './report.js';

const EVENTS = Number(process.env.PS_BENCH_EVENTS ?? 100_000);
const BUFFER = Number(process.env.PS_BENCH_BUFFER ?? 100);
const DURABLE = process.env.PS_BENCH_DURABLE === '1';
const ROUNDS = Math.max(1, Number(process.env.PS_BENCH_ROUNDS ?? 2));
const APPEND_BATCH = 1_000;

const dataDir = DURABLE ? mkdtempSync(join(tmpdir(), 'ps-bench-')) : undefined;
const server = await startEventStoreServer(dataDir ? { dataDir } : { memory: true });
const client = EventStoreDBClient.connectionString(server.connectionString);

try {
  const stream = `bench-${randomUUID()}`;
  const seedStart = performance.now();
  for (let written = 0; written < EVENTS; written += APPEND_BATCH) {
    const count = Math.min(APPEND_BATCH, EVENTS - written);
    await client.appendToStream(stream, Array.from({ length: count }, (_, i) => jsonEvent({ type: 'BenchEvent', data: { n: written + i, payload: 'x'.repeat(64) } })));
  }
  console.log(`seeded ${EVENTS} events in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`);

  let catchUp: Rate = { wall: 0, cpu: 0 };
  let single: Rate = { wall: 0, cpu: 0 };
  let roundRobin: Rate = { wall: 0, cpu: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    catchUp = best(catchUp, await measure(() => catchUpSubscription(stream)));
    single = best(single, await measure(() => persistentSubscription(stream, `bench-single-${round}`, 1)));
    roundRobin = best(roundRobin, await measure(() => persistentSubscription(stream, `bench-round-robin-${round}`, 3)));
  }

  const rows = [
    ['catch-up subscription (baseline)', catchUp],
    [`persistent, 1 consumer, buffer ${BUFFER}, ack each`, single],
    [`persistent, 3 RoundRobin consumers, buffer ${BUFFER}`, roundRobin],
  ] as const;
  // Client and server share this process: events per CPU-second shows the cost of the work
  // itself, which other processes on a busy machine do not change (wall-clock rates they do).
  console.log(`\n${EVENTS} events, ${DURABLE ? 'durable' : 'in-memory'} store, client and server in one process, best of ${ROUNDS} rounds`);
  console.log(`${''.padEnd(52)} ${'events/s'.padStart(9)} ${'ratio'.padStart(6)}   ${'events/CPU-s'.padStart(12)} ${'ratio'.padStart(6)}`);
  for (const [name, rate] of rows) {
    console.log(
      `${name.padEnd(52)} ${Math.round(rate.wall).toString().padStart(9)} ${(rate.wall / catchUp.wall).toFixed(2).padStart(6)}   ${Math.round(rate.cpu).toString().padStart(12)} ${(rate.cpu / catchUp.cpu).toFixed(2).padStart(6)}`,
    );
  }
  const ratio = single.wall / catchUp.wall;
  console.log(`\ntargets: >= 10000 events/s with one consumer (${single.wall >= 10_000 ? 'met' : 'MISSED'}), >= 0.5x catch-up (${ratio >= 0.5 ? 'met' : 'MISSED'})`);
  reportFigure({ name: `persistent, 1 consumer, buffer ${BUFFER}`, value: single.wall, unit: 'events/s', baseline: catchUp.wall, baselineName: 'catch-up', target: '>= 10000' });
  reportFigure({ name: `persistent, 3 RoundRobin consumers`, value: roundRobin.wall, unit: 'events/s', baseline: catchUp.wall, baselineName: 'catch-up' });
} finally {
  await client.dispose();
  await server.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}

interface Rate {
  wall: number;
  cpu: number;
}

function best(a: Rate, b: Rate): Rate {
  return { wall: Math.max(a.wall, b.wall), cpu: Math.max(a.cpu, b.cpu) };
}

async function measure(run: () => Promise<void>): Promise<Rate> {
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  await run();
  const cpu = process.cpuUsage(cpuBefore);
  return { wall: EVENTS / ((performance.now() - started) / 1000), cpu: EVENTS / ((cpu.user + cpu.system) / 1e6) };
}

async function catchUpSubscription(stream: string): Promise<void> {
  const subscription = client.subscribeToStream(stream, { fromRevision: START });
  let seen = 0;
  for await (const _event of subscription) {
    if (++seen === EVENTS) break;
  }
  await subscription.unsubscribe();
}

async function persistentSubscription(stream: string, group: string, consumers: number): Promise<void> {
  await client.createPersistentSubscriptionToStream(
    stream,
    group,
    persistentSubscriptionToStreamSettingsFromDefaults({ startFrom: START, consumerStrategyName: ROUND_ROBIN }),
  );
  let acked = 0;
  const subscriptions = Array.from({ length: consumers }, () => client.subscribeToPersistentSubscriptionToStream(stream, group, { bufferSize: BUFFER }));
  await new Promise<void>((resolve, reject) => {
    for (const subscription of subscriptions) {
      subscription.on('error', reject);
      subscription.on('data', (event: PersistentSubscriptionToStreamResolvedEvent) => {
        subscription.ack(event).then(() => {
          if (++acked === EVENTS) resolve();
        }, reject);
      });
    }
  });
  for (const subscription of subscriptions) await subscription.unsubscribe();
}
