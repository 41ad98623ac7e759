// `orders replay` speed: rebuilding the order summary from REPLAY_EVENTS stored events (default
// 1,000,000), against a plain read of the same events through the same client in the same run.
// The store runs as its own process (`orders eventstore`), as it does for an operator; the
// history is written straight through the server's EventLog so building it takes seconds.
//
//   REPLAY_EVENTS=100000 node --import tsx bench/replay.bench.ts
//
// The CPU per event of this process is printed for both: the client's own read and decode is the
// baseline's whole cost and about half of the replay's. (Decoding on a worker thread was tried:
// on 2 cores shared with the store it gained nothing, so the replay reads on its own thread.)
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EventStoreDBClient, FORWARDS, START } from '@eventstore/db-client';
import orderSummary from '../projections/order-summary.js';
import { openSqliteEventLog } from '../src/esdb-server/log/sqlite-event-log.js';
import type { ProposedEvent } from '../src/esdb-server/log/types.js';
import { orderEventFactory, orderStreamName, toNewEvents, type CommandContext, type OrderEvent } from '../src/orders/index.js';
import { replayProjection } from '../src/replay/replay-projection.js';
import { clientEventSource } from '../src/replay/rebuild.js';
import { reportFigure } from './report.js';

const here = dirname(fileURLToPath(import.meta.url));
const EVENTS = Number(process.env.REPLAY_EVENTS ?? 1_000_000);
const TARGET_RATE = 20_000;
const TARGET_RATIO = 0.3;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** One order's whole life as the service writes it: 8 events, as after create, pay, ship, deliver. */
function orderLife(index: number): Array<{ events: OrderEvent[]; context: CommandContext }> {
  const orderId = `bench-${index}`;
  const tenantId = `tenant-${index % 7}`;
  const at = new Date(Date.UTC(2026, 0, 1) + index * 60_000).toISOString();
  const context = (step: string): CommandContext => ({ commandId: `${orderId}-${step}`, tenantId, actor: 'api-key:bench', at, correlationId: `corr-${orderId}` });
  const identity = { orderId, tenantId, customerId: `cust-${index % 1000}` };
  const total = 1000 + (index % 50) * 100;
  const create = context('create');
  const payCtx = context('pay');
  const shipCtx = context('ship');
  const deliverCtx = context('deliver');
  const f = (ctx: CommandContext) => orderEventFactory(identity, ctx);
  return [
    { context: create, events: [f(create).created({ customer: { id: identity.customerId, name: 'Ada' }, currency: 'EUR', items: [{ sku: `sku-${index % 100}`, quantity: 2, unitPrice: total / 2 }], total })] },
    {
      context: payCtx,
      events: [
        f(payCtx).paymentProcessed({ paymentId: `pay-${index}`, amount: total, currency: 'EUR', method: 'card', paidAmount: total }),
        f(payCtx).paid({ total, paidAmount: total, currency: 'EUR', paymentId: `pay-${index}` }),
        f(payCtx).statusChanged('PENDING', 'PAID', 'payment received'),
      ],
    },
    { context: shipCtx, events: [f(shipCtx).shipped({ carrier: 'DHL', trackingNumber: `T${index}` }), f(shipCtx).statusChanged('PAID', 'SHIPPED', 'shipped')] },
    { context: deliverCtx, events: [f(deliverCtx).delivered(), f(deliverCtx).statusChanged('SHIPPED', 'DELIVERED', 'delivered')] },
  ];
}

async function buildHistory(dataDir: string): Promise<number> {
  mkdirSync(dataDir, { recursive: true });
  const log = openSqliteEventLog({ file: join(dataDir, 'eventstore.db'), synchronous: 'NORMAL' });
  let written = 0;
  for (let index = 0; written < EVENTS; index++) {
    for (const { events, context } of orderLife(index)) {
      if (written >= EVENTS) break;
      const proposed: ProposedEvent[] = toNewEvents(events.slice(0, EVENTS - written), context).map((event) => ({
        id: event.id,
        type: event.event.type,
        contentType: 'application/json',
        data: Buffer.from(JSON.stringify(event.event.data)),
        metadata: Buffer.from(JSON.stringify(event.metadata)),
      }));
      // Not awaited one by one: the log group-commits what is queued.
      void log.append(orderStreamName(`bench-${index}`), 'any', proposed);
      written += proposed.length;
    }
    if (index % 2_000 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  await log.append('bench-end', 'any', []);
  await log.close();
  return written;
}

function startEventStore(dataDir: string): Promise<{ connectionString: string; pid: number; stop(): void }> {
  const child = spawn(process.execPath, [join(here, '..', 'bin', 'orders.js'), 'eventstore', '--port', '0', '--data', dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const match = /esdb:\/\/\S+/.exec(out);
      if (match) resolve({ connectionString: match[0], pid: child.pid!, stop: () => child.kill('SIGTERM') });
    });
    child.on('exit', (code) => reject(new Error(`orders eventstore exited with ${code}`)));
  });
}

