// Benchmark of the embedded store's HTTP side (issue 10), each store in its own process:
//
// 1. gRPC through the shared port (HTTP/1.1 sniffing on) against the same server with the HTTP
//    side off (`http: false`), in the same run, rounds interleaved so drift hits both alike:
//    appends from 50 writers and a read of a stream. Target: ratio >= 0.95. The server's CPU per
//    event (from /proc) is printed beside, the steadier figure when the machine is busy.
// 2. UI render times on a store of BENCH_UI_EVENTS (1,000,000) events: a stream page (newest 50)
//    and the trace of a 200-event correlation, over HTTP, against /ping on the same connection.
//    The store is seeded straight into the SQLite file by the server's own log code
//    (openSqliteEventLog, 1,000-event appends, synchronous=NORMAL), then served by a child.
//    Target: <= 100 ms each (median).
//
// Sizes (env): BENCH_UI_EVENTS (1000000), BENCH_UI_APPENDS (3000 per round), BENCH_UI_READ
// (20000), BENCH_UI_ROUNDS (5). Run: `npm run bench store-ui`.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EventStoreDBClient, jsonEvent } from '@eventstore/db-client';
import { startEventStoreServer } from '../src/esdb-server/index.js';
import { openSqliteEventLog } from '../src/esdb-server/log/sqlite-event-log.js';
import { percentile } from './http-load.js';
import { reportFigure } from './report.js';

const self = fileURLToPath(import.meta.url);
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const UI_EVENTS = env('BENCH_UI_EVENTS', 1_000_000);
const APPENDS = env('BENCH_UI_APPENDS', 3_000);
const READ = env('BENCH_UI_READ', 20_000);
const ROUNDS = env('BENCH_UI_ROUNDS', 5);
const WRITERS = 50;
const TRACE_EVENTS = 200;
const RENDERS = 40;
const PAYLOAD = { orderId: 'o-0001', tenantId: 't-01', lines: [{ sku: 'sku-1', quantity: 2, price: 1999 }] };
const fmt = (n: number) => n.toLocaleString('en-US');

interface StoreChild {
  child: ChildProcess;
  connectionString: string;
  port: number;
  stop(): Promise<void>;
}

function startStoreChild(dataDir: string, http: boolean): Promise<StoreChild> {
  const child = spawn(process.execPath, ['--import', 'tsx', self, '--store-child', dataDir, http ? 'http' : 'grpc-only'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let output = '';
    child.once('exit', (code) => reject(new Error(`store child exited early with ${code}`)));
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      const match = /(esdb:\/\/[^:]+:(\d+)\S*)/.exec(output);
      if (!match) return;
      child.removeAllListeners('exit');
      resolve({
        child,
        connectionString: match[1]!,
        port: Number(match[2]),
        stop: () =>
          new Promise<void>((done) => {
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      });
    });
  });
}

async function concurrently(workers: number, total: number, task: (worker: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: workers }, async (_, worker) => {
      while (next < total) {
        next++;
        await task(worker);
      }
    }),
  );
}

async function rate(count: number, work: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await work();
  return count / ((performance.now() - started) / 1000);
}

