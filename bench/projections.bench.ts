// Read-model projections driven by persistent subscriptions, on the embedded default.
//
// 1. Freshness: `orders serve` in a child process (API and workers in one process, the durable
//    embedded store on its own thread there, as `npm start` runs them; or the store in a process
//    of its own); this process POSTs /orders at a steady rate and polls the order summary
//    (read-only, every millisecond): time from each response to the order showing (p50/p99).
//    Baseline in the same run: the same commands' own latency (request -> response).
// 2. Catch-up: N stored order events, then new projections (no group yet); events/s until all
//    three projections applied every event. As the runner does it (one read of $all for all
//    three, then their groups start where it ended), and group by group (each group delivers
//    everything from the start: how existing groups catch up after workers were down). Baseline
//    in the same run: reading the same events with readAll from the start.
//
// Sizes (env): BENCH_PROJ_RATE (commands/s, 500), BENCH_PROJ_SECONDS (10, after
// BENCH_PROJ_WARMUP seconds at the same rate, 3), BENCH_PROJ_EVENTS
// (100000), BENCH_PROJ_PARTS (freshness,freshness-child,catchup,catchup-child,catchup-groups;
// -child: the store in a child process, as with a separate EventStoreDB). Run: `npm run bench projections`; small: `BENCH_PROJ_SECONDS=3 BENCH_PROJ_EVENTS=10000 npm run bench projections`.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { EventStoreDBClient, FORWARDS, START, jsonEvent, type JSONType } from '@eventstore/db-client';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { startEmbeddedEventStore } from '../src/eventstore/embedded-store-thread.js';
import { orderStreamName, toNewEvents, decide, type OrderCommand, type OrderState } from '../src/orders/index.js';
import { evolve, initialOrderState } from '../src/orders/order-decider.js';
import { openReadModelStore } from '../src/readmodels/read-model-store.js';
import { startSubscriptionRunner } from '../src/subscriptions/runner.js';
import { workerMetrics } from '../src/observability/worker-metrics.js';
import { projections } from '../projections/index.js';
import Database from 'better-sqlite3';
import { freePort } from '../test/helpers/free-port.js';
import { cpuSecondsOf, startChild, stopChild } from './children.js';
import { percentile, postJson } from './http-load.js';
import { reportFigure } from './report.js';

const here = dirname(fileURLToPath(import.meta.url));
const bin = join(here, '..', 'bin', 'orders.js');
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const RATE = env('BENCH_PROJ_RATE', 500);
const SECONDS = env('BENCH_PROJ_SECONDS', 10);
const EVENTS = env('BENCH_PROJ_EVENTS', 100_000);
const WARMUP_SECONDS = env('BENCH_PROJ_WARMUP', 3);
const API_KEY = 'bench-key-projections-0123456789';
const TENANT = 'bench';
const silent = pino({ level: 'silent' });


async function post(agent: Agent, port: number, path: string, body: unknown): Promise<number> {
  return (await postJson(agent, port, path, body, API_KEY)).status;
}

