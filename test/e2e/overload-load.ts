// Load that overloads the service, as the attack did: many concurrent keep-alive clients for a
// while, or a burst of large creates each on its own new connection. Every answer is counted by
// status, every failure by its error code (ECONNRESET is a reset), and each latency is kept, so
// a test can assert on behaviour and the benchmark can print the figures.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

export interface LoadTarget {
  port: number;
  apiKey: string;
}

export interface LoadRequest {
  method: 'GET' | 'POST';
  path: string;
  body?: unknown;
}

export interface LoadOutcome {
  requests: number;
  /** Answers per HTTP status. */
  statuses: Record<number, number>;
  /** Failures without an answer per error code (ECONNRESET, ECONNREFUSED, EPIPE, TIMEOUT, ...). */
  errors: Record<string, number>;
  /** 503 answers without a Retry-After header, or not problem+json with code SERVICE_OVERLOADED or EVENT_STORE_UNAVAILABLE. */
  malformed503: number;
  /** Statuses other than 2xx, 4xx or 503. */
  unexpected: Array<{ status: number; body: string }>;
  /** Latency of every answered request, ms, ascending. */
  latenciesMs: number[];
  /** 503 answers by their problem's `reason` (queue-full, over-budget, queue-timeout, deadline, event-loop-delay, heap, ...). */
  shedReasons: Record<string, number>;
  /** Latency of the 503 answers alone, ms, ascending. */
  shedLatenciesMs: number[];
  /**
   * Where the time of each answered request went, from the service's Server-Timing (ascending,
   * each on its own): waiting for a slot (queue), in a slot (app), and the rest of what the
   * client measured (outside: connecting, sending the answer back, and what the service's
   * estimates below miss). A new connection's first request also has the service's estimate of
   * its wait in the kernel's accept queue (backlog) and the time from its accept to fastify
   * seeing it (accept); 0 for a request on a reused connection.
   */
  split: { backlogMs: number[]; acceptMs: number[]; queueMs: number[]; appMs: number[]; outsideMs: number[] };
  /**
   * Connections the client opened (a keep-alive client reuses its own: a new one per request
   * means the service closed the last), and how long each took from the request's start to
   * the TCP handshake's end (ascending): a SYN the kernel dropped (a full SYN or accept queue)
   * is sent again after 1 s, 3 s, 7 s, ..., which shows here and not in the service's split.
   */
  connections: { opened: number; connectMs: number[] };
  /** The slowest answers (the tail), each with where its time went. */
  slowest: SlowAnswer[];
  /** performance.now() when the load began (what SlowAnswer.sentAtMs counts from). */
  startedAt: number;
  seconds: number;
  /** The load generator's own event loop delay, ms (p99, max): a starved generator adds to every latency it measures. */
  generatorDelayMs: { p99: number; max: number };
}

export interface SlowAnswer {
  ms: number;
  method: string;
  status: number;
  /** The 503's reason, else empty. */
  reason: string;
  /** Connecting (a new connection only), then waiting for a slot and in it (Server-Timing). */
  connectMs: number | undefined;
  /** The service's estimate of the wait in its accept queue, and from its accept to fastify (a new connection's first request). */
  backlogMs: number | undefined;
  acceptMs: number | undefined;
  queueMs: number | undefined;
  appMs: number | undefined;
  /** Of appMs, from when its first append was let go to the store (a command that reached it). */
  storeMs: number | undefined;
  /** When it was sent, ms from the start of its load (performance.now() of the outcome's first request). */
  sentAtMs: number;
}

const SLOWEST_KEPT = 5;

/** A client gives up on a request after this long and counts it as TIMEOUT. */
export const CLIENT_TIMEOUT_MS = 30_000;

