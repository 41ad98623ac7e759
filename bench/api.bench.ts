// Order lifecycles through HTTP (create, pay, ship, deliver) against `orders serve` on the
// embedded default (API and durable embedded store in one child process, as `npm start` runs),
// from 50 concurrent keep-alive connections on loopback. Baseline in the same run: a bare
// fastify POST route answering a small JSON, in its own child process, driven the same way.
//
// A second same-run reference shows where the time goes: the same appends (same streams, event
// counts, metadata) sent straight to the service's embedded store through @eventstore/db-client,
// without HTTP or the domain: the ceiling the store puts on the API.
//
// Sizes (env): BENCH_API_ORDERS (lifecycles, 2000 -> 8000 commands), BENCH_API_CONNECTIONS (50),
// BENCH_API_WARMUP (lifecycles before measuring, 200). BENCH_API_PORT: drive an `orders serve`
// already listening there (API_KEYS must include the bench key) instead of starting one.
// Run: `npm run bench api`, small: `BENCH_API_ORDERS=300 npm run bench api`.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EventStoreDBClient, jsonEvent, NO_STREAM, type AppendExpectedRevision, type AppendResult } from '@eventstore/db-client';
import { startChild, stopChild as stop } from './children.js';
import { orderLifecycle, percentile, postJson } from './http-load.js';
import { reportFigure } from './report.js';
import { freePort } from '../test/helpers/free-port.js';
import { connectionStringForDataDir } from '../src/esdb-server/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const ORDERS = env('BENCH_API_ORDERS', 2_000);
const CONNECTIONS = env('BENCH_API_CONNECTIONS', 50);
const WARMUP = env('BENCH_API_WARMUP', 200);
const API_KEY = 'bench-key-0123456789abcdef';
const TARGET_COMMANDS_PER_SECOND = 1_500;
const TARGET_P99_MS = 100;

// ---- child: the bare fastify baseline -----------------------------------------------------

if (process.argv[2] === '--bare-server') {
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false });
  app.post('/bare/:id', async (req) => ({ id: (req.params as { id: string }).id, status: 'PENDING', revision: 0 }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  console.log(`listening ${typeof address === 'object' && address ? address.port : 0}`);
} else {
  await main();
}

// ---- load -------------------------------------------------------------------------------

function post(agent: Agent, port: number, path: string, body: unknown) {
  return postJson(agent, port, path, body, API_KEY);
}


interface RunResult {
  requests: number;
  seconds: number;
  latenciesMs: number[];
}

/** `connections` workers each take the next unit of work until `units` are done. */
async function drive(units: number, connections: number, unit: (index: number, agent: Agent, timings: number[]) => Promise<void>): Promise<RunResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const latenciesMs: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (next < units) await unit(next++, agent, latenciesMs);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return { requests: latenciesMs.length, seconds, latenciesMs };
}

function orderLifecycles(port: number) {
  return async (_index: number, agent: Agent, timings: number[]) => {
    for (const step of orderLifecycle(randomUUID(), { deliver: true })) {
      const started = performance.now();
      const reply = await post(agent, port, step.path, step.body);
      timings.push(performance.now() - started);
      if (reply.status !== step.expect) throw new Error(`${step.path} answered ${reply.status}: ${reply.body}`);
    }
  };
}

function bareRequests(port: number) {
  return async (index: number, agent: Agent, timings: number[]) => {
    const started = performance.now();
    const reply = await post(agent, port, `/bare/${index}`, { paymentId: `pay-${index}`, amount: 2500, method: 'card' });
    timings.push(performance.now() - started);
    if (reply.status !== 200) throw new Error(`bare route answered ${reply.status}`);
  };
}

function round(value: number): number {
  return Number(value.toFixed(1));
}

/** One lifecycle's appends as the API makes them: 1, 3, 2 and 2 events, fresh correlation each. */
function storeAppends(client: EventStoreDBClient) {
  return async (_index: number, _agent: Agent, timings: number[]) => {
    const orderId = randomUUID();
    let expectedRevision: AppendExpectedRevision = NO_STREAM;
    for (const types of [['order.created'], ['payment.processed', 'order.paid', 'order.status_changed'], ['order.shipped', 'order.status_changed'], ['order.delivered', 'order.status_changed']]) {
      const metadata = { $correlationId: randomUUID(), $causationId: randomUUID(), tenantId: 'bench', actor: 'api-key:bench' };
      const events = types.map((type) => jsonEvent({ type, data: { schemaVersion: 1, orderId, tenantId: 'bench', occurredAt: new Date().toISOString(), amount: 2500 }, metadata }));
      const started = performance.now();
      const result: AppendResult = await client.appendToStream(`order-${orderId}`, events, { expectedRevision });
      timings.push(performance.now() - started);
      expectedRevision = result.nextExpectedRevision;
    }
  };
}


