// Benchmark of the embedded EventStoreDB-compatible server, driven through the unmodified client
// against a server in its own process (as in production). Every figure is printed with a ceiling
// measured in the same run: raw better-sqlite3 inserts with the store's sync settings (WAL,
// synchronous=FULL) and a bare grpc-js call to an echo server, also in its own process.
//
// Sizes (env): BENCH_SINGLE (appends from 1 writer, 1000), BENCH_CONCURRENT (appends from 50
// writers, 5000), BENCH_BATCHES (100-event batches, 300), BENCH_READ (events read and caught up,
// 100000), BENCH_MEMORY_EVENTS (events stored for the memory figure, 1000000).
// Run: `npm run bench eventstore`, or small: `BENCH_READ=5000 BENCH_MEMORY_EVENTS=20000 ...`.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import Database from 'better-sqlite3';
import { EventStoreDBClient, jsonEvent, START } from '@eventstore/db-client';
import streamsPb from '@eventstore/db-client/generated/streams_pb.js';
import { openSqliteEventLog } from '../src/esdb-server/log/sqlite-event-log.js';
import { encodeEventResponse } from '../src/esdb-server/grpc/read-event-encoding.js';
import { reportFigure } from './report.js';

const here = dirname(fileURLToPath(import.meta.url));
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const SINGLE = env('BENCH_SINGLE', 1_000);
const CONCURRENT = env('BENCH_CONCURRENT', 5_000);
const BATCHES = env('BENCH_BATCHES', 300);
const READ = env('BENCH_READ', 100_000);
const MEMORY_EVENTS = env('BENCH_MEMORY_EVENTS', 1_000_000);
const WRITERS = 50;
const PAYLOAD = { orderId: 'o-0001', tenantId: 't-01', lines: [{ sku: 'sku-1', quantity: 2, price: 1999 }] };
const PAYLOAD_BYTES = Buffer.from(JSON.stringify(PAYLOAD));

// ---- child processes ---------------------------------------------------------------------

const ECHO_SERVICE = {
  echo: {
    path: '/bench.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: (value: Buffer) => value,
    requestDeserialize: (value: Buffer) => value,
    responseSerialize: (value: Buffer) => value,
    responseDeserialize: (value: Buffer) => value,
  },
  stream: {
    path: '/bench.Echo/Stream',
    requestStream: false,
    responseStream: true,
    requestSerialize: (value: Buffer) => value,
    requestDeserialize: (value: Buffer) => value,
    responseSerialize: (value: Buffer) => value,
    // The client's own ReadResp decoding, so the ceiling pays what every real read pays.
    responseDeserialize: (value: Buffer) => streamsPb.ReadResp.deserializeBinary(value),
  },
} satisfies grpc.ServiceDefinition;

/** A ReadResp carrying one event like the benchmark's, encoded the way the server encodes it. */
const sampleEventResponse = () =>
  encodeEventResponse({
    event: {
      stream: 'read-00000000-0000-0000-0000-000000000000',
      revision: 12_345,
      position: 67_890,
      id: randomUUID(),
      type: 'order.line_added',
      contentType: 'application/json',
      data: PAYLOAD_BYTES,
      metadata: new Uint8Array(0),
      created: BigInt(Date.now()) * 10_000n,
    },
    position: 67_890,
  });

interface Child {
  process: ChildProcess;
  line: string;
  stop(): Promise<void>;
}

/** Starts a child and resolves with the first stdout line matching `pattern`. */
function startChild(args: string[], pattern: RegExp): Promise<Child> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let output = '';
    child.on('exit', (code) => reject(new Error(`child exited early with ${code}`)));
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      const match = output.match(pattern);
      if (match)
        resolve({
          process: child,
          line: match[0],
          stop: () =>
            new Promise<void>((done) => {
              child.removeAllListeners('exit');
              child.on('exit', () => done());
              child.kill('SIGTERM');
            }),
        });
    });
  });
}

const startEventStore = (dataDir: string) =>
  startChild([join(here, '..', 'bin', 'orders.js'), 'eventstore', '--port', '0', '--data', dataDir], /esdb:\/\/\S+/);

function rssMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(status.match(new RegExp(`${key}:\\s+(\\d+)`))?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** CPU seconds a process has used so far (utime + stime; Linux clock ticks of 10 ms). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

// ---- measuring ---------------------------------------------------------------------------

async function rate(count: number, work: () => Promise<void>): Promise<number> {
  const started = process.hrtime.bigint();
  await work();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return count / seconds;
}

async function concurrently(workers: number, total: number, task: (worker: number, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: workers }, async (_, worker) => {
      while (next < total) await task(worker, next++);
    }),
  );
}

const fmt = (value: number) => Math.round(value).toLocaleString('en-US');
function report(label: string, value: number, unit: string, target: number | undefined, ceilings: [string, number][], note = '') {
  const ratios = ceilings.map(([name, ceiling]) => `${name} ${fmt(ceiling)}/s, ratio ${(value / ceiling).toFixed(2)}`).join('; ');
  const verdict = target === undefined ? '' : value >= target ? `  [target >= ${fmt(target)}: met]` : `  [target >= ${fmt(target)}: MISSED]`;
  console.log(`${label.padEnd(40)} ${fmt(value).padStart(10)} ${unit}  (${ratios})${verdict}${note ? `  ${note}` : ''}`);
  // The closest ceiling (listed last) is the baseline of the figure in the `npm run bench` table.
  const [baselineName, baseline] = ceilings.at(-1) ?? [];
  reportFigure({ name: `eventstore: ${label}`, value, unit, baseline, baselineName, ...(target !== undefined ? { target: `>= ${target}` } : {}) });
}

// ---- ceilings ----------------------------------------------------------------------------

