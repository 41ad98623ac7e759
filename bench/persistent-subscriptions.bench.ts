// Events per second delivered AND acked through persistent subscriptions of the embedded server
// (one consumer with buffer 100; three RoundRobin consumers), as a ratio to a catch-up
// subscription reading the same events in the same run.
// Env: PS_BENCH_EVENTS (default 100000), PS_BENCH_BUFFER (default 100), PS_BENCH_DURABLE=1 to
// use a data folder instead of an in-memory store.
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

  const catchUp = await measure(() => catchUpSubscription(stream));
  const single = await measure(() => persistentSubscription(stream, 'bench-single', 1));
  const roundRobin = await measure(() => persistentSubscription(stream, 'bench-round-robin', 3));

  const rows = [
    ['catch-up subscription (baseline)', catchUp, 1],
    [`persistent, 1 consumer, buffer ${BUFFER}, ack each`, single, single / catchUp],
    [`persistent, 3 RoundRobin consumers, buffer ${BUFFER}`, roundRobin, roundRobin / catchUp],
  ] as const;
  console.log(`\n${EVENTS} events, ${DURABLE ? 'durable' : 'in-memory'} store`);
  for (const [name, rate, ratio] of rows) console.log(`${name.padEnd(52)} ${Math.round(rate).toString().padStart(8)} events/s   ${ratio.toFixed(2)}x catch-up`);
  console.log(`\ntargets: >= 10000 events/s with one consumer (${single >= 10_000 ? 'met' : 'MISSED'}), >= 0.5x catch-up (${single / catchUp >= 0.5 ? 'met' : 'MISSED'})`);
  reportFigure({ name: `persistent, 1 consumer, buffer ${BUFFER}`, value: single, unit: 'events/s', baseline: catchUp, baselineName: 'catch-up', target: '>= 10000' });
  reportFigure({ name: `persistent, 3 RoundRobin consumers`, value: roundRobin, unit: 'events/s', baseline: catchUp, baselineName: 'catch-up' });
} finally {
  await client.dispose();
  await server.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}

async function measure(run: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await run();
  return EVENTS / ((performance.now() - started) / 1000);
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