function summarize(result: RunResult) {
  const sorted = [...result.latenciesMs].sort((a, b) => a - b);
  return { perSecond: result.requests / result.seconds, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? NaN };
}

// ---- children -----------------------------------------------------------------------------


async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'order-store-api-bench-'));
  const external = process.env.BENCH_API_PORT ? Number(process.env.BENCH_API_PORT) : undefined;
  const [port, eventStorePort] = [external ?? (await freePort()), await freePort()];
  const service = external
    ? undefined
    : await startChild(
        [join(here, '../bin/orders.js'), 'serve'],
        { PORT: String(port), EVENTSTORE_PORT: String(eventStorePort), DATA_DIR: dataDir, API_KEYS: `${API_KEY}:bench`, LOG_LEVEL: 'warn', ROLE: 'api' },
        /listening on http:\/\/\S+/,
      );
  const bare = await startChild(['--import', 'tsx', fileURLToPath(import.meta.url), '--bare-server'], {}, /listening (\d+)/);
  const barePort = Number(bare.match[1]);

  try {
    console.log(`order lifecycles: ${ORDERS} (x4 commands), ${CONNECTIONS} connections, warm-up ${WARMUP}; durable embedded store in one process with the API`);
    await drive(WARMUP, CONNECTIONS, orderLifecycles(port));
    await drive(WARMUP * 4, CONNECTIONS, bareRequests(barePort));

    const orders = summarize(await drive(ORDERS, CONNECTIONS, orderLifecycles(port)));
    const baseline = summarize(await drive(ORDERS * 4, CONNECTIONS, bareRequests(barePort)));
    const storeClient = service ? EventStoreDBClient.connectionString(connectionStringForDataDir({ dataDir, port: eventStorePort }) ?? `esdb://127.0.0.1:${eventStorePort}?tls=false`) : undefined;
    const store = storeClient ? summarize(await drive(ORDERS, CONNECTIONS, storeAppends(storeClient))) : undefined;
    await storeClient?.dispose();

    const row = (name: string, figures: ReturnType<typeof summarize>) =>
      `${name.padEnd(26)} ${figures.perSecond.toFixed(0).padStart(8)} req/s   p50 ${figures.p50.toFixed(1).padStart(6)} ms   p99 ${figures.p99.toFixed(1).padStart(6)} ms   max ${figures.max.toFixed(1).padStart(6)} ms`;
    console.log(row('order commands (HTTP)', orders));
    console.log(row('baseline: bare fastify', baseline));
    if (store) console.log(row('same appends, no HTTP', store));
    console.log(
      `ratio to baseline: throughput ${(orders.perSecond / baseline.perSecond).toFixed(3)}x, p50 ${(orders.p50 / baseline.p50).toFixed(1)}x, p99 ${(orders.p99 / baseline.p99).toFixed(1)}x`,
    );
    const meets = orders.perSecond >= TARGET_COMMANDS_PER_SECOND && orders.p99 <= TARGET_P99_MS;
    console.log(`target >= ${TARGET_COMMANDS_PER_SECOND} commands/s and p99 <= ${TARGET_P99_MS} ms: ${meets ? 'met' : 'NOT met'}`);
    const baselineName = 'bare fastify route';
    reportFigure({
      name: 'order commands over HTTP',
      value: Math.round(orders.perSecond),
      unit: 'commands/s',
      baseline: Math.round(baseline.perSecond),
      baselineName,
      target: `>= ${TARGET_COMMANDS_PER_SECOND}`,
    });
    if (store) {
      reportFigure({
        name: 'order commands vs raw store appends',
        value: Math.round(orders.perSecond),
        unit: 'commands/s',
        baseline: Math.round(store.perSecond),
        baselineName: 'same appends via client',
      });
    }
    reportFigure({ name: 'order command latency p50', value: round(orders.p50), unit: 'ms', baseline: round(baseline.p50), baselineName });
    reportFigure({ name: 'order command latency p99', value: round(orders.p99), unit: 'ms', baseline: round(baseline.p99), baselineName, target: `<= ${TARGET_P99_MS}` });
  } finally {
    await stop(bare.child);
    if (service) await stop(service.child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}