function sqliteInsertCeiling(dir: string, transactions: number, rowsPerTransaction: number): number {
  const db = new Database(join(dir, 'ceiling.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE IF NOT EXISTS events (position INTEGER PRIMARY KEY, stream_id INTEGER, revision INTEGER, data BLOB)');
  const insert = db.prepare('INSERT INTO events (stream_id, revision, data) VALUES (?, ?, ?)');
  const commit = db.transaction((base: number) => {
    for (let i = 0; i < rowsPerTransaction; i++) insert.run(1, base + i, PAYLOAD_BYTES);
  });
  const started = process.hrtime.bigint();
  for (let t = 0; t < transactions; t++) commit(t * rowsPerTransaction);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  db.close();
  return (transactions * rowsPerTransaction) / seconds;
}

function sqliteSelectCeiling(file: string, count: number): number {
  const db = new Database(file, { readonly: true });
  const select = db.prepare('SELECT * FROM events ORDER BY position LIMIT ?');
  const started = process.hrtime.bigint();
  let rows = 0;
  for (const _row of select.iterate(count)) rows++;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  db.close();
  return rows / seconds;
}

interface EchoClient {
  echo(request: Buffer, callback: (error: grpc.ServiceError | null) => void): void;
  stream(request: Buffer): grpc.ClientReadableStream<unknown>;
  close(): void;
}

async function withEchoServer<T>(work: (client: EchoClient) => Promise<T>): Promise<T> {
  const echo = await startChild(['--import', 'tsx', fileURLToPath(import.meta.url), '--echo-server'], /port \d+/);
  const Client = grpc.makeGenericClientConstructor(ECHO_SERVICE, 'Echo');
  const client = new Client(`127.0.0.1:${echo.line.split(' ')[1]}`, grpc.credentials.createInsecure()) as unknown as EchoClient;
  try {
    return await work(client);
  } finally {
    client.close();
    await echo.stop();
  }
}

function grpcUnaryCeiling(calls: number, callers: number): Promise<number> {
  return withEchoServer(async (client) => {
    const call = () => new Promise<void>((resolve, reject) => client.echo(PAYLOAD_BYTES, (error) => (error ? reject(error) : resolve())));
    await concurrently(callers, 200, call); // warm-up
    return rate(calls, () => concurrently(callers, calls, call));
  });
}

/** A bare grpc-js server stream of `count` event responses, decoded with the client's class. */
function grpcStreamCeiling(count: number): Promise<number> {
  return withEchoServer((client) =>
    rate(count, async () => {
      const request = Buffer.alloc(4);
      request.writeUInt32BE(count);
      let received = 0;
      for await (const _message of client.stream(request)) received++;
      if (received !== count) throw new Error(`streamed ${received} of ${count}`);
    }),
  );
}

// ---- the benchmark -----------------------------------------------------------------------

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-eventstore-'));
  try {
    console.log(`sizes: single=${SINGLE} concurrent=${CONCURRENT} batches=${BATCHES}x100 read=${READ} memory=${MEMORY_EVENTS}`);
    const sqliteSingle = sqliteInsertCeiling(dir, Math.min(SINGLE, 2_000), 1);
    const sqliteBatch = sqliteInsertCeiling(dir, Math.min(BATCHES, 500), 100);
    const grpcOne = await grpcUnaryCeiling(Math.max(SINGLE, 1_000), 1);
    const grpcFifty = await grpcUnaryCeiling(Math.max(CONCURRENT, 5_000), WRITERS);

    const server = await startEventStore(join(dir, 'store'));
    const client = EventStoreDBClient.connectionString(server.line);
    const event = () => jsonEvent({ type: 'order.line_added', data: PAYLOAD });
    await client.appendToStream('warm-up', event());

    const pid = server.process.pid!;
    /** Runs `work` and tells how much server CPU each of `count` events cost. */
    const serverCpu = async (work: () => Promise<number>, count = READ): Promise<[number, string]> => {
      const before = cpuSeconds(pid);
      const value = await work();
      return [value, `server CPU ${(((cpuSeconds(pid) - before) / count) * 1e6).toFixed(1)} µs/event`];
    };

    const [single, singleCpu] = await serverCpu(() => rate(SINGLE, () => concurrently(1, SINGLE, () => client.appendToStream('single-writer', event()).then(() => undefined))), SINGLE);
    report('appends, 1 writer', single, 'events/s', undefined, [['raw sqlite 1-row commits', sqliteSingle], ['bare grpc unary, 1 caller', grpcOne]], singleCpu);

    // The client uses BatchAppend (advertised) unless a call carries credentials: then Append.
    // The store is secured (the default): per-call credentials are the ones its connection string carries.
    const login = new URL(server.line.replace(/^esdb:/, 'http:'));
    const credentials = { username: decodeURIComponent(login.username), password: decodeURIComponent(login.password) };
    for (const [path, options] of [['BatchAppend', {}], ['Append', { credentials }]] as const) {
      const [fifty, fiftyCpu] = await serverCpu(() => rate(CONCURRENT, () =>
        concurrently(WRITERS, CONCURRENT, (worker) => client.appendToStream(`writer-${path}-${worker}`, event(), options).then(() => undefined)),
      ), CONCURRENT);
      report(`appends, ${WRITERS} writers (${path})`, fifty, 'events/s', 5_000, [['raw sqlite 1-row commits', sqliteSingle], [`bare grpc unary, ${WRITERS} callers`, grpcFifty]], fiftyCpu);
    }

    const batch = Array.from({ length: 100 }, event);
    const [batched, batchedCpu] = await serverCpu(() => rate(BATCHES * 100, () =>
      concurrently(4, BATCHES, (worker) => client.appendToStream(`batches-${worker}`, batch.map(() => event())).then(() => undefined)),
    ), BATCHES * 100);
    report('100-event batches, 4 writers', batched, 'events/s', 50_000, [['raw sqlite 100-row commits', sqliteBatch]], batchedCpu);

    // A stream of READ events, written in large appends.
    const readStream = `read-${randomUUID()}`;
    for (let written = 0; written < READ; written += 1_000) {
      await client.appendToStream(readStream, Array.from({ length: Math.min(1_000, READ - written) }, event));
    }
    const sqliteRead = sqliteSelectCeiling(join(dir, 'store', 'eventstore.db'), READ);
    const grpcStream = await grpcStreamCeiling(READ);
    const readCeilings: [string, number][] = [['raw sqlite select', sqliteRead], ['bare grpc stream + client decode', grpcStream]];
    let count = 0;
    const [streamRead, streamCpu] = await serverCpu(() => rate(READ, async () => {
      for await (const _event of client.readStream(readStream)) count++;
    }));
    if (count !== READ) throw new Error(`read ${count} of ${READ} events`);
    report(`read ${fmt(READ)} events of a stream`, streamRead, 'events/s', 50_000, readCeilings, streamCpu);

    count = 0;
    const [allRead, allCpu] = await serverCpu(() => rate(READ, async () => {
      for await (const _event of client.readAll({ fromPosition: START, maxCount: READ })) count++;
    }));
    if (count !== READ) throw new Error(`read ${count} of ${READ} events from $all`);
    report(`read ${fmt(READ)} events of $all`, allRead, 'events/s', 50_000, readCeilings, allCpu);

    const [caughtUp, subscriptionCpu] = await serverCpu(() => rate(READ, async () => {
      const subscription = client.subscribeToStream(readStream, { fromRevision: START });
      let received = 0;
      for await (const _event of subscription) {
        if (++received === READ) break;
      }
    }));
    report(`catch-up subscription over ${fmt(READ)}`, caughtUp, 'events/s', 50_000, readCeilings, subscriptionCpu);

    await client.dispose();
    await server.stop();

    await measureMemory(join(dir, 'memory'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Builds a store of MEMORY_EVENTS events directly through the EventLog, then measures the server. */
async function measureMemory(dataDir: string): Promise<void> {
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dataDir, { recursive: true });
  const log = openSqliteEventLog({ file: join(dataDir, 'eventstore.db'), synchronous: 'NORMAL' });
  const started = Date.now();
  const perAppend = 1_000;
  for (let written = 0, n = 0; written < MEMORY_EVENTS; written += perAppend, n++) {
    const events = Array.from({ length: Math.min(perAppend, MEMORY_EVENTS - written) }, () => ({
      id: randomUUID(),
      type: 'order.line_added',
      contentType: 'application/json',
      data: PAYLOAD_BYTES,
      metadata: new Uint8Array(0),
    }));
    // Many streams and categories, so per-stream state would show up in memory if it were kept.
    await log.append(`order${n % 100}-${n}`, 'any', events);
  }
  await log.close();
  console.log(`(built a store of ${fmt(MEMORY_EVENTS)} events through the EventLog in ${((Date.now() - started) / 1000).toFixed(1)} s)`);

  const server = await startEventStore(dataDir);
  const pid = server.process.pid!;
  const client = EventStoreDBClient.connectionString(server.line);
  await client.appendToStream('memory-probe', jsonEvent({ type: 'probe', data: {} }));
  const idle = rssMb(pid);
  let count = 0;
  for await (const _event of client.readAll({ fromPosition: START })) count++;
  const subscription = client.subscribeToAll({ fromPosition: START });
  let received = 0;
  for await (const _event of subscription) {
    if (++received >= count) break;
  }
  const after = rssMb(pid);
  await client.dispose();
  await server.stop();
  const ceiling = 200;
  reportFigure({ name: `eventstore: server peak RSS with ${fmt(MEMORY_EVENTS)} events`, value: after.peak, unit: 'MB', baseline: ceiling, baselineName: 'budget', target: `<= ${ceiling}` });
  console.log(
    `server RSS with ${fmt(MEMORY_EVENTS)} events stored: ${after.rss.toFixed(0)} MB after reading and subscribing to all of $all ` +
      `(${idle.rss.toFixed(0)} MB idle, peak ${after.peak.toFixed(0)} MB; ratio to the ${ceiling} MB budget ${(after.peak / ceiling).toFixed(2)})` +
      `  [target <= ${ceiling} MB: ${after.peak <= ceiling ? 'met' : 'MISSED'}]`,
  );
}

// Last, so every declaration above is initialised: the same file is also the echo server child.
if (process.argv[2] === '--echo-server') {
  const server = new grpc.Server();
  const message = sampleEventResponse();
  server.addService(ECHO_SERVICE, {
    echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => callback(null, call.request),
    stream: async (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      const count = call.request.readUInt32BE(0);
      for (let i = 0; i < count; i++) {
        if (!call.write(message)) await new Promise((resolve) => call.once('drain', resolve));
      }
      call.end();
    },
  });
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) => {
    if (error) throw error;
    console.log(`port ${port}`);
  });
} else {
  await main();
}
