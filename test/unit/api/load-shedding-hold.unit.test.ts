// A connection answered 503 is not read for a moment (OVERLOAD_SHED_PAUSE_MS): its next request
// waits in the kernel, is then read and answered on the same keep-alive connection. Real sockets
// on loopback; the only time asserted is a lower bound (a timer never fires early), never an
// upper one, so a loaded machine cannot fail it.
import { createServer, request as httpRequest, Agent, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_OVERLOAD_LIMITS, deadlineCheck, holdConnection, longestHold, registerLoadShedding } from '../../../src/api/plugins/load-shedding.js';
import { registerProblemHandlers } from '../../../src/api/error-handler.js';
import { registry } from '../../../src/observability/metrics.js';

const PAUSE_MS = 300;
/** Node rounds timers to the millisecond: a timer of 300 ms may be seen 1 ms early. */
const TIMER_ROUNDING_MS = 2;

interface Answer {
  status: number;
  body: string;
}

/** Requests one after another on one keep-alive connection (an agent with a single socket). */
function client(port: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const send = (method: string, path: string, body?: string) =>
    new Promise<Answer>((resolve, reject) => {
      const req = httpRequest({ port, host: '127.0.0.1', method, path, agent, headers: body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {} }, (res: IncomingMessage) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
      req.end(body);
    });
  return { send, close: () => agent.destroy() };
}

const holdHistogram = async () => {
  const values = (await registry.getSingleMetric('http_connection_hold_seconds')?.get())?.values ?? [];
  const of = (name: string) => (values.find((value) => (value as { metricName?: string }).metricName === name)?.value ?? 0) as number;
  return { sum: of('http_connection_hold_seconds_sum'), count: of('http_connection_hold_seconds_count') };
};

const heldTotal = async () => ((await registry.getSingleMetric('http_connections_held_total')?.get())?.values[0]?.value ?? 0) as number;

let closers: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const close of closers.reverse()) await close();
  closers = [];
});

describe('holdConnection: a connection answered 503 is not read for a moment', () => {
  it('reads the next request on the same connection only after the pause, and answers it', async () => {
    const finishedAt: number[] = [];
    const seen: Array<{ at: number; socket: Socket; url: string }> = [];
    const server: Server = createServer((req, res) => {
      seen.push({ at: performance.now(), socket: req.socket, url: req.url ?? '' });
      res.on('finish', () => {
        finishedAt.push(performance.now());
        holdConnection(req.socket, PAUSE_MS);
      });
      res.writeHead(503, { 'retry-after': '1' }).end('shed');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => server.close(resolve)));
    const { send, close } = client((server.address() as AddressInfo).port);
    closers.push(close);

    // A GET, then POSTs whose bodies the server never reads (Node resumes such a socket itself).
    const answers = [await send('GET', '/a'), await send('POST', '/b', '{"x":1}'), await send('POST', '/c', '{"x":2}'), await send('GET', '/d')];

    expect(answers.map((answer) => answer.status)).toEqual([503, 503, 503, 503]);
    expect(seen.map((request) => request.url)).toEqual(['/a', '/b', '/c', '/d']);
    // One keep-alive connection throughout: the pause does not close it.
    expect(new Set(seen.map((request) => request.socket)).size).toBe(1);
    for (let index = 1; index < seen.length; index++) {
      expect(seen[index]!.at - finishedAt[index - 1]!).toBeGreaterThanOrEqual(PAUSE_MS - TIMER_ROUNDING_MS);
    }
  });

  it('leaves a connection its client closed while held alone', async () => {
    let serverSocket: Socket | undefined;
    const closed = new Promise<void>((resolve) => {
      const server: Server = createServer((req, res) => {
        serverSocket = req.socket;
        req.socket.once('close', () => resolve());
        res.on('finish', () => holdConnection(req.socket, PAUSE_MS));
        res.writeHead(503, { 'retry-after': '1' }).end('shed');
      });
      server.listen(0, '127.0.0.1', () => {
        const { send, close } = client((server.address() as AddressInfo).port);
        closers.push(() => new Promise((done) => server.close(done)));
        void send('GET', '/a').then(() => close());
      });
    });
    await closed;
    expect(serverSocket?.destroyed).toBe(true);
  });
});

