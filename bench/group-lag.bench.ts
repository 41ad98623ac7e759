// The subscription_lag metric's cost: every 5 s each of npm start's subscription groups refreshes
// its lag. Before (`before`), each group read $all from its last known event (up to 20,000 whole
// events, decoded) on its own; after, the groups of a client share one window of $all
// (LagScanner: position, stream and type of each event) and each refresh reads only what was
// written since the last one. Measured in one process (the embedded store runs in it, its threads
// included): the CPU of one refresh round of GROUPS groups, in two cases:
//   - behind: every group BENCH_LAG_BEHIND (30,000) events behind, BENCH_LAG_NEW (300) events
//     written between rounds (a backlog after a burst)
//   - caught up: every group at the head (the idle service)
// CPU time, not wall time: steadier on a busy machine. Sizes: BENCH_LAG_ROUNDS (5).
// Run: `npm run bench group-lag`.
import { EventStoreDBClient, jsonEvent, START, type Position } from '@eventstore/db-client';
import { startEventStoreServer } from '../src/esdb-server/index.js';
import { LagScanner, METRIC_LAG_SCAN_CAP, measureGroupLag, type LagQuery } from '../src/observability/group-lag.js';
import { reportFigure } from './report.js';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const BEHIND = env('BENCH_LAG_BEHIND', 30_000);
const NEW_PER_ROUND = env('BENCH_LAG_NEW', 300);
const ROUNDS = env('BENCH_LAG_ROUNDS', 5);
const TYPES = ['order.created', 'order.paid', 'order.status_changed', 'order.shipped', 'payment.processed', 'notification.requested'];
// As npm start's groups: the projections group (every order event), four handlers, two more.
const FILTERS = [['order.'], ['order.created', 'order.paid'], ['order.paid'], ['order.shipped'], ['order.status_changed'], ['notification.requested'], ['payment.']];
const GROUPS = FILTERS.length;

const server = await startEventStoreServer({ port: 0, memory: true, insecure: true });
const client = EventStoreDBClient.connectionString(server.connectionString);
let streams = 0;

/** Writes `count` order-like events (about 600 bytes each); the position of the last. */
async function write(count: number): Promise<Position> {
  let last: Position | undefined;
  for (let done = 0; done < count; done += 100) {
    const batch = Array.from({ length: Math.min(100, count - done) }, (_, index) =>
      jsonEvent({ type: TYPES[(done + index) % TYPES.length]!, data: { orderId: `o-${streams}`, items: Array.from({ length: 6 }, (_, item) => ({ sku: `SKU-${item}`, quantity: 1, unitPrice: 1250, name: 'a product name of some length' })) } }),
    );
    last = (await client.appendToStream(`order-${++streams}`, batch)).position;
  }
  return last!;
}

function queriesAt(known: Position): LagQuery[] {
  return FILTERS.map((prefixes, index) => ({
    group: `group-${index}`,
    filter: { on: 'event_type' as const, prefixes },
    info: {
      stats: { lastKnownEventPosition: known, readBufferCount: 0, retryBufferCount: 0, totalInFlightMessages: 0 },
      settings: { startFrom: START },
    } as unknown as LagQuery['info'],
  }));
}

type Refresh = (queries: LagQuery[]) => Promise<number>;
const before = (c: EventStoreDBClient): Refresh => async (queries) => {
  let events = 0;
  for (const query of queries) events += (await measureGroupLag(c, [query], METRIC_LAG_SCAN_CAP)).get(query.group)!.events;
  return events;
};
const after = (c: EventStoreDBClient): Refresh => {
  const scanner = new LagScanner(c);
  return async (queries) => {
    let events = 0;
    for (const query of queries) events += (await scanner.lag(query)).events;
    return events;
  };
};

/** CPU ms of the process (every thread) per refresh round of all the groups. */
async function measure(refresh: Refresh, known: () => Promise<Position>, between: number): Promise<{ cpuMs: number; lag: number }> {
  let cpu = 0;
  let lag = 0;
  const start = await known();
  for (let round = 0; round < ROUNDS; round++) {
    if (between > 0) await write(between);
    const queries = queriesAt(between > 0 ? start : await known());
    // A round is the groups' refreshes coming together; the next comes after the window's age.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const used = process.cpuUsage();
    lag = await refresh(queries);
    const spent = process.cpuUsage(used);
    cpu += (spent.user + spent.system) / 1000;
  }
  return { cpuMs: cpu / ROUNDS, lag: lag / GROUPS };
}

try {
  console.log(`subscription_lag refreshes of ${GROUPS} groups: ${BEHIND} events behind (+${NEW_PER_ROUND} a round) and caught up, ${ROUNDS} rounds each`);
  const backlogStart = await write(1);
  await write(BEHIND);
  const cases = [
    { name: 'behind', known: async () => backlogStart, between: NEW_PER_ROUND },
    { name: 'caught up', known: () => write(1), between: 0 },
  ];
  for (const { name, known, between } of cases) {
    // Each its own client: the shared window of one must not serve the other.
    const beforeClient = EventStoreDBClient.connectionString(server.connectionString);
    const afterClient = EventStoreDBClient.connectionString(server.connectionString);
    const old = await measure(before(beforeClient), known, between);
    const now = await measure(after(afterClient), known, between);
    await beforeClient.dispose();
    await afterClient.dispose();
    console.log(`${name.padEnd(10)} before ${old.cpuMs.toFixed(1).padStart(8)} ms CPU a round (lag ${old.lag.toFixed(0)} a group)   after ${now.cpuMs.toFixed(1).padStart(8)} ms (lag ${now.lag.toFixed(0)})   ${(now.cpuMs / old.cpuMs).toFixed(2)}x`);
    reportFigure({ name: `subscription_lag refresh CPU per round of ${GROUPS} groups, ${name}`, value: Number(now.cpuMs.toFixed(1)), unit: 'ms', baseline: Number(old.cpuMs.toFixed(1)), baselineName: 'a read per group' });
  }
} finally {
  await client.dispose();
  await server.close();
}