/** CPU seconds a process has used (user + system), from /proc: steadier than wall time on a busy machine. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const median = (values: number[]) => percentile([...values].sort((a, b) => a - b), 50);

async function grpcSideBySide(dir: string): Promise<void> {
  const stores = {
    shared: await startStoreChild(join(dir, 'shared'), true),
    grpcOnly: await startStoreChild(join(dir, 'grpc-only'), false),
  };
  const clients = {
    shared: EventStoreDBClient.connectionString(stores.shared.connectionString),
    grpcOnly: EventStoreDBClient.connectionString(stores.grpcOnly.connectionString),
  };
  const empty = () => ({ appends: [] as number[], reads: [] as number[], appendCpu: [] as number[], readCpu: [] as number[] });
  const figures = { shared: empty(), grpcOnly: empty() };
  try {
    const event = () => jsonEvent({ type: 'order.line_added', data: PAYLOAD });
    for (const client of Object.values(clients)) {
      await client.appendToStream('warm-up', event());
      for (let written = 0; written < READ; written += 1_000) await client.appendToStream('read-me', Array.from({ length: Math.min(1_000, READ - written) }, event));
    }
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate which goes first, so warming and drift fall on both.
      const order = round % 2 === 0 ? (['shared', 'grpcOnly'] as const) : (['grpcOnly', 'shared'] as const);
      for (const which of order) {
        const client = clients[which];
        const pid = stores[which].child.pid!;
        let cpu = cpuSeconds(pid);
        figures[which].appends.push(await rate(APPENDS, () => concurrently(WRITERS, APPENDS, (worker) => client.appendToStream(`writer-${round}-${worker}`, event()))));
        figures[which].appendCpu.push(((cpuSeconds(pid) - cpu) / APPENDS) * 1e6);
        let count = 0;
        cpu = cpuSeconds(pid);
        figures[which].reads.push(
          await rate(READ, async () => {
            for await (const _event of client.readStream('read-me')) count++;
          }),
        );
        figures[which].readCpu.push(((cpuSeconds(pid) - cpu) / READ) * 1e6);
        if (count !== READ) throw new Error(`read ${count} of ${READ}`);
      }
    }
  } finally {
    for (const client of Object.values(clients)) await client.dispose();
    for (const store of Object.values(stores)) await store.stop();
  }
  const cpuLine = (name: string, shared: number[], grpcOnly: number[]) => {
    const value = median(shared);
    const baseline = median(grpcOnly);
    // Lower is better: the shared port may cost at most 5% more server CPU per event.
    const figure = reportFigure({ name: `store-ui: server CPU per event, gRPC ${name} through the shared port`, value: Number(value.toFixed(1)), unit: 'µs/event', baseline: Number(baseline.toFixed(1)), baselineName: 'same server, HTTP side off', target: '<= 1.05x' });
    console.log(`${name}: server CPU ${value.toFixed(1)} µs/event on the shared port vs ${baseline.toFixed(1)} µs/event gRPC only (ratio ${figure.ratio!.toFixed(3)}) [${figure.met ? 'met' : 'MISSED'}]`);
  };
  const line = (name: string, shared: number[], grpcOnly: number[]) => {
    const value = median(shared);
    const baseline = median(grpcOnly);
    const figure = reportFigure({ name: `store-ui: gRPC ${name} through the shared port`, value: Math.round(value), unit: 'events/s', baseline: Math.round(baseline), baselineName: 'same server, HTTP side off', target: '>= 0.95x' });
    console.log(`${name}: shared port ${fmt(Math.round(value))} events/s vs gRPC only ${fmt(Math.round(baseline))} events/s (median of ${ROUNDS} rounds each; ratio ${figure.ratio!.toFixed(3)}) [${figure.met ? 'met' : 'MISSED'}]`);
    console.log(`  rounds shared: ${shared.map((v) => fmt(Math.round(v))).join(', ')}; gRPC only: ${grpcOnly.map((v) => fmt(Math.round(v))).join(', ')}`);
  };
  line(`appends, ${WRITERS} writers`, figures.shared.appends, figures.grpcOnly.appends);
  line(`read of ${fmt(READ)} events`, figures.shared.reads, figures.grpcOnly.reads);
  cpuLine(`appends, ${WRITERS} writers`, figures.shared.appendCpu, figures.grpcOnly.appendCpu);
  cpuLine(`read of ${fmt(READ)} events`, figures.shared.readCpu, figures.grpcOnly.readCpu);
}

/** Seeds UI_EVENTS events straight into the SQLite file through the server's own EventLog. */
async function seedStore(dataDir: string): Promise<{ stream: string; correlationId: string }> {
  mkdirSync(dataDir, { recursive: true });
  const log = openSqliteEventLog({ file: join(dataDir, 'eventstore.db'), synchronous: 'NORMAL' });
  const started = Date.now();
  const data = Buffer.from(JSON.stringify(PAYLOAD));
  const correlationId = `bench-trace-${randomUUID()}`;
  const bigStream = 'order-bench-big';
  const perAppend = 1_000;
  const traceEvery = Math.max(1, Math.floor(UI_EVENTS / perAppend / TRACE_EVENTS));
  const traceIds: string[] = [];
  let written = 0;
  for (let n = 0; written < UI_EVENTS; n++) {
    const count = Math.min(perAppend, UI_EVENTS - written);
    const events = Array.from({ length: count }, () => ({ id: randomUUID(), type: 'order.line_added', contentType: 'application/json', data, metadata: Buffer.from(JSON.stringify({ $correlationId: `c-${n}`, $causationId: `cmd-${n}` })) }));
    // Spread through the history: the 200 events of one correlation, as a tree (each one
    // caused by an earlier one of it), each in its own stream.
    if (n % traceEvery === 0 && traceIds.length < TRACE_EVENTS) {
      const id = randomUUID();
      const cause = traceIds.length === 0 ? 'request-1' : traceIds[Math.floor(traceIds.length / 2)]!;
      traceIds.push(id);
      events[0] = { id, type: traceIds.length === 1 ? 'order.created' : 'notification.requested', contentType: 'application/json', data, metadata: Buffer.from(JSON.stringify({ $correlationId: correlationId, $causationId: cause })) };
    }
    // One large stream (10% of the store) for the stream page; the rest over many streams.
    await log.append(n % 10 === 0 ? bigStream : `order${n % 100}-${n}`, 'any', events);
    written += count;
  }
  await log.close();
  console.log(`(seeded ${fmt(UI_EVENTS)} events straight into SQLite through the server's EventLog in ${((Date.now() - started) / 1000).toFixed(1)} s; trace of ${traceIds.length} events)`);
  return { stream: bigStream, correlationId };
}

