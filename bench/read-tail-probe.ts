// Loaded into the API process by the reads part of readmodels-postgres.bench.ts (node --import):
// where a read's time goes inside the process, to tell a slow read from a stalled process.
// Per request (the bench's x-bench-seq header names it): received (node's http.server.request.start),
// the handler started and its promise resolved (fastify's tracing channel fastify.request.handler),
// the reply sent, the response finished. Beside them the event loop's delay
// (monitorEventLoopDelay), every GC pause (PerformanceObserver 'gc') and every stall of the loop
// of 5 ms or more (a 1 ms timer that came late), each with its time. SIGUSR2 starts the window
// (after the bench's warm-up reads); at exit everything goes to READ_TAIL_PROBE_OUT as JSON.
import diagnostics from 'node:diagnostics_channel';
import { openSync, readSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PerformanceObserver, monitorEventLoopDelay, performance } from 'node:perf_hooks';

export interface ProbedRequest {
  seq: number;
  path: string;
  received: number;
  handlerStarted?: number;
  handlerResolved?: number;
  sent?: number;
  finished?: number;
  /** The first request of its connection (a socket this process had not read a request from). */
  first?: boolean;
}

export interface ProbeReport {
  requests: ProbedRequest[];
  gc: Array<{ at: number; ms: number; kind: number }>;
  /** ranMs / waitedMs: the main thread's time on a CPU and waiting for one in the stall (schedstat; NaN without it). */
  stalls: Array<{ at: number; ms: number; ranMs: number; waitedMs: number }>;
  loopDelayMs: { p50: number; p99: number; max: number; mean: number };
  /** performance.timeOrigin of this process: its times are ms since then. */
  timeOrigin: number;
  /** The monotonic clock (us, as a CPU profile's timestamps) at performance.now() 0: to find a stall's samples. */
  monotonicOriginUs: number;
}

const out = process.env.READ_TAIL_PROBE_OUT;
if (out) {
  let measuring = false;
  const requests: ProbedRequest[] = [];
  const gc: ProbeReport['gc'] = [];
  const stalls: ProbeReport['stalls'] = [];
  const byResponse = new WeakMap<ServerResponse, ProbedRequest>();
  const sockets = new WeakSet<object>();
  const loop = monitorEventLoopDelay({ resolution: 1 });

  diagnostics.subscribe('http.server.request.start', (message) => {
    if (!measuring) return;
    const { request, response } = message as { request: IncomingMessage; response: ServerResponse };
    const seq = Number(request.headers['x-bench-seq'] ?? -1);
    const probed: ProbedRequest = { seq, path: request.url ?? '', received: performance.now(), first: !sockets.has(request.socket) };
    sockets.add(request.socket);
    requests.push(probed);
    byResponse.set(response, probed);
  });
  diagnostics.subscribe('http.server.response.finish', (message) => {
    const probed = byResponse.get((message as { response: ServerResponse }).response);
    if (probed) probed.finished = performance.now();
  });
  const handler = diagnostics.tracingChannel('fastify.request.handler');
  const of = (store: unknown) => byResponse.get((store as { reply: { raw: ServerResponse } }).reply.raw);
  handler.subscribe({
    start: (store) => {
      const probed = of(store);
      if (probed) probed.handlerStarted = performance.now();
    },
    end: () => {},
    asyncStart: (store) => {
      const probed = of(store);
      if (probed) probed.handlerResolved = performance.now();
    },
    asyncEnd: (store) => {
      const probed = of(store);
      if (probed) probed.sent = performance.now();
    },
    error: () => {},
  });
  new PerformanceObserver((list) => {
    if (!measuring) return;
    for (const entry of list.getEntries()) gc.push({ at: entry.startTime, ms: entry.duration, kind: (entry as { detail?: { kind?: number } }).detail?.kind ?? 0 });
  }).observe({ entryTypes: ['gc'] });
  // The main thread's schedstat (ns on a CPU, ns waiting for one), read at each tick: how much of
  // a stall the thread ran (our code, GC) and how much it was ready but waited for a core.
  const schedstat = (() => {
    try {
      return openSync('/proc/thread-self/schedstat', 'r');
    } catch {
      return undefined;
    }
  })();
  const buffer = Buffer.alloc(128);
  const sched = (): [number, number] => {
    if (schedstat === undefined) return [Number.NaN, Number.NaN];
    const text = buffer.toString('latin1', 0, readSync(schedstat, buffer, 0, buffer.length, 0));
    const [ran = '', waited = ''] = text.split(' ');
    return [Number(ran) / 1e6, Number(waited) / 1e6];
  };
  let last = performance.now();
  let lastSched = sched();
  setInterval(() => {
    const now = performance.now();
    const nowSched = measuring ? sched() : lastSched;
    if (measuring && now - last >= 6) stalls.push({ at: last, ms: now - last - 1, ranMs: nowSched[0] - lastSched[0], waitedMs: nowSched[1] - lastSched[1] });
    last = now;
    lastSched = nowSched;
  }, 1).unref();

  process.on('SIGUSR2', () => {
    measuring = true;
    loop.enable();
  });
  process.on('exit', () => {
    loop.disable();
    const ms = (ns: number) => ns / 1e6;
    const report: ProbeReport = {
      requests,
      gc,
      stalls,
      loopDelayMs: { p50: ms(loop.percentile(50)), p99: ms(loop.percentile(99)), max: ms(loop.max), mean: ms(loop.mean) },
      timeOrigin: performance.timeOrigin,
      monotonicOriginUs: Number(process.hrtime.bigint() / 1000n) - performance.now() * 1000,
    };
    writeFileSync(out, JSON.stringify(report));
  });
}
