// A probe, not a benchmark (issue #11, docs/benchmarks.md "Overload"): N appends at once from the main
// thread to the embedded store on its own thread, while the main loop's iterations are held at
// ITER_MS each (as under shedding). The client sends them all on one BatchAppend stream: each
// answer's time shows how many appends the stream moves per iteration, for 200 B and 56 KB
// events; a `DeadlineExceededError` is the store refusing an append whose last message came
// after its deadline (the client's default 10 s). Run twice in one process: the store on Node's
// 64 KB HTTP/2 windows (as before), then on the store's own (grpc/flow-control.ts).
// Run: `N=16 ITER_MS=500 npx tsx bench/batch-append-loop-probe.ts`.
import { jsonEvent } from '@eventstore/db-client';
import { startEmbeddedEventStore } from '../src/eventstore/embedded-store-thread.js';
import { connectEventStore } from '../src/eventstore/connection.js';
import { DEFAULT_FLOW_CONTROL_WINDOWS, NODE_DEFAULT_FLOW_CONTROL_WINDOWS, type FlowControlWindows } from '../src/esdb-server/index.js';

const ITER_MS = Number(process.env.ITER_MS ?? 200);
const N = Number(process.env.N ?? 32);
let blocking = true;
// The loop's iterations last ITER_MS each (as under shedding: every readable socket's work).
const block = () => {
  if (!blocking) return;
  const until = performance.now() + ITER_MS;
  while (performance.now() < until);
  setImmediate(block);
};

async function probe(label: string, flowControlWindows: FlowControlWindows) {
  const store = await startEmbeddedEventStore({ memory: true, insecure: true, port: 0, http: false, flowControlWindows });
  const client = connectEventStore(store.connectionString);
  await client.appendToStream('warm', jsonEvent({ type: 't', data: { a: 1 } }));
  for (const size of [200, 56_000]) {
    const data = { blob: 'x'.repeat(size) };
    blocking = true;
    setImmediate(block);
    const started = performance.now();
    const times = await Promise.all(Array.from({ length: N }, async (_, i) => {
      const t = performance.now();
      try {
        await client.appendToStream(`s-${size}-${i}`, jsonEvent({ type: 't', data }));
        return (performance.now() - t).toFixed(0);
      } catch (error) {
        return `ERR ${(error as Error).constructor.name} ${(performance.now() - t).toFixed(0)}`;
      }
    }));
    blocking = false;
    console.log(`${label}: size ${size} x ${N}, iterations ${ITER_MS} ms: total ${(performance.now() - started).toFixed(0)} ms; each: ${times.join(' ')}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  await client.dispose();
  await store.close();
}

await probe('64 KB windows (Node default)', NODE_DEFAULT_FLOW_CONTROL_WINDOWS);
await probe(`store windows (${DEFAULT_FLOW_CONTROL_WINDOWS.streamBytes / 1024 / 1024} MB a stream, ${DEFAULT_FLOW_CONTROL_WINDOWS.connectionBytes / 1024 / 1024} MB a connection)`, DEFAULT_FLOW_CONTROL_WINDOWS);