describe('load shedding pauses connections it answered 503', () => {
  async function appWith(shedPauseMs: number, shedPauseMaxMs = 0): Promise<{ app: FastifyInstance; port: number }> {
    const app = Fastify();
    await registerLoadShedding(app, {
      apiKeys: new Map(),
      rateLimitPerMinute: 0,
      overload: { ...DEFAULT_OVERLOAD_LIMITS, maxEventLoopDelayMs: 0, retryAfterSeconds: 1, shedPauseMs, shedPauseMaxMs },
    });
    // A 503 with Retry-After as the store-unavailable answer has it; /health never paused even so.
    app.get('/orders', async (_request, reply) => reply.code(503).header('retry-after', '1').send({ title: 'shed' }));
    app.get('/health', async (_request, reply) => reply.code(503).header('retry-after', '1').send({ status: 'down' }));
    app.get('/fine', async () => ({ ok: true }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    closers.push(() => app.close());
    return { app, port: (app.server.address() as AddressInfo).port };
  }

  it('holds a connection after a 503 with Retry-After, never after /health or a 2xx, and answers every request', async () => {
    const { port } = await appWith(PAUSE_MS);
    const { send, close } = client(port);
    closers.push(close);
    const before = await heldTotal();
    const statuses = [];
    for (const path of ['/fine', '/health', '/fine']) statuses.push((await send('GET', path)).status);
    expect(await heldTotal()).toBe(before);
    const startedAt = performance.now();
    statuses.push((await send('GET', '/orders')).status);
    statuses.push((await send('GET', '/fine')).status);
    // The second request waited out the pause started after the first one's answer.
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(PAUSE_MS - TIMER_ROUNDING_MS);
    expect(await heldTotal()).toBe(before + 1);
    expect(statuses).toEqual([200, 503, 200, 503, 200]);
  });

  it('holds a connection longer for each 503 in a row, up to the longest hold, and from the start after another answer', async () => {
    // Growing holds asked for, up to four pauses (no latency budget to bound them).
    const { port } = await appWith(100, 400);
    const { send, close } = client(port);
    closers.push(close);
    const before = await holdHistogram();
    const gaps: number[] = [];
    let last = performance.now();
    const statuses = [];
    for (const path of ['/orders', '/orders', '/orders', '/orders', '/orders', '/orders', '/fine', '/orders', '/orders']) {
      statuses.push((await send('GET', path)).status);
      gaps.push(performance.now() - last);
      last = performance.now();
    }
    expect(statuses).toEqual([503, 503, 503, 503, 503, 503, 200, 503, 503]);
    // Holds after each 503: 100, 200, 300, 400, 400, 400 ms; the 200 starts the count again: 100, 200.
    const after = await holdHistogram();
    expect(after.count - before.count).toBe(8);
    expect(after.sum - before.sum).toBeCloseTo(2.1, 6);
    // Each request after a 503 waited out that 503's hold (lower bounds only).
    // (None before the 503 that follows the 200.)
    [100, 200, 300, 400, 400, 400, 0, 100].forEach((holdMs, index) => expect(gaps[index + 1]).toBeGreaterThanOrEqual(holdMs - TIMER_ROUNDING_MS));
  });

  it('counts the hold in the latency budget of the request that waited through it', async () => {
    const app = Fastify();
    registerProblemHandlers(app);
    // Budget 1 s: the longest hold is half of it, and one 503 holds the connection 500 ms.
    await registerLoadShedding(app, {
      apiKeys: new Map(),
      rateLimitPerMinute: 0,
      overload: { ...DEFAULT_OVERLOAD_LIMITS, maxEventLoopDelayMs: 0, retryAfterSeconds: 1, shedPauseMs: 500, shedPauseMaxMs: 0, latencyBudgetMs: 1_000 },
    });
    app.get('/orders', async (_request, reply) => reply.code(503).header('retry-after', '1').send({ title: 'shed' }));
    // 600 ms of work, then the check a command makes before its append.
    app.get('/slow', async (request, reply) => {
      await new Promise((resolve) => setTimeout(resolve, 600));
      deadlineCheck(request, reply)();
      return { ok: true };
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    closers.push(() => app.close());
    const port = (app.server.address() as AddressInfo).port;
    const held = client(port);
    const fresh = client(port);
    closers.push(held.close, fresh.close);
    expect((await held.send('GET', '/orders')).status).toBe(503);
    // Sent at once, read after the 500 ms hold: 1,000 - 500 - 600 ms is past its budget.
    const late = await held.send('GET', '/slow');
    expect(late.status).toBe(503);
    expect(JSON.parse(late.body)).toMatchObject({ reason: 'deadline' });
    // The same request on a connection that was not held has 400 ms to spare.
    expect((await fresh.send('GET', '/slow')).status).toBe(200);
  });

  it('holds grow only where asked, up to the maximum, the Retry-After delay and half the latency budget', () => {
    const limits = { ...DEFAULT_OVERLOAD_LIMITS, retryAfterSeconds: 5 };
    // Off by default: every hold is the pause.
    expect(DEFAULT_OVERLOAD_LIMITS.shedPauseMaxMs).toBe(0);
    expect(longestHold({ ...limits, latencyBudgetMs: 2_000 }, 250)).toBe(250);
    expect(longestHold({ ...limits, latencyBudgetMs: 2_000, shedPauseMaxMs: 1_000 }, 250)).toBe(1_000);
    expect(longestHold({ ...limits, latencyBudgetMs: 1_000, shedPauseMaxMs: 1_000 }, 250)).toBe(500);
    expect(longestHold({ ...limits, latencyBudgetMs: 0, shedPauseMaxMs: 1_000 }, 250)).toBe(1_000);
    expect(longestHold({ ...limits, latencyBudgetMs: 20_000, shedPauseMaxMs: 9_000 }, 250)).toBe(5_000);
    expect(longestHold({ ...limits, retryAfterSeconds: 1, latencyBudgetMs: 0, shedPauseMaxMs: 4_000 }, 400)).toBe(1_000);
    // Never below the pause itself.
    expect(longestHold({ ...limits, latencyBudgetMs: 200, shedPauseMaxMs: 1_000 }, 250)).toBe(250);
  });

  it('holds nothing with shedPauseMs 0', async () => {
    const { port } = await appWith(0);
    const { send, close } = client(port);
    closers.push(close);
    const before = await heldTotal();
    expect((await send('GET', '/orders')).status).toBe(503);
    expect((await send('GET', '/fine')).status).toBe(200);
    expect(await heldTotal()).toBe(before);
  });
});