/** CPU time the store's process has used so far, in µs (Linux /proc; 0 elsewhere). */
function serverCpuMicros(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) / 100) * 1e6;
  } catch {
    return 0;
  }
}

function cpuMicros(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return used.user + used.system;
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'order-store-replay-bench-'));
  const server = { stop: () => undefined } as { stop(): void };
  try {
    let started = performance.now();
    const written = await buildHistory(join(root, 'store'));
    console.log(`(history of ${fmt(written)} order events written in ${((performance.now() - started) / 1000).toFixed(1)} s)`);
    const store = await startEventStore(join(root, 'store'));
    server.stop = store.stop;
    const client = EventStoreDBClient.connectionString(store.connectionString);

    let cpu = process.cpuUsage();
    let serverCpu = serverCpuMicros(store.pid);
    started = performance.now();
    let read = 0;
    for await (const resolved of client.readAll({ direction: FORWARDS, fromPosition: START })) if (resolved.event) read++;
    const readRate = (read * 1000) / (performance.now() - started);
    const readCpu = cpuMicros(cpu) / read;
    const readServerCpu = (serverCpuMicros(store.pid) - serverCpu) / read;

    const dataDir = join(root, 'data');
    cpu = process.cpuUsage();
    serverCpu = serverCpuMicros(store.pid);
    started = performance.now();
    const outcome = await replayProjection({ source: clientEventSource(client), projection: orderSummary, dataDir, mode: { kind: 'swap' } });
    const replaySeconds = (performance.now() - started) / 1000;
    const replayRate = outcome.counts.read / replaySeconds;
    const replayCpu = cpuMicros(cpu) / outcome.counts.read;
    const replayServerCpu = (serverCpuMicros(store.pid) - serverCpu) / outcome.counts.read;
    if (outcome.counts.orderEvents !== written) throw new Error(`replayed ${outcome.counts.orderEvents} order events of ${written}`);
    if (outcome.result.kind !== 'swapped') throw new Error('the replay did not swap');

    const ratio = replayRate / readRate;
    console.log(`sizes: events=${fmt(written)} (REPLAY_EVENTS); ${availableParallelism()} CPUs, load average ${loadavg()[0]!.toFixed(1)}`);
    console.log(`plain read of $all          ${fmt(readRate).padStart(9)} events/s  (${fmt(read)} events, ${readCpu.toFixed(1)} µs CPU/event here, ${readServerCpu.toFixed(1)} in the store)`);
    console.log(
      `replay into order-summary   ${fmt(replayRate).padStart(9)} events/s  (${fmt(outcome.counts.read)} events, ${outcome.result.rows.order_summary} rows, ${replaySeconds.toFixed(1)} s incl. swap, ${replayCpu.toFixed(1)} µs CPU/event here, ${replayServerCpu.toFixed(1)} in the store)  [target >= ${fmt(TARGET_RATE)}: ${replayRate >= TARGET_RATE ? 'met' : 'MISSED'}]`,
    );
    console.log(`ratio replay / plain read   ${ratio.toFixed(2).padStart(9)}  [target >= ${TARGET_RATIO}: ${ratio >= TARGET_RATIO ? 'met' : 'MISSED'}]`);
    reportFigure({ name: 'replay into order-summary', value: replayRate, unit: 'events/s', baseline: readRate, baselineName: 'plain read of $all', target: `>= ${TARGET_RATE}` });
    void client.dispose().catch(() => undefined);
  } finally {
    server.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
