// Overload through the real process (`orders serve`, API + workers + embedded store, as
// `npm start` runs): 200 keep-alive clients that never back off, then a burst of large
// creates each on a new connection. With the in-flight bound set low the service sheds: every
// request is answered (2xx/4xx, or 503 problem+json with Retry-After), no connection is reset,
// none waits without bound, and memory comes back down once the load is over.
//
// Bounded in time and not a speed test: the bounds are small so shedding shows on any machine,
// and the latency ceiling is the queue budget plus a slack for a machine shared with other tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCli, type RunningCli } from '../helpers/cli.js';
import { freePort } from '../helpers/free-port.js';
import { burst, closedLoop, largeCreate, mixedLoad, rssMbOf, smallCreate, summary, watchRss, type LoadOutcome, type LoadTarget } from './overload-load.js';

const API_KEY = 'overload-e2e-key-0123456789abcdef';
const QUEUE_MS = 300;
/**
 * What a request may take beyond the queue budget here: a slot's work, and a machine shared with
 * other tests and this test's own 200 clients (the load generator takes a core of two). Without
 * the bound, requests waited 15-25 s and past a 20 s client timeout (with 600 clients).
 */
const SLACK_MS = 15_000;
/** RSS after the load may exceed the idle level by this much (V8 and malloc keep some). */
const RSS_RETURN_MB = 120;

let dataDir: string;
let service: RunningCli | undefined;
let target: LoadTarget;
let idleRssMb: number;
let peakRssMb = 0;
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
      OVERLOAD_MAX_QUEUE_MS: String(QUEUE_MS),
      OVERLOAD_RETRY_AFTER_SECONDS: '1',
    },
  });
  target = { port, apiKey: API_KEY };
  await until(() => /listening on http/.test(service!.output().stdout), 90_000, () => service!.output().stderr);
  await until(async () => (await fetch(`http://127.0.0.1:${port}/ready`)).status === 200, 60_000);
  // Warm: a few orders through every layer, so the idle level includes what serving costs.
  for (let index = 0; index < 20; index++) await burst(target, 1, smallCreate);
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  idleRssMb = rssMbOf(service.child.pid);

  const rss = watchRss(service.child.pid);
  outcomes['200 clients for 6 s'] = await closedLoop(target, { clients: 200, durationMs: 6_000, next: mixedLoad });
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
  it.each(['200 clients for 6 s', '600 large creates at once'])('%s: no connection reset or other failure, every request answered', (name) => {
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

  it.each(['200 clients for 6 s', '600 large creates at once'])('%s: no request waits longer than the queue budget plus slack', (name) => {
    const outcome = outcomes[name]!;
    expect(outcome.latenciesMs.at(-1) ?? 0, summary(outcome)).toBeLessThan(QUEUE_MS + SLACK_MS);
  });

  it('keeps answering health and readiness, and its memory returns near the idle level after the load', async () => {
    expect((await fetch(`http://127.0.0.1:${target.port}/health`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${target.port}/ready`)).status).toBe(200);
    let rss = rssMbOf(service!.child.pid);
    await until(() => (rss = rssMbOf(service!.child.pid)) < idleRssMb + RSS_RETURN_MB, 30_000).catch(() => undefined);
    expect(rss, `idle ${idleRssMb.toFixed(0)} MB, peak ${peakRssMb.toFixed(0)} MB, now ${rss.toFixed(0)} MB`).toBeLessThan(idleRssMb + RSS_RETURN_MB);
    // Served after the load: shedding stops by itself.
    const after = await closedLoop(target, { clients: 2, durationMs: 500, next: smallCreate });
    expect(after.statuses[201] ?? 0, summary(after)).toBeGreaterThan(0);
  }, 60_000);
});

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