async function freshness(where: 'in-process' | 'child'): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-proj-'));
  // The service as `npm start` runs it (API and workers in one process; the store on its own
  // thread there, or in a process of its own), so the load below does not take its CPU.
  const store = where === 'child' ? await startChild([bin, 'eventstore', '--port', '0', '--data', join(dir, 'store')], {}, /esdb:\/\/\S+/) : undefined;
  const [port, eventStorePort] = [await freePort(), await freePort()];
  const service = await startChild(
    [bin, 'serve'],
    {
      PORT: String(port),
      EVENTSTORE_PORT: String(eventStorePort),
      DATA_DIR: dir,
      API_KEYS: `${API_KEY}:${TENANT}`,
      LOG_LEVEL: 'warn',
      ...(store ? { ESDB_CONNECTION_STRING: store.match[0] } : {}),
    },
    /listening on http:\/\/\S+/,
  );
  // Read-only, from this process: what the API's queries would see (WAL: it never blocks the workers).
  const readModels = new Database(join(dir, 'readmodels.db'), { readonly: true });
  const shownQuery = (count: number) => readModels.prepare(`SELECT order_id FROM order_summary WHERE tenant_id = ? AND order_id IN (${Array(count).fill('?').join(',')})`);

  const pending = new Map<string, { sentAt: number; respondedAt?: number; shownAt?: number }>();

  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  // Orders answered and not yet seen in the summary: polled every millisecond.
  const waiting = new Set<string>();
  let polling = true;
  const poll = async () => {
    while (polling) {
      if (waiting.size > 0) {
        const ids = [...waiting];
        const now = performance.now();
        for (const row of shownQuery(ids.length).all(TENANT, ...ids) as { order_id: string }[]) {
          pending.get(row.order_id)!.shownAt = now;
          waiting.delete(row.order_id);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  };
  const poller = poll();

  // Warm-up at the same rate, not measured: V8 optimizes the hot paths and caches fill.
  const warmupStarted = performance.now();
  const warmups: Promise<unknown>[] = [];
  for (let index = 0; index < RATE * WARMUP_SECONDS; index++) {
    const wait = warmupStarted + (index * 1000) / RATE - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    warmups.push(post(agent, port, '/orders', { customer: { id: 'c-warm' }, currency: 'EUR', items: [{ sku: 'SKU-WARM', quantity: 1, unitPrice: 100 }] }));
  }
  await Promise.all(warmups);
  await new Promise((resolve) => setTimeout(resolve, 500));

  const total = Math.round(RATE * SECONDS);
  const cpuBefore = [service.child.pid, store?.child.pid].map(cpuSecondsOf);
  const started = performance.now();
  const sends: Promise<void>[] = [];
  let failures = 0;
  for (let index = 0; index < total; index++) {
    const due = started + (index * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    const orderId = randomUUID();
    pending.set(orderId, { sentAt: performance.now() });
    sends.push(
      post(agent, port, '/orders', {
        orderId,
        customer: { id: `c-${index % 500}`, name: 'Bench' },
        currency: 'EUR',
        items: [{ sku: `SKU-${index % 50}`, quantity: 1 + (index % 3), unitPrice: 999 }],
      }).then((status) => {
        if (status !== 201) failures++;
        pending.get(orderId)!.respondedAt = performance.now();
        waiting.add(orderId);
      }),
    );
  }
  await Promise.all(sends);
  const sentIn = (performance.now() - started) / 1000;
  const deadline = performance.now() + 30_000;
  while ([...pending.values()].some((entry) => entry.shownAt === undefined) && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  polling = false;
  await poller;
  const cpuUsed = [service.child.pid, store?.child.pid].map((pid, index) => cpuSecondsOf(pid) - cpuBefore[index]!);

  const entries = [...pending.values()];
  const shown = entries.filter((entry) => entry.shownAt !== undefined && entry.respondedAt !== undefined);
  const toSummary = shown.map((entry) => Math.max(0, entry.shownAt! - entry.respondedAt!)).sort((a, b) => a - b);
  // Baseline: the same commands' own HTTP latency (request sent -> response), same run.
  const commandLatency = entries
    .filter((entry) => entry.respondedAt !== undefined)
    .map((entry) => entry.respondedAt! - entry.sentAt)
    .sort((a, b) => a - b);
  console.log(
    `freshness (store ${where}): ${total} POST /orders at ${RATE}/s (sent in ${sentIn.toFixed(1)} s: ${Math.round(total / sentIn)}/s achieved, ${failures} failed), ${shown.length} shown in the order summary`,
  );
  console.log(
    `  response -> order summary: p50 ${percentile(toSummary, 50).toFixed(1)} ms, p99 ${percentile(toSummary, 99).toFixed(1)} ms, max ${percentile(toSummary, 100).toFixed(1)} ms`,
  );
  console.log(`  command latency (baseline): p50 ${percentile(commandLatency, 50).toFixed(1)} ms, p99 ${percentile(commandLatency, 99).toFixed(1)} ms`);
  // CPU the service spent per command, API and workers together: unlike latencies, it does not
  // swing with how close to saturation the machine runs.
  console.log(
    `  CPU per command: service ${((cpuUsed[0]! * 1000) / total).toFixed(2)} ms${store ? `, store process ${((cpuUsed[1]! * 1000) / total).toFixed(2)} ms` : ' (store thread included)'}`,
  );
  reportFigure({
    name: `response to order summary p99 at ${RATE} commands/s (store ${where})`,
    value: percentile(toSummary, 99),
    unit: 'ms',
    baseline: percentile(commandLatency, 99),
    baselineName: 'the POST /orders latency p99',
    target: '<= 200',
  });
  reportFigure({
    name: `response to order summary p50 at ${RATE} commands/s (store ${where})`,
    value: percentile(toSummary, 50),
    unit: 'ms',
    baseline: percentile(commandLatency, 50),
    baselineName: 'the POST /orders latency p50',
  });
  if (shown.length < total) console.log(`  WARNING: ${total - shown.length} orders never showed within 30 s`);

  agent.destroy();
  readModels.close();
  await stopChild(service.child);
  if (store) await stopChild(store.child);
  rmSync(dir, { recursive: true, force: true });
}

/** Writes order histories (6 events each: created, payment, paid, status, shipped, status). */
export async function seed(client: EventStoreDBClient, events: number): Promise<number> {
  const orders = Math.ceil(events / 6);
  let written = 0;
  const at = new Date('2026-11-01T10:00:00Z');
  const one = async (index: number) => {
    const orderId = `seed-${index}`;
    let state: OrderState = initialOrderState;
    const context = (step: number) => ({
      commandId: `${orderId}-${step}`,
      tenantId: TENANT,
      actor: 'bench',
      at: new Date(at.getTime() + index * 60_000 + step).toISOString(),
      correlationId: `corr-${orderId}`,
    });
    const commands: OrderCommand[] = [
      { type: 'CreateOrder', orderId, customer: { id: `c-${index % 1000}` }, currency: 'EUR', items: [{ sku: `SKU-${index % 100}`, quantity: 2, unitPrice: 500 }], context: context(0) },
      { type: 'RecordPayment', orderId, paymentId: `pay-${index}`, amount: 1000, method: 'card', context: context(1) },
      { type: 'ShipOrder', orderId, context: context(2) },
    ];
    const all = [];
    for (const command of commands) {
      const decided = decide(command, state);
      state = decided.reduce(evolve, state);
      all.push(...toNewEvents(decided, command.context));
    }
    await client.appendToStream(
      orderStreamName(orderId),
      all.map((event) => jsonEvent({ id: event.id, type: event.event.type, data: event.event.data as JSONType, metadata: event.metadata as unknown as JSONType })),
    );
    written += all.length;
  };
  const concurrency = 64;
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < orders) await one(next++);
    }),
  );
  return written;
}