function timedGet(agent: Agent, port: number, path: string): Promise<{ ms: number; status: number; bytes: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (response) => {
      let bytes = 0;
      response.on('data', (chunk: Buffer) => (bytes += chunk.length));
      response.on('end', () => resolve({ ms: performance.now() - started, status: response.statusCode!, bytes }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function renderTimes(dir: string): Promise<void> {
  const { stream, correlationId } = await seedStore(join(dir, 'big'));
  const store = await startStoreChild(join(dir, 'big'), true);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const measure = async (path: string) => {
      const first = await timedGet(agent, store.port, path);
      if (first.status !== 200) throw new Error(`${path} answered ${first.status}`);
      const times: number[] = [];
      for (let i = 0; i < RENDERS; i++) times.push((await timedGet(agent, store.port, path)).ms);
      const sorted = times.sort((a, b) => a - b);
      return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), first: first.ms, bytes: first.bytes };
    };
    const ping = await measure('/ping');
    const pages: [string, string][] = [
      [`stream page (newest 50 of ${fmt(Math.ceil(UI_EVENTS / 10))})`, `/ui/streams/${encodeURIComponent(stream)}`],
      [`trace of ${TRACE_EVENTS} events`, `/ui/trace/${encodeURIComponent(correlationId)}`],
      ['$bc- stream page (newest 50)', `/ui/streams/${encodeURIComponent(`$bc-${correlationId}`)}`],
      ['dashboard', '/ui/'],
    ];
    for (const [name, path] of pages) {
      const times = await measure(path);
      const headline = name.startsWith('stream page') || name.startsWith('trace');
      const figure = reportFigure({
        name: `store-ui: ${name}, store of ${fmt(UI_EVENTS)} events`,
        value: Number(times.p50.toFixed(2)),
        unit: 'ms',
        baseline: Number(ping.p50.toFixed(2)),
        baselineName: 'GET /ping, same connection',
        ...(headline ? { target: '<= 100' } : {}),
      });
      console.log(
        `${name}: median ${times.p50.toFixed(1)} ms, p95 ${times.p95.toFixed(1)} ms, first ${times.first.toFixed(1)} ms, ${fmt(times.bytes)} bytes ` +
          `(/ping ${ping.p50.toFixed(2)} ms)${headline ? ` [target <= 100 ms: ${figure.met ? 'met' : 'MISSED'}]` : ''}`,
      );
    }
  } finally {
    agent.destroy();
    await store.stop();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-store-ui-'));
  try {
    console.log(`sizes: store=${fmt(UI_EVENTS)} appends=${APPENDS}/round reads=${READ} rounds=${ROUNDS}`);
    await grpcSideBySide(dir);
    await renderTimes(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--store-child') {
  // Insecure (as --insecure): this bench weighs the shared port's HTTP side, not TLS (bench/tls.bench.ts).
  const server = await startEventStoreServer({ dataDir: process.argv[3]!, port: 0, http: process.argv[4] === 'http', insecure: true });
  console.log(server.connectionString);
  process.once('SIGTERM', () => void server.close().then(() => process.exit(0)));
} else {
  await main();
}
