// What security costs on loopback: the embedded store secured (the default: TLS with its own CA,
// Basic credentials checked on every call) against the same store with --insecure, in the same
// run. Both run as `orders eventstore` children on their own data directories; rounds on the two
// take turns (medians of 3), so a change of load on a shared machine weighs on both.
//   npm run bench -- tls          (BENCH_TLS_SCALE=0.2 for a quick look)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EventStoreDBClient, jsonEvent, START } from '@eventstore/db-client';
import { cpuSecondsOf, startChild, stopChild } from './children.js';
import { reportFigure } from './report.js';

const here = dirname(fileURLToPath(import.meta.url));
const bin = join(here, '..', 'bin', 'orders.js');
const scale = Number(process.env.BENCH_TLS_SCALE ?? '1');
const SINGLE = Math.round(1_000 * scale);
const CONCURRENT = Math.round(5_000 * scale);
const WRITERS = 16;
const READ = Math.round(20_000 * scale);
const CONNECTS = Math.max(5, Math.round(20 * scale));
const ROUNDS = 3;
const PAYLOAD = { orderId: 'b6e2d527-0000-4000-8000-000000000000', sku: 'TSHIRT-M', quantity: 2, unitPrice: 1500, note: 'x'.repeat(200) };

interface Store {
  name: string;
  connectionString: string;
  client: EventStoreDBClient;
  pid: number | undefined;
  stop(): Promise<void>;
}

async function startStore(name: string, dataDir: string, insecure: boolean): Promise<Store> {
  const { child, match } = await startChild([bin, 'eventstore', '--port', '0', '--data', dataDir, ...(insecure ? ['--insecure'] : [])], {}, /^esdb:\/\/\S+$/m);
  const connectionString = match[0];
  const client = EventStoreDBClient.connectionString(connectionString);
  return {
    name,
    connectionString,
    client,
    pid: child.pid,
    stop: async () => {
      await client.dispose().catch(() => undefined);
      await stopChild(child);
    },
  };
}

const event = () => jsonEvent({ type: 'order.line_added', data: PAYLOAD });

async function concurrently(workers: number, total: number, work: (worker: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: workers }, async (_, worker) => {
      while (next < total) {
        next++;
        await work(worker);
      }
    }),
  );
}

async function rate(count: number, work: () => Promise<void>): Promise<number> {
  const started = process.hrtime.bigint();
  await work();
  return count / (Number(process.hrtime.bigint() - started) / 1e9);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/**
 * The measurements of one round on one store: events/s, the store's CPU µs per event (from /proc:
 * steadier than throughput on a shared machine), and ms for a new client's first call.
 */
async function round(store: Store, index: number): Promise<Record<string, number>> {
  const cpu = async (count: number, work: () => Promise<number>): Promise<[number, number]> => {
    const before = cpuSecondsOf(store.pid);
    const value = await work();
    return [value, ((cpuSecondsOf(store.pid) - before) / count) * 1e6];
  };
  const [single, singleCpu] = await cpu(SINGLE, () => rate(SINGLE, () => concurrently(1, SINGLE, () => store.client.appendToStream(`single-${index}`, event()))));
  const [concurrent, concurrentCpu] = await cpu(CONCURRENT, () =>
    rate(CONCURRENT, () => concurrently(WRITERS, CONCURRENT, (worker) => store.client.appendToStream(`writers-${index}-${worker}`, event()))),
  );
  const stream = `read-${index}`;
  for (let written = 0; written < READ; written += 500) await store.client.appendToStream(stream, Array.from({ length: Math.min(500, READ - written) }, event));
  const [read, readCpu] = await cpu(READ, () =>
    rate(READ, async () => {
      let count = 0;
      for await (const _ of store.client.readStream(stream, { fromRevision: START })) count++;
      if (count !== READ) throw new Error(`read ${count} of ${READ}`);
    }),
  );
  // A new connection each time: the TLS handshake and the first credential check are in here.
  const connects: number[] = [];
  for (let i = 0; i < CONNECTS; i++) {
    const fresh = EventStoreDBClient.connectionString(store.connectionString);
    const started = process.hrtime.bigint();
    for await (const _ of fresh.readStream(stream, { maxCount: 1 })) break;
    connects.push(Number(process.hrtime.bigint() - started) / 1e6);
    await fresh.dispose().catch(() => undefined);
  }
  return { single, singleCpu, concurrent, concurrentCpu, read, readCpu, connect: median(connects) };
}

const root = mkdtempSync(join(tmpdir(), 'bench-tls-'));
const stores: Store[] = [];
try {
  const secured = await startStore('secured', join(root, 'secured'), false);
  stores.push(secured);
  const insecure = await startStore('insecure', join(root, 'insecure'), true);
  stores.push(insecure);
  if (!secured.connectionString.includes('tls=true') || !insecure.connectionString.includes('tls=false')) throw new Error('the stores did not start as asked');
  console.log(`sizes: single=${SINGLE} concurrent=${CONCURRENT}x${WRITERS} writers read=${READ} connects=${CONNECTS}; ${ROUNDS} rounds each, taking turns`);
  for (const store of stores) await store.client.appendToStream('warm-up', event());

  const results: Record<'secured' | 'insecure', Record<string, number>[]> = { secured: [], insecure: [] };
  for (let index = 0; index < ROUNDS; index++) {
    // Alternate which goes first, so neither always runs on a warmer machine.
    const order = index % 2 === 0 ? [secured, insecure] : [insecure, secured];
    for (const store of order) results[store.name as 'secured' | 'insecure'].push(await round(store, index));
  }
  const figure = (key: string) => [median(results.secured.map((r) => r[key]!)), median(results.insecure.map((r) => r[key]!))] as const;
  const baselineName = '--insecure, same run';
  const [single, singleBase] = figure('single');
  reportFigure({ name: 'appends, 1 writer, TLS + credentials', value: single, unit: 'events/s', baseline: singleBase, baselineName, target: '>= 0.7x' });
  const [concurrent, concurrentBase] = figure('concurrent');
  reportFigure({ name: `appends, ${WRITERS} writers, TLS + credentials`, value: concurrent, unit: 'events/s', baseline: concurrentBase, baselineName, target: '>= 0.7x' });
  const [read, readBase] = figure('read');
  reportFigure({ name: `stream read of ${READ} events, TLS + credentials`, value: read, unit: 'events/s', baseline: readBase, baselineName, target: '>= 0.7x' });
  for (const [key, what] of [['singleCpu', 'appends, 1 writer'], ['concurrentCpu', `appends, ${WRITERS} writers`], ['readCpu', 'stream read']] as const) {
    const [value, base] = figure(key);
    reportFigure({ name: `store CPU per event, ${what}, TLS + credentials`, value, unit: 'µs/event', baseline: base, baselineName, target: '<= 1.5x' });
  }
  const [connect, connectBase] = figure('connect');
  reportFigure({ name: 'new client, first read (handshake + credential check)', value: connect, unit: 'ms', baseline: connectBase, baselineName });
} finally {
  for (const store of stores) await store.stop();
  rmSync(root, { recursive: true, force: true });
}
