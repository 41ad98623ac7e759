// The per-request and per-delivery work of tracing in one process, off against on at 1%
// (parentbased_traceidratio 0.01, the bench's setup), where a loaded machine's throughput hides
// microseconds: a fastify request through the tracing hooks into a command (`traceCommand`, its
// load and decide steps, the instrumented `appendToStream`), then each appended event delivered
// to BENCH_PATHS_GROUPS groups (the client's JSON.parse of its metadata, `startDeliverySpan`,
// `inDeliverySpan`, a hand-over, `processed`). The append goes to a stand-in client class that
// answers at once (instrumented as the real one is): what is measured is the tracing around the
// store, not the store. Phases alternate (off, 1%, off, ...) for BENCH_PATHS_ROUNDS rounds of
// BENCH_PATHS_ITERATIONS requests; CPU per request from process.cpuUsage.
// BENCH_PATHS_TREE=<checkout> measures another checkout's src/ (a before/after in one run).
// Run: `node --import tsx bench/tracing-paths.ts`.
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createServer } from 'node:http';

const here = dirname(fileURLToPath(import.meta.url));
const tree = process.env.BENCH_PATHS_TREE ?? join(here, '..');
const ITERATIONS = Number(process.env.BENCH_PATHS_ITERATIONS ?? 5_000);
const ROUNDS = Number(process.env.BENCH_PATHS_ROUNDS ?? 5);
const GROUPS = Number(process.env.BENCH_PATHS_GROUPS ?? 6);

const load = <T>(path: string): Promise<T> => import(pathToFileURL(join(tree, 'src', path)).href) as Promise<T>;
const { default: Fastify } = await import('fastify');
const { startTracing } = await load<typeof import('../src/observability/tracing.js')>('observability/tracing.ts');
const { registerHttpTracing } = await load<typeof import('../src/observability/http-tracing.js')>('observability/http-tracing.ts');
const { traceCommand, traceStep } = await load<typeof import('../src/observability/command-tracing.js')>('observability/command-tracing.ts');
const { instrumentEventStoreClient } = await load<typeof import('../src/observability/esdb-instrumentation.js')>('observability/esdb-instrumentation.ts');
const { startDeliverySpan, inDeliverySpan } = await load<typeof import('../src/observability/delivery-tracing.js')>('observability/delivery-tracing.ts');
const trace = await load<typeof import('../src/observability/trace-api.js')>('observability/trace-api.ts');

const utf8 = new TextEncoder();
const text = new TextDecoder();
const metadataBytes = utf8.encode(JSON.stringify({ $correlationId: 'bench:0a1b2c3d-0000-4000-8000-000000000000', $causationId: 'bench:0a1b2c3d-0000-4000-8000-000000000000', tenantId: 'bench', actor: 'bench-key' }));

/** Stands in for EventStoreDBClient: remembers what it was handed, answers at once. */
class StandInClient {
  sent: { metadata: unknown }[] = [];
  appendToStream(_stream: string, events: { metadata: unknown } | { metadata: unknown }[]): Promise<{ nextExpectedRevision: bigint }> {
    this.sent = Array.isArray(events) ? events : [events];
    return Promise.resolve({ nextExpectedRevision: 2n });
  }
}
const client = new StandInClient();

async function buildApp() {
  const app = Fastify({ logger: false });
  registerHttpTracing(app);
  app.post('/orders/:id/ship', async () => {
    const stream = 'order-bench';
    const result = await traceCommand('ShipOrder', stream, async (within) => {
      await within(() => traceStep('order.load', 1, () => Promise.resolve()));
      within(() => traceStep('order.decide', 1, () => 1));
      const event = { id: 'e', type: 'order.shipped', contentType: 'application/json', data: {}, metadata: metadataBytes };
      const { nextExpectedRevision } = await within(() => client.appendToStream(stream, [event]));
      return { revision: nextExpectedRevision, events: [event] };
    });
    deliver();
    return { revision: String(result.revision) };
  });
  await app.ready();
  return app;
}

/** Each appended event to each group, as the client hands it over (metadata parsed from its bytes). */
function deliver(): void {
  for (const sent of client.sent) {
    const bytes = sent.metadata as Uint8Array;
    for (let group = 0; group < GROUPS; group++) {
      const metadata = JSON.parse(text.decode(bytes)) as unknown;
      const resolved = { event: { streamId: 'order-bench', id: 'e', type: 'order.shipped', revision: 2n, metadata } };
      const span = startDeliverySpan(`group-${group}`, `group-${group}`, resolved as never, 0);
      inDeliverySpan(span, () => trace.inContext(span?.context, () => undefined));
      span?.processed('handled');
    }
  }
}

async function phase(on: boolean, receiverEndpoint: string): Promise<number> {
  const tracing = on ? startTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: receiverEndpoint, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.01' }) : undefined;
  const unpatch = on ? instrumentEventStoreClient(StandInClient as never) : () => undefined;
  const app = await buildApp();
  try {
    const request = { method: 'POST' as const, url: '/orders/o-1/ship', payload: {} };
    for (let i = 0; i < 500; i++) await app.inject(request);
    const before = process.cpuUsage();
    for (let i = 0; i < ITERATIONS; i++) await app.inject(request);
    const used = process.cpuUsage(before);
    return (used.user + used.system) / ITERATIONS;
  } finally {
    await app.close();
    unpatch();
    await tracing?.shutdown();
  }
}

// A collector that takes the exports and reads nothing of them (decoding them would be counted here too).
const sink = createServer((request, response) => {
  request.resume();
  request.on('end', () => response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
});
await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
const endpoint = `http://127.0.0.1:${(sink.address() as { port: number }).port}`;
const off: number[] = [];
const on: number[] = [];
// BENCH_PATHS_ONLY=off|on runs one setup's phases only (a CPU profile of one).
const only = process.env.BENCH_PATHS_ONLY;
for (let round = 1; round <= ROUNDS; round++) {
  off.push(only === 'on' ? Number.NaN : await phase(false, endpoint));
  on.push(only === 'off' ? Number.NaN : await phase(true, endpoint));
  console.log(`round ${round}: off ${off.at(-1)!.toFixed(1)} µs CPU/request, 1% ${on.at(-1)!.toFixed(1)} µs (+${(on.at(-1)! - off.at(-1)!).toFixed(1)})`);
}
sink.close();
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
// The least disturbed round of each (the minimum) is the steadier figure on a shared machine.
console.log(
  `${tree}: off median ${median(off).toFixed(1)} / min ${Math.min(...off).toFixed(1)} µs CPU/request, 1% median ${median(on).toFixed(1)} / min ${Math.min(...on).toFixed(1)} µs; 1% - off: per-round median ${median(on.map((value, index) => value - off[index]!)).toFixed(1)} µs, of the minimums ${(Math.min(...on) - Math.min(...off)).toFixed(1)} µs per request (${GROUPS} deliveries each)`,
);