function emptyOutcome(): LoadOutcome {
  return { requests: 0, statuses: {}, errors: {}, malformed503: 0, unexpected: [], shedReasons: {}, latenciesMs: [], shedLatenciesMs: [], split: { backlogMs: [], acceptMs: [], queueMs: [], appMs: [], outsideMs: [] }, connections: { opened: 0, connectMs: [] }, slowest: [], seconds: 0, generatorDelayMs: { p99: Number.NaN, max: Number.NaN }, startedAt: performance.now() };
}

/** One request; resolves with what happened, never rejects. */
function send(target: LoadTarget, agent: Agent | false, load: LoadRequest, outcome: LoadOutcome, payload = serialized(load)): Promise<void> {
  const started = performance.now();
  outcome.requests++;
  return new Promise((resolve) => {
    let settled = false;
    let connectMs: number | undefined;
    const fail = (code: string) => {
      if (settled) return;
      settled = true;
      outcome.errors[code] = (outcome.errors[code] ?? 0) + 1;
      resolve();
    };
    const req = request(
      {
        agent,
        host: '127.0.0.1',
        port: target.port,
        path: load.path,
        method: load.method,
        headers: {
          authorization: `Bearer ${target.apiKey}`,
          ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('error', (error: NodeJS.ErrnoException) => fail(error.code ?? 'RESPONSE_ERROR'));
        res.on('end', () => {
          if (settled) return;
          settled = true;
          const status = res.statusCode ?? 0;
          const latency = performance.now() - started;
          outcome.latenciesMs.push(latency);
          const reason = status === 503 ? reasonOf(text) : '';
          if (status === 503) {
            outcome.shedLatenciesMs.push(latency);
            outcome.shedReasons[reason] = (outcome.shedReasons[reason] ?? 0) + 1;
          }
          const timing = serverTiming(res.headers['server-timing']);
          keepSlowest(outcome, { ms: latency, method: load.method, status, reason, connectMs, backlogMs: timing?.backlog, acceptMs: timing?.accept, queueMs: timing?.queue, appMs: timing?.app, storeMs: timing?.store, sentAtMs: started - outcome.startedAt });
          if (timing) {
            outcome.split.backlogMs.push(timing.backlog);
            outcome.split.acceptMs.push(timing.accept);
            outcome.split.queueMs.push(timing.queue);
            outcome.split.appMs.push(timing.app);
            outcome.split.outsideMs.push(Math.max(0, latency - timing.backlog - timing.accept - timing.queue - timing.app));
          }
          outcome.statuses[status] = (outcome.statuses[status] ?? 0) + 1;
          if (status === 503 && !isOverloadProblem(res.headers['retry-after'], res.headers['content-type'], text)) outcome.malformed503++;
          const ok = (status >= 200 && status < 300) || (status >= 400 && status < 500) || status === 503;
          if (!ok && outcome.unexpected.length < 20) outcome.unexpected.push({ status, body: text.slice(0, 300) });
          resolve();
        });
      },
    );
    req.once('socket', (socket) => {
      // A socket the agent hands back is already connected.
      if (!socket.connecting) return;
      outcome.connections.opened++;
      socket.once('connect', () => {
        connectMs = performance.now() - started;
        outcome.connections.connectMs.push(connectMs);
      });
    });
    req.setTimeout(CLIENT_TIMEOUT_MS, () => {
      fail('TIMEOUT');
      req.destroy();
    });
    req.on('error', (error: NodeJS.ErrnoException) => fail(error.code ?? error.message));
    req.end(payload);
  });
}

const serialized = (load: LoadRequest) => (load.body === undefined ? undefined : JSON.stringify(load.body));

function keepSlowest(outcome: LoadOutcome, answer: SlowAnswer): void {
  const { slowest } = outcome;
  if (slowest.length >= SLOWEST_KEPT && answer.ms <= slowest.at(-1)!.ms) return;
  slowest.push(answer);
  slowest.sort((a, b) => b.ms - a.ms);
  slowest.length = Math.min(slowest.length, SLOWEST_KEPT);
}

function reasonOf(body: string): string {
  try {
    const problem = JSON.parse(body) as { reason?: unknown; code?: unknown };
    return String(problem.reason ?? problem.code ?? 'none');
  } catch {
    return 'not-json';
  }
}

function serverTiming(header: string | string[] | undefined): { backlog: number; accept: number; queue: number; app: number; store: number | undefined } | undefined {
  if (typeof header !== 'string') return undefined;
  const part = (name: string) => new RegExp(`(?:^|, )${name};dur=([\\d.]+)`).exec(header)?.[1];
  const [queue, app] = [part('queue'), part('app')];
  return queue === undefined || app === undefined ? undefined : { backlog: Number(part('backlog') ?? 0), accept: Number(part('accept') ?? 0), queue: Number(queue), app: Number(app), store: part('store') === undefined ? undefined : Number(part('store')) };
}

function isOverloadProblem(retryAfter: string | undefined, contentType: string | undefined, body: string): boolean {
  if (!contentType?.startsWith('application/problem+json')) return false;
  try {
    const code = (JSON.parse(body) as { code?: unknown }).code;
    if (code === 'EVENT_STORE_UNAVAILABLE') return true;
    return code === 'SERVICE_OVERLOADED' && retryAfter !== undefined && /^\d+$/.test(retryAfter);
  } catch {
    return false;
  }
}

/**
 * `clients` keep-alive clients, each sending its next request as soon as the last is answered
 * (a closed loop, like 600 chat sessions), for `durationMs`; what each sends is `next(index)`.
 */
export async function closedLoop(target: LoadTarget, options: { clients: number; durationMs: number; next: (index: number) => LoadRequest }): Promise<LoadOutcome> {
  const outcome = emptyOutcome();
  const delay = watchDelay();
  const agent = new Agent({ keepAlive: true, maxSockets: options.clients });
  const started = performance.now();
  const until = started + options.durationMs;
  let index = 0;
  await Promise.all(
    Array.from({ length: options.clients }, async () => {
      while (performance.now() < until) await send(target, agent, options.next(index++), outcome);
    }),
  );
  outcome.seconds = (performance.now() - started) / 1000;
  agent.destroy();
  outcome.generatorDelayMs = delay.stop();
  sortAll(outcome);
  return outcome;
}

/** Requests a burst opens per turn of the generator's event loop. */
const BURST_SLICE = 100;

/**
 * `count` requests at once, each on a connection of its own (no agent): a burst of new clients,
 * as fast as this one process can open them. Each client has its request ready (built and
 * serialised before the clock starts), and they are opened `BURST_SLICE` to a turn of the event
 * loop, each request's clock starting as it is opened: one process opening 3,000 connections
 * of 56 KB requests in one tick blocks its loop for over a second (measured: 1.4 s), so the
 * last of them would count that second of the generator's own work as the service's latency,
 * and none could send its request or read its answer until the tick ended.
 */
export async function burst(target: LoadTarget, count: number, next: (index: number) => LoadRequest): Promise<LoadOutcome> {
  const outcome = emptyOutcome();
  const ready = Array.from({ length: count }, (_, index) => {
    const load = next(index);
    return { load, payload: serialized(load) };
  });
  const delay = watchDelay();
  const started = performance.now();
  const sent: Promise<void>[] = [];
  for (let from = 0; from < ready.length; from += BURST_SLICE) {
    if (from > 0) await new Promise((resolve) => setImmediate(resolve));
    for (const { load, payload } of ready.slice(from, from + BURST_SLICE)) sent.push(send(target, false, load, outcome, payload));
  }
  await Promise.all(sent);
  outcome.seconds = (performance.now() - started) / 1000;
  outcome.generatorDelayMs = delay.stop();
  sortAll(outcome);
  return outcome;
}

function watchDelay(): { stop(): { p99: number; max: number } } {
  const histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  return {
    stop() {
      histogram.disable();
      return { p99: histogram.percentile(99) / 1e6, max: histogram.max / 1e6 };
    },
  };
}

function sortAll(outcome: LoadOutcome): void {
  for (const list of [outcome.latenciesMs, outcome.shedLatenciesMs, outcome.split.backlogMs, outcome.split.acceptMs, outcome.split.queueMs, outcome.split.appMs, outcome.split.outsideMs, outcome.connections.connectMs]) list.sort((a, b) => a - b);
}

/** A create near the 64 KiB body limit: 200 items with long names (about 56 KB of JSON). */
export function largeCreate(): LoadRequest {
  const items = Array.from({ length: 200 }, (_, index) => ({
    sku: `SKU-${String(index).padStart(4, '0')}-${'X'.repeat(48)}`,
    name: `item ${index} ${'n'.repeat(180)}`,
    quantity: 1 + (index % 3),
    unitPrice: 100 + index,
  }));
  return { method: 'POST', path: '/orders', body: { orderId: randomUUID(), customer: { id: 'c-load', phone: '+14155550100' }, currency: 'EUR', items } };
}

export function smallCreate(): LoadRequest {
  return {
    method: 'POST',
    path: '/orders',
    body: { orderId: randomUUID(), customer: { id: 'c-load', phone: '+14155550100' }, currency: 'EUR', items: [{ sku: 'SKU-1', quantity: 2, unitPrice: 1250 }] },
  };
}

/** Mostly creates (the command path), with some reads of the read model in between. */
export function mixedLoad(index: number): LoadRequest {
  return index % 4 === 3 ? { method: 'GET', path: '/orders?limit=10' } : smallCreate();
}

export const percentileOf = (sorted: number[], p: number): number => (sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!);

/** Resident set size of a process, MB, from /proc (Linux); NaN elsewhere. */
export function rssMbOf(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const kb = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? Number.NaN : Number(kb) / 1024;
  } catch {
    return Number.NaN;
  }
}