/**
 * The embedded store in this process on its own thread (as `npm start` runs it), or in a child
 * process (`orders eventstore`, as a separate EventStoreDB would be).
 */
async function startStore(dir: string, where: 'in-process' | 'child'): Promise<{ connectionString: string; close(): Promise<void> }> {
  if (where === 'in-process') {
    const store = await startEmbeddedEventStore({ port: 0, dataDir: dir });
    return { connectionString: store.connectionString, close: () => store.close() };
  }
  const { child, match } = await startChild([bin, 'eventstore', '--port', '0', '--data', join(dir, 'store')], {}, /esdb:\/\/\S+/);
  return { connectionString: match[0], close: () => stopChild(child) };
}

async function catchUp(where: 'in-process' | 'child', bootstrap: 'read' | 'group'): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-proj-'));
  const server = await startStore(dir, where);
  const client = EventStoreDBClient.connectionString(server.connectionString);
  console.log(`catch-up of new projections (${bootstrap === 'read' ? 'by one read of $all, then their groups' : 'through their groups from the start'}), store ${where}:`);
  const seedStarted = performance.now();
  const stored = await seed(client, EVENTS);
  console.log(`  ${stored} order events stored in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s`);

  // Baseline: read the same events from the start of $all.
  const readStarted = performance.now();
  let read = 0;
  for await (const resolved of client.readAll({ direction: FORWARDS, fromPosition: START, maxCount: Number.MAX_SAFE_INTEGER })) {
    if (resolved.event?.streamId.startsWith('order-')) read++;
  }
  const readSeconds = (performance.now() - readStarted) / 1000;

  const readModels = openReadModelStore({ file: join(dir, 'readmodels.db') });
  const registry = new Registry();
  const metrics = workerMetrics(registry);
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const eluBefore = performance.eventLoopUtilization();
  const runner = await startSubscriptionRunner({ client, store: readModels, logger: silent, metrics, handlers: [], projections, options: { projectionBootstrap: bootstrap } });
  const processed = async () => {
    const values = (await metrics.eventsProcessed.get()).values;
    return projections.map((projection) =>
      values.filter((value) => value.labels.handler === projection.name && value.labels.outcome !== 'parked').reduce((sum, value) => sum + value.value, 0),
    );
  };
  let counts = await processed();
  while (counts.some((count) => count < stored)) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    counts = await processed();
    if (performance.now() - started > 600_000) throw new Error(`catch-up did not finish in 10 min: ${counts.join(', ')}`);
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const elu = performance.eventLoopUtilization(eluBefore);
  console.log(`  main thread busy ${Math.round(elu.utilization * 100)}%: ${Math.round((elu.active * 1000) / stored)} µs per event`);
  // CPU of this process (the workers; with the store in-process, its gRPC side too): a busy
  // machine stretches wall time but not CPU time.
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const rate = stored / seconds;
  const readRate = read / readSeconds;
  const rows = (await readModels.get<{ n: number }>('SELECT COUNT(*) AS n FROM order_summary'))?.n;
  console.log(`  this process used ${cpuSeconds.toFixed(2)} CPU-s during the catch-up (${Math.round((cpuSeconds / seconds) * 100)}% of one core): ${Math.round(stored / cpuSeconds)} events per CPU-second`);
  console.log(`  readAll baseline: ${read} events in ${readSeconds.toFixed(2)} s = ${Math.round(readRate)} events/s`);
  console.log(
    `  all ${projections.length} projections: ${stored} events each in ${seconds.toFixed(2)} s = ${Math.round(rate)} events/s (${Math.round(rate * projections.length)} projection applies/s); ${rows} order summaries`,
  );
  reportFigure({
    name: `catch-up through all ${projections.length} projections${bootstrap === 'group' ? ', group by group' : ''} (${stored} events, store ${where})`,
    value: rate,
    unit: 'events/s',
    baseline: readRate,
    baselineName: 'readAll of the same events',
    target: bootstrap === 'read' ? '>= 10000' : undefined,
  });
  await runner.stop();
  await readModels.close();
  await client.dispose();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}

// Run, not imported (bench/readmodels-postgres.bench.ts seeds its history with seed()).
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const parts = (process.env.BENCH_PROJ_PARTS ?? 'freshness,freshness-child,catchup,catchup-child,catchup-groups').split(',');
  if (parts.includes('freshness')) await freshness('in-process');
  if (parts.includes('freshness-child')) await freshness('child');
  if (parts.includes('catchup')) await catchUp('in-process', 'read');
  if (parts.includes('catchup-child')) await catchUp('child', 'read');
  // Existing groups that fell behind (workers down for a while) catch up through the groups.
  if (parts.includes('catchup-groups')) await catchUp('in-process', 'group');
}
