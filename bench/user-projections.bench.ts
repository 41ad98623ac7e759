// Benchmark of user projections on the embedded server (in its own process, as deployed):
// 1. a continuous projection counting events per type over BENCH_PROJECTION_EVENTS (1M) events,
//    in events/s, against a plain catch-up read of $all through the client in the same run
//    (target >= 0.5x);
// 2. append throughput (BENCH_APPEND_EVENTS, 20k, from 16 writers in 10-event appends) with two
//    projections running live, against the same appends with none running (target >= 0.8x);
//    BENCH_APPEND_ROUNDS (3) rounds of each, taking turns, medians compared.
// The store is seeded straight through the event log in 5000-event appends before the server starts.
// Run: `npm run bench user-projections`, or small: `BENCH_PROJECTION_EVENTS=50000 ...`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { END, EventStoreDBClient, jsonEvent, START } from '@eventstore/db-client';
import { openSqliteEventLog } from '../src/esdb-server/log/sqlite-event-log.js';
import { startChild, stopChild } from './children.js';
import { reportFigure } from './report.js';

const here = dirname(fileURLToPath(import.meta.url));
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const EVENTS = env('BENCH_PROJECTION_EVENTS', 1_000_000);
const APPEND_EVENTS = env('BENCH_APPEND_EVENTS', 20_000);
const ROUNDS = env('BENCH_APPEND_ROUNDS', 3);
const TYPES = ['order.created', 'order.paid', 'order.shipped', 'order.delivered', 'order.status_changed'];
const PAYLOAD = Buffer.from(JSON.stringify({ orderId: 'o-0001', tenantId: 't-01', lines: [{ sku: 'sku-1', quantity: 2, price: 1999 }] }));
const EMPTY = new Uint8Array(0);

const COUNT_PER_TYPE = `
fromAll()
  .when({
    $init: function () { return {}; },
    $any: function (state, event) {
      state[event.eventType] = (state[event.eventType] || 0) + 1;
    }
  })`;

const PER_ORDER = `
fromCategory('live')
  .foreachStream()
  .when({
    $init: function () { return { events: 0 }; },
    $any: function (state, event) { state.events += 1; }
  })`;

const dataDir = mkdtempSync(join(tmpdir(), 'orders-bench-user-projections-'));
try {
  await seed();
  const server = await startChild([join(here, '..', 'bin', 'orders.js'), 'eventstore', '--port', '0', '--data', dataDir], { ORDERS_FROM_SOURCE: '1' }, /esdb:\/\/\S+/);
  const client = EventStoreDBClient.connectionString(server.match[0]);
  try {
    const read = await catchUpRead(client);
    const projected = await projectionRun(client);
    reportFigure({ name: `continuous projection over ${EVENTS} events (count per type)`, value: projected, unit: 'events/s', baseline: read, baselineName: 'catch-up read of $all', target: '>= 0.5x' });

    // Rounds with none and with two projections running take turns, so a change of load on a
    // shared machine weighs on both; the medians are compared.
    await client.createProjection('per-order', PER_ORDER);
    const alone: number[] = [];
    const withTwo: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      await client.disableProjection('count-per-type');
      await client.disableProjection('per-order');
      alone.push(await appendThroughput(client, `a${round}-`));
      await client.enableProjection('count-per-type');
      await client.enableProjection('per-order');
      await caughtUp(client, ['count-per-type', 'per-order']);
      withTwo.push(await appendThroughput(client, `b${round}-`));
      await caughtUp(client, ['count-per-type', 'per-order']);
    }
    reportFigure({ name: 'appends with two projections running', value: median(withTwo), unit: 'events/s', baseline: median(alone), baselineName: 'no projection running', target: '>= 0.8x' });
  } finally {
    await client.dispose();
    await stopChild(server.child);
  }
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}

async function seed(): Promise<void> {
  const started = performance.now();
  const log = openSqliteEventLog({ file: join(dataDir, 'eventstore.db'), synchronous: 'NORMAL' });
  const batch = 5_000;
  const pending: Promise<unknown>[] = [];
  for (let written = 0; written < EVENTS; written += batch) {
    const size = Math.min(batch, EVENTS - written);
    const events = Array.from({ length: size }, (_, i) => ({
      id: globalThis.crypto.randomUUID(),
      type: TYPES[(written + i) % TYPES.length]!,
      contentType: 'application/json',
      data: PAYLOAD,
      metadata: EMPTY,
    }));
    pending.push(log.append(`order-${written / batch}`, 'any', events));
    if (pending.length >= 8) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  await log.close();
  console.log(`seeded ${EVENTS} events in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

async function catchUpRead(client: EventStoreDBClient): Promise<number> {
  const started = performance.now();
  let count = 0;
  for await (const event of client.readAll({ fromPosition: START, direction: 'forwards', maxCount: Number.MAX_SAFE_INTEGER })) {
    if (!event.event?.type.startsWith('$')) count++;
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(`catch-up read of $all: ${count} events in ${seconds.toFixed(1)} s (${Math.round(count / seconds)} events/s)`);
  return count / seconds;
}

async function projectionRun(client: EventStoreDBClient): Promise<number> {
  const started = performance.now();
  await client.createProjection('count-per-type', COUNT_PER_TYPE);
  for (;;) {
    const state = (await client.getProjectionState('count-per-type')) as Record<string, number> | undefined;
    const counted = TYPES.reduce((sum, type) => sum + (state?.[type] ?? 0), 0);
    if (counted >= EVENTS) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(`projection count-per-type: ${EVENTS} events in ${seconds.toFixed(1)} s (${Math.round(EVENTS / seconds)} events/s)`);
  return EVENTS / seconds;
}

async function appendThroughput(client: EventStoreDBClient, round: string): Promise<number> {
  const writers = 16;
  const perAppend = 10;
  const appends = Math.ceil(APPEND_EVENTS / perAppend);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (next < appends) {
        const index = next++;
        const events = Array.from({ length: perAppend }, (_, n) => jsonEvent({ type: TYPES[n % TYPES.length]!, data: { index, n } }));
        await client.appendToStream(`live-${round}${index}`, events);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  console.log(`appends (${round.startsWith('a') ? 'no projection' : 'two projections'}): ${appends * perAppend} events in ${seconds.toFixed(1)} s (${Math.round((appends * perAppend) / seconds)} events/s)`);
  return (appends * perAppend) / seconds;
}

async function caughtUp(client: EventStoreDBClient, names: string[]): Promise<void> {
  const head = async () => {
    for await (const event of client.readAll({ fromPosition: END, direction: 'backwards', maxCount: 1 })) return event.event?.position?.commit ?? 0n;
    return 0n;
  };
  const target = await head();
  for (;;) {
    const statuses = await Promise.all(names.map((name) => client.getProjectionStatus(name)));
    if (statuses.every((status) => status.position !== '' && BigInt(status.position.split('/')[0]!.slice(2)) >= target)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
