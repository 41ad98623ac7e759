// Overload through the real process (`orders serve`, API + workers + embedded store, as
// `npm start` runs): 200 keep-alive clients that never back off, then a burst of large
// creates each on a new connection. With the in-flight bound set low the service sheds: every
// request is answered (2xx/4xx, or 503 problem+json with Retry-After), no connection is reset,
// none waits without bound, and memory comes back down once the load is over.
//
// Bounded in time and not a speed test: the bounds are small so shedding shows on any machine,
// and the latency ceiling is the latency budget plus a slack for a machine shared with other tests.
// Each answer says (Server-Timing) how long it waited for a slot and held one: no wait is longer
// than the budget allows.
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCEPT_LISTENERS } from '../../src/api/accept-listeners.js';
import { startCli, type RunningCli } from '../helpers/cli.js';
import { freePort } from '../helpers/free-port.js';
import { burst, closedLoop, largeCreate, mixedLoad, rssMbOf, smallCreate, summary, watchRss, type LoadOutcome, type LoadTarget } from './overload-load.js';

const API_KEY = 'overload-e2e-key-0123456789abcdef';
const BUDGET_MS = 1_000;
/**
 * What a client may measure beyond the latency budget here: mostly the time before the service
 * even reads the request (Server-Timing's split shows it: at load average 27, 600 large creates
 * waited 8 s at p50 and 14 s at the tail before fastify saw them), which no bound in the service
 * can shorten; below the client's 30 s timeout. The service's own part is asserted tighter.
 */
const SLACK_MS = 25_000;
/**
 * RSS after the load: under the 400 MB (#11), and at most this much over the idle level
 * where that is higher (V8 and malloc keep some). What RSS keeps after a load follows how many
 * large orders it let in and the workers then projected (here a handful: nearly all 600 are shed):
 * the envelope cache kept them all until it was bounded by size (session 8); what stays since is
 * V8 garbage and glibc's arenas (docs/benchmarks.md, "Overload"), which this bound does not yet tighten.
 */
const RSS_RETURN_MB = 120;
const RSS_AFTER_MAX_MB = 400;
const WARM_ORDERS = 20;
const LATE = '50 new connections during the 200 clients';

let dataDir: string;
let service: RunningCli | undefined;
let target: LoadTarget;
let idleRssMb: number;
let peakRssMb = 0;
let heldConnections = 0;
const outcomes: Record<string, LoadOutcome> = {};

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'order-store-overload-'));
  const [port, eventStorePort] = [await freePort(), await freePort()];
  service = startCli(['serve'], {
    timeoutMs: 170_000,
    env: {
      PORT: String(port),
      EVENTSTORE_PORT: String(eventStorePort),
      DATA_DIR: dataDir,
      API_KEYS: `${API_KEY}:overload`,
      LOG_LEVEL: 'warn',
      ROLE: 'all',
      RATE_LIMIT_PER_MINUTE: '0',
      // Low on purpose: a few commands and reads at a time, a short wait, a small queue.
      OVERLOAD_MAX_IN_FLIGHT_COMMANDS: '4',
      OVERLOAD_MAX_IN_FLIGHT_READS: '8',
      OVERLOAD_MAX_QUEUED: '32',
      OVERLOAD_MAX_QUEUE_MS: '10000',
      // The budget, not the queue's own limit, bounds the wait here.
      OVERLOAD_LATENCY_BUDGET_MS: String(BUDGET_MS),
      OVERLOAD_RETRY_AFTER_SECONDS: '1',
    },
  });
  target = { port, apiKey: API_KEY };
  await until(() => /listening on http/.test(service!.output().stdout), 90_000, () => service!.output().stderr);
  await until(async () => (await fetch(`http://127.0.0.1:${port}/ready`)).status === 200, 60_000);
  // Warm: a few orders through every layer, so the idle level includes what serving costs.
  for (let index = 0; index < WARM_ORDERS; index++) await burst(target, 1, smallCreate);
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  idleRssMb = rssMbOf(service.child.pid);

  const rss = watchRss(service.child.pid);
  const loop = closedLoop(target, { clients: 200, durationMs: 6_000, next: mixedLoad });
  // New connections while those clients, retrying at once whatever Retry-After says, are shed:
  // each connection shed is not read for a moment, so these get accepted and answered too.
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  outcomes[LATE] = await burst(target, 50, smallCreate);
  outcomes['200 clients for 6 s'] = await loop;
  heldConnections = await metricOf('http_connections_held_total');
  outcomes['600 large creates at once'] = await burst(target, 600, () => largeCreate());
  peakRssMb = rss.stop();
  for (const [name, outcome] of Object.entries(outcomes)) console.log(`${name}: ${summary(outcome)}`);
  console.log(`RSS idle ${idleRssMb.toFixed(0)} MB, peak ${peakRssMb.toFixed(0)} MB`);
}, 170_000);