/** Samples a process's RSS every `everyMs` until stopped; returns the peak. */
export function watchRss(pid: number | undefined, everyMs = 200): { stop(): number } {
  let peak = rssMbOf(pid);
  const timer = setInterval(() => (peak = Math.max(peak, rssMbOf(pid))), everyMs);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, rssMbOf(pid));
    },
  };
}

const spread = (sorted: number[]) => [50, 99, 100].map((p) => percentileOf(sorted, p).toFixed(0)).join('/');

export function summary(outcome: LoadOutcome): string {
  const answered = outcome.latenciesMs.length;
  const shed = outcome.statuses[503] ?? 0;
  return [
    `${outcome.requests} requests in ${outcome.seconds.toFixed(1)} s`,
    `statuses ${JSON.stringify(outcome.statuses)}`,
    `errors ${JSON.stringify(outcome.errors)}`,
    `503 share ${answered ? ((100 * shed) / answered).toFixed(1) : 'n/a'}% ${JSON.stringify(outcome.shedReasons)}`,
    `p50 ${percentileOf(outcome.latenciesMs, 50).toFixed(0)} ms, p99 ${percentileOf(outcome.latenciesMs, 99).toFixed(0)} ms, max ${(outcome.latenciesMs.at(-1) ?? Number.NaN).toFixed(0)} ms`,
    `503 p99 ${percentileOf(outcome.shedLatenciesMs, 99).toFixed(0)} ms`,
    `generator loop delay p99 ${outcome.generatorDelayMs.p99.toFixed(0)} ms, max ${outcome.generatorDelayMs.max.toFixed(0)} ms`,
    `split p50/p99/max ms: ${(['outside', 'backlog', 'accept', 'queue', 'app'] as const).map((part) => `${part} ${spread(outcome.split[`${part}Ms`])}`).join(', ')}`,
    `${outcome.connections.opened} connections opened, connect p50/p99/max ${spread(outcome.connections.connectMs)} ms (over 1 s: ${outcome.connections.connectMs.filter((ms) => ms > 1_000).length})`,
    `slowest: ${outcome.slowest.map(describeSlow).join(' | ')}`,
  ].join('; ');
}

const ms = (value: number | undefined) => (value === undefined ? '-' : value.toFixed(0));

function describeSlow(answer: SlowAnswer): string {
  const what = `${answer.method} ${answer.status}${answer.reason ? ` ${answer.reason}` : ''}`;
  return `${ms(answer.ms)} ms ${what} sent at ${(answer.sentAtMs / 1000).toFixed(1)} s (connect ${ms(answer.connectMs)}, backlog ${ms(answer.backlogMs)}, accept ${ms(answer.acceptMs)}, queue ${ms(answer.queueMs)}, app ${ms(answer.appMs)}${answer.storeMs === undefined ? '' : `, of it store ${ms(answer.storeMs)}`})`;
}

/** The kernel's TCP counters that say whether connections waited or were dropped on the way in. */
const TCP_COUNTERS = ['TcpExt.ListenOverflows', 'TcpExt.ListenDrops', 'TcpExt.TCPReqQFullDrop', 'TcpExt.TCPReqQFullDoCookies', 'TcpExt.TCPTimeouts', 'Tcp.RetransSegs', 'Tcp.EstabResets', 'Tcp.OutRsts'] as const;

/**
 * The machine's TCP counters (Linux, /proc/net/netstat and /proc/net/snmp), for a delta over a
 * phase: machine-wide, so other work on the machine adds to them; empty elsewhere.
 */