afterAll(async () => {
  if (service && service.child.exitCode === null) {
    service.child.kill('SIGTERM');
    await service.done;
  }
  rmSync(dataDir, { recursive: true, force: true });
}, 30_000);

describe('overload through the real process', () => {
  it.each(['200 clients for 6 s', LATE, '600 large creates at once'])('%s: no connection reset or other failure, every request answered', (name) => {
    const outcome = outcomes[name]!;
    expect(outcome.errors, summary(outcome)).toEqual({});
    expect(outcome.latenciesMs).toHaveLength(outcome.requests);
    expect(outcome.unexpected).toEqual([]);
  });

  it.each(['200 clients for 6 s', '600 large creates at once'])('%s: some requests shed with 503 problem+json and Retry-After, some served', (name) => {
    const outcome = outcomes[name]!;
    expect(outcome.statuses[503] ?? 0, summary(outcome)).toBeGreaterThan(0);
    expect(outcome.malformed503).toBe(0);
    expect(outcome.statuses[201] ?? 0, summary(outcome)).toBeGreaterThan(0);
  });

  it.each(['200 clients for 6 s', '600 large creates at once'])('%s: every answer within the latency budget plus slack, none waiting for a slot past the budget', (name) => {
    const outcome = outcomes[name]!;
    expect(outcome.latenciesMs.at(-1) ?? 0, summary(outcome)).toBeLessThan(BUDGET_MS + SLACK_MS);
    // Every answer says where its time went.
    expect(outcome.split.queueMs, summary(outcome)).toHaveLength(outcome.requests);
    // A wait for a slot ends within the budget (its timer may fire late on a starved machine: a
    // slack for that, below the 10 s the queue alone would allow).
    expect(outcome.split.queueMs.at(-1) ?? 0, summary(outcome)).toBeLessThan(BUDGET_MS + 5_000);
  });

  it('keeps every 503 on its keep-alive connection: the 200 clients opened one connection each', () => {
    // A 503 that closed its connection would make every shed client connect again (into the accept queue).
    const outcome = outcomes['200 clients for 6 s']!;
    expect(outcome.statuses[503] ?? 0).toBeGreaterThan(0);
    expect(outcome.connections.opened, summary(outcome)).toBe(200);
  });

  it('holds each connection it answered 503 for a moment, and still accepts and answers new connections meanwhile', () => {
    // The 200 clients never back off: without the hold they keep every loop iteration busy.
    expect(heldConnections).toBeGreaterThan(0);
    const late = outcomes[LATE]!;
    expect(late.connections.opened, summary(late)).toBe(50);
    // Each got its first answer (served or 503), none reset or timed out waiting to be accepted.
    expect(late.latenciesMs, summary(late)).toHaveLength(50);
    expect(late.errors, summary(late)).toEqual({});
  });

  // Node accepts one connection per event-loop iteration and listener: with one listener the
  // 600 large creates waited seconds in the kernel's accept queue (accept-listeners.ts).
  it.runIf(process.platform === 'linux')('accepts on its port through several listeners, on Node 20 the one socket shared', () => {
    const portHex = `:${target.port.toString(16).toUpperCase().padStart(4, '0')}`;
    const listenerInodes = ['/proc/net/tcp', '/proc/net/tcp6']
      .flatMap((file) => readFileSync(file, 'utf8').split('\n').slice(1))
      .map((line) => line.trim().split(/\s+/))
      .filter((fields) => fields[3] === '0A' && fields[1]?.endsWith(portHex))
      .map((fields) => fields[9]!);
    const fdsOf = (inode: string) =>
      readdirSync(`/proc/${service!.child.pid}/fd`).filter((fd) => {
        try {
          return readlinkSync(`/proc/${service!.child.pid}/fd/${fd}`) === `socket:[${inode}]`;
        } catch {
          return false; // closed meanwhile
        }
      }).length;
    const descriptors = listenerInodes.map(fdsOf);
    expect(descriptors.reduce((sum, count) => sum + count, 0), `listeners ${listenerInodes.join(', ')}: descriptors ${descriptors.join(', ')}`).toBe(ACCEPT_LISTENERS);
  });

  it('pauses its workers\' intake while it sheds, and its projections then catch up with every order it created', async () => {
    const metrics = await (await fetch(`http://127.0.0.1:${target.port}/metrics`)).text();
    expect(Number(/^worker_intake_pauses_total (\d+)/m.exec(metrics)?.[1] ?? 0), 'worker_intake_pauses_total').toBeGreaterThan(0);
    const created = Object.values(outcomes).reduce((sum, outcome) => sum + (outcome.statuses[201] ?? 0), WARM_ORDERS);
    // A 503 for a store that did not answer in time may still have written its order.
    const unsure = Object.values(outcomes).reduce((sum, outcome) => sum + (outcome.shedReasons.EVENT_STORE_UNAVAILABLE ?? 0), 0);
    let placed = 0;
    await until(async () => (placed = await ordersPlaced()) >= created, 60_000).catch(() => undefined);
    expect(placed).toBeGreaterThanOrEqual(created);
    expect(placed).toBeLessThanOrEqual(created + unsure);
  }, 90_000);

  it('keeps answering health and readiness, and its memory returns near the idle level after the load', async () => {
    expect((await fetch(`http://127.0.0.1:${target.port}/health`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${target.port}/ready`)).status).toBe(200);
    let rss = rssMbOf(service!.child.pid);
    const bound = Math.max(idleRssMb + RSS_RETURN_MB, RSS_AFTER_MAX_MB);
    await until(() => (rss = rssMbOf(service!.child.pid)) < bound, 30_000).catch(() => undefined);
    expect(rss, `idle ${idleRssMb.toFixed(0)} MB, peak ${peakRssMb.toFixed(0)} MB, now ${rss.toFixed(0)} MB`).toBeLessThan(bound);
    // Served after the load: shedding stops by itself.
    const after = await closedLoop(target, { clients: 2, durationMs: 500, next: smallCreate });
    expect(after.statuses[201] ?? 0, summary(after)).toBeGreaterThan(0);
  }, 60_000);
});

async function metricOf(name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${target.port}/metrics`)).text();
  return Number(new RegExp(`^${name} ([\\d.e+]+)`, 'm').exec(text)?.[1] ?? 0);
}

/** Orders the sales projection counted (every load order is created today). */
async function ordersPlaced(): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${target.port}/analytics/sales`, { headers: { authorization: `Bearer ${API_KEY}` } });
  if (response.status !== 200) return 0;
  const report = (await response.json()) as { days: Array<{ ordersPlaced: number }> };
  return report.days.reduce((sum, day) => sum + day.ordersPlaced, 0);
}

async function until(condition: () => boolean | Promise<boolean>, ms: number, describe: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      if (await condition()) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`not met within ${ms} ms ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