export function tcpCounters(): Record<string, number> {
  const counters: Record<string, number> = {};
  for (const file of ['/proc/net/netstat', '/proc/net/snmp']) {
    let lines: string[];
    try {
      lines = readFileSync(file, 'utf8').trim().split('\n');
    } catch {
      continue;
    }
    // Pairs of lines: "Prefix: name name ..." then "Prefix: value value ...".
    for (let index = 0; index + 1 < lines.length; index += 2) {
      const [prefix, ...names] = lines[index]!.split(/\s+/);
      const values = lines[index + 1]!.split(/\s+/).slice(1);
      names.forEach((name, at) => (counters[`${prefix!.replace(':', '')}.${name}`] = Number(values[at])));
    }
  }
  return counters;
}

/** What the counters named in TCP_COUNTERS grew by since `before`, as one line. */
export function tcpCounterDelta(before: Record<string, number>, after: Record<string, number> = tcpCounters()): string {
  return TCP_COUNTERS.filter((name) => name in before && name in after)
    .map((name) => `${name.split('.')[1]} ${after[name]! - before[name]!}`)
    .join(', ');
}

/**
 * The deepest the listening socket's accept queue got (connections the kernel completed that the
 * process had not yet accepted), sampled from /proc/net/tcp every `everyMs`; NaN elsewhere.
 */
export function watchAcceptQueue(port: number, everyMs = 100): { stop(): number } {
  const portHex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  let deepest = Number.NaN;
  let reading = false;
  const sample = async () => {
    if (reading) return;
    reading = true;
    try {
      const table = await readFile('/proc/net/tcp', 'utf8');
      for (const line of table.split('\n')) {
        const fields = line.trim().split(/\s+/);
        // local_address st tx_queue:rx_queue; a listener (st 0A)'s rx_queue is its accept queue.
        if (fields[1]?.endsWith(portHex) && fields[3] === '0A') {
          const depth = Number.parseInt(fields[4]!.split(':')[1]!, 16);
          deepest = Number.isNaN(deepest) ? depth : Math.max(deepest, depth);
        }
      }
    } catch {
      // not Linux
    } finally {
      reading = false;
    }
  };
  void sample();
  const timer = setInterval(() => void sample(), everyMs);
  return {
    stop() {
      clearInterval(timer);
      return deepest;
    },
  };
}
