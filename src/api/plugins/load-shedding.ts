// Shedding load before it piles up: per-API-key rate limiting (429); a bound on the commands and
// reads one process works on at once, with a short bounded wait for a slot (what the process is
// waiting on: commands queued for the store, requests in flight); and, when the process is under
// pressure (event loop delay, heap), an early 503. All answer problem+json with Retry-After, so a
// client backs off instead of queueing requests in our memory.
import type { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifyUnderPressure from '@fastify/under-pressure';
import { Counter, Gauge, Histogram } from 'prom-client';
import { registry } from '../../observability/metrics.js';
import { ApiError } from '../error-registry.js';
import { AdmissionQueue, type Refusal } from './admission-queue.js';
import { bearerToken, createKeyResolver, resolveOnce } from './authentication.js';
import { workerIntake } from '../../subscriptions/intake-gate.js';
import { watchAcceptWait } from '../accept-wait.js';
import { loopDelay } from '../../observability/loop-delay.js';

export interface OverloadLimits {
  /** Shed when the mean event loop delay of the last sample exceeds this; 0: not checked. */
  maxEventLoopDelayMs: number;
  /** Shed when the V8 heap in use exceeds this; 0: not checked. */
  maxHeapUsedBytes: number;
  retryAfterSeconds: number;
  /** How often pressure is measured. */
  sampleIntervalMs: number;
  /** Commands (POST/PUT/PATCH/DELETE: they wait on the store) worked on at once; 0: unbounded. */
  maxInFlightCommands: number;
  /** Reads (GET/HEAD) worked on at once; 0: unbounded. Reads are cheaper, so their bound is higher. */
  maxInFlightReads: number;
  /** Requests of each kind waiting for a slot at once; beyond it, 503 at once. */
  maxQueued: number;
  /** The longest a request waits for a slot before 503. */
  maxQueueMs: number;
  /** How long a request should hold its slot: the in-flight bounds shrink while it takes longer. 0: fixed bounds. */
  targetServiceMs: number;
  /**
   * What a request may take, from when fastify first sees it to its answer (served or 503): a
   * request waits for a slot only as long as what is left of it covers the wait and the service
   * time being measured, and a command still waiting when it has run out is answered 503 before
   * it reaches the store (nothing appended). 0: no budget (only maxQueueMs bounds the wait).
   */
  latencyBudgetMs: number;
  /**
   * How long a connection answered 503 (with Retry-After) is not read, at most the Retry-After
   * delay: a client that retries at once cannot keep the event loop busy with requests it will be
   * refused anyway, and connections waiting to be accepted get their turn. 0: not paused.
   */
  shedPauseMs: number;
  /**
   * The longest a connection is held after 503s in a row (each holds it shedPauseMs longer than
   * the last, up to this; never past Retry-After); 0: every hold is shedPauseMs. Off by default:
   * growing holds let the 600 clients of the overload bench get 2-5x more creates served, and the
   * burst after them, meeting the workers' larger backlog, then got none served in one of three
   * runs of the e2e overload test (0-4 against 52).
   */
  shedPauseMaxMs: number;
  /**
   * Appends the process's store client may have waiting for their answer (one shared BatchAppend
   * stream): a command whose first append would be past it is answered 503 (`store-queue`) with
   * nothing appended, as is one whose append the queue's recent rate says would not be answered
   * within what is left of its budget. 0: not bounded by count.
   */
  maxQueuedAppends: number;
  /**
   * Commands whose first append may go to the store in one turn of the event loop, where the
   * request has a latency budget: the store client's shared BatchAppend stream moves about two
   * appends a turn, so the 30-40 commands a busy turn can bring to their append at once would wait
   * 15-20 turns behind each other, longer than any rate measured before that turn predicts. Past
   * it a command is answered 503 (`store-queue`, nothing appended). 0: not bounded.
   */
  maxAppendsPerTurn: number;
}

/** What the API knows of its store client's appends (eventstore/append-queue.ts). */
export interface StoreAppendQueue {
  readonly waiting: number;
  predictedWaitMs(): number;
}

/**
 * For `npm start` on 2 cores (ROLE=all): up to 64 commands in flight keep the store's group
 * commit fed (it takes one transaction for whatever is waiting), fewer while a slot is held past
 * half a second; at most a second in the queue. The service's configuration (src/config.ts) adds
 * a 2 s latency budget per request and sheds while the event loop lags 500 ms (a quarter of the
 * budget); build() without them (an embedder, the tests) has no budget and sheds at 1 s of lag,
 * so a test on a starved machine is not answered 503 for being slow.
 */
export const DEFAULT_OVERLOAD_LIMITS: OverloadLimits = {
  maxEventLoopDelayMs: 1_000,
  maxHeapUsedBytes: 0,
  retryAfterSeconds: 5,
  sampleIntervalMs: 500,
  maxInFlightCommands: 64,
  maxInFlightReads: 128,
  maxQueued: 512,
  maxQueueMs: 1_000,
  targetServiceMs: 500,
  latencyBudgetMs: 0,
  shedPauseMs: 250,
  shedPauseMaxMs: 0,
  maxQueuedAppends: 256,
  maxAppendsPerTurn: 8,
};

/** Per key: lowers only a runaway client; a busy tenant at benchmark rates stays under it. */
export const DEFAULT_RATE_LIMIT_PER_MINUTE = 120_000;

/** Liveness, readiness and metrics answer even under pressure: an overloaded process is not a dead one. */
export const NEVER_SHED: ReadonlySet<string> = new Set(['/health', '/ready', '/metrics']);
/** Public routes probed by machines (load balancers, Prometheus) have no key to limit by. */
const NEVER_RATE_LIMITED = new Set([...NEVER_SHED, '/ready', '/openapi.json']);

const routeOf = (request: FastifyRequest) => request.routeOptions.url ?? '';

/** Whether the per-key rate limit applies to a route (its fastify URL template). */
export const isRateLimitedRoute = (url: string): boolean => !NEVER_RATE_LIMITED.has(url) && !url.startsWith('/docs');

const shedTotal = new Counter({
  name: 'http_requests_shed_total',
  help: 'Requests answered 503 by load shedding, by reason',
  labelNames: ['reason'] as const,
  registers: [registry],
});
/** The apps' admission queues, read at each scrape (an app registers its own; tests build several). */
const collectors = new Set<() => void>();
const collectAdmission = () => collectors.forEach((collect) => collect());
const admissionGauge = new Gauge({
  name: 'http_requests_admitted',
  help: 'Requests being worked on (in_flight), waiting for a slot (queued), and the bound right now (limit), by kind (command, read)',
  labelNames: ['kind', 'state'] as const,
  registers: [registry],
  collect: collectAdmission,
});

const admissionServiceGauge = new Gauge({
  name: 'http_request_slot_seconds',
  help: 'How long a request holds its slot, smoothed (what the admission budget and the adaptive bound go by), by kind (command, read)',
  labelNames: ['kind'] as const,
  registers: [registry],
  collect: collectAdmission,
});

const COMMAND_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** The commands' in-flight bound at first and after an idle second (AdmissionQueue's slow start). */
const COMMANDS_SLOW_START = 8;

const REFUSALS: Record<Exclude<Refusal, 'aborted'>, (kind: string, limits: OverloadLimits) => string> = {
  'queue-full': (kind, limits) => `${limits.maxQueued} ${kind}s are already waiting for a slot`,
  'over-budget': (kind, limits) => `a ${kind} slot would not come free and its work be done within the ${limits.latencyBudgetMs} ms budget`,
  'queue-timeout': (kind) => `no ${kind} slot came free in time`,
};

interface RequestTiming {
  arrivedAt: number;
  /** A connection's first request: how long it waited in the kernel's accept queue (estimated, accept-wait.ts) and from its accept to fastify. */
  accept: { backlogMs: number; sinceAcceptMs: number } | undefined;
  admittedAt: number;
  /** performance.now() by which the answer is due; Infinity without a budget. */
  deadline: number;
  /** Set once a deadline check let the request's first append go: from then on it runs to its end. */
  committed: boolean;
  /** performance.now() when it was committed (NaN before): from then on its time is the store's. */
  committedAt: number;
  retryAfterSeconds: number;
  /** The store client's append queue and its bounds, checked before the first append. */
  appends: { queue: StoreAppendQueue; max: number; perTurn: number } | undefined;
}

const timings = new WeakMap<IncomingMessage, RequestTiming>();
/** When each connection's last answer was sent (budgeted requests only). */
const lastAnswers = new WeakMap<Socket, number>();

/**
 * When a request's answer is due: its budget from when its client began to wait. That is when
 * fastify first saw it, less for a connection's first request its time in the kernel's accept
 * queue, less the time it may have waited unread: since the connection's accept (first request)
 * or its last answer (the next one), as far as the loop's recent turns account for it (a busy
 * loop reads a request a turn after it came: 0.18-0.26 s for first requests, 0.65 s for the
 * next ones, at the overload bench's cold start, while their clients waited; a client that sent
 * later on an idle loop is not charged for that), or the hold it waited through where longer.
 */
export function requestDeadline(
  budgetMs: number,
  arrivedAt: number,
  waited: { backlogMs: number; sinceReadableMs: number },
  heldMs: number,
  loopDelayMs: number,
): number {
  return arrivedAt - waited.backlogMs - Math.max(heldMs, Math.min(waited.sinceReadableMs, loopDelayMs)) + budgetMs;
}

/** What is left of a request's budget, ms, less the loop delay its answer meets on the way out. */
function remainingMs(timing: RequestTiming): number {
  return timing.deadline - performance.now() - loopDelay.ms;
}

/**
 * The last check before a request's command reaches the store: once its budget has run out it is
 * answered 503 (reason `deadline`, with Retry-After) and nothing is appended. The first check that
 * passes commits the request: a later append of the same request (a payment's command after its
 * reservation) goes through, so nothing is left half-done. For requests not seen by the load
 * shedding (tests that build no app), it never throws.
 */
export function deadlineCheck(request: FastifyRequest, reply: FastifyReply): () => void {
  return () => {
    const timing = timings.get(request.raw);
    if (!timing || timing.committed) return;
    const leftMs = remainingMs(timing);
    if (leftMs <= 0) shedBeforeAppend(timing, reply, 'deadline', `the request's budget ran out before its command reached the store`);
    const storeQueue = storeQueueRefusal(timing, leftMs) ?? turnRefusal(timing);
    if (storeQueue) shedBeforeAppend(timing, reply, 'store-queue', storeQueue);
    timing.committed = true;
    timing.committedAt = performance.now();
  };
}

/** First appends let go in this turn of the event loop; back to 0 at the turn's check phase. */
const thisTurn = { appends: 0, resetScheduled: false };
const resetTurn = () => {
  thisTurn.appends = 0;
  thisTurn.resetScheduled = false;
};

/** Why a budgeted command's first append would be one too many for this turn, if it would; else counts it. */
function turnRefusal(timing: RequestTiming): string | undefined {
  const perTurn = timing.appends?.perTurn ?? 0;
  if (perTurn <= 0 || !Number.isFinite(timing.deadline)) return undefined;
  if (thisTurn.appends >= perTurn) return `${thisTurn.appends} commands already went to the event store in this turn of the event loop, more than its stream moves in several`;
  thisTurn.appends++;
  if (!thisTurn.resetScheduled) {
    thisTurn.resetScheduled = true;
    setImmediate(resetTurn);
  }
  return undefined;
}

/** Why a command would wait too long behind the appends already waiting for the store, if it would. */
function storeQueueRefusal(timing: RequestTiming, leftMs: number): string | undefined {
  const appends = timing.appends;
  if (!appends) return undefined;
  if (appends.max > 0 && appends.queue.waiting >= appends.max) return `${appends.queue.waiting} appends are already waiting for the event store`;
  if (appends.queue.predictedWaitMs() > leftMs) return `the event store's answers to the ${appends.queue.waiting} appends ahead would not leave this one within its budget`;
  return undefined;
}

function shedBeforeAppend(timing: RequestTiming, reply: FastifyReply, reason: 'deadline' | 'store-queue', detail: string): never {
  reply.header('retry-after', String(timing.retryAfterSeconds));
  shedTotal.inc({ reason });
  workerIntake.pressure();
  throw withoutStack(() => new ApiError('SERVICE_OVERLOADED', `the service is shedding load (${detail}; nothing was written); retry after the Retry-After delay`, { reason }));
}

/**
 * Register on the root instance before any route, so every route (whichever plugin adds it)
 * is covered, and before authentication: a request shed here costs no digest comparison, no
 * read and no append.
 */
export async function registerLoadShedding(
  scope: FastifyInstance,
  options: { apiKeys: ReadonlyMap<string, string>; overload: OverloadLimits; rateLimitPerMinute: number; appendQueue?: StoreAppendQueue | undefined },
): Promise<void> {
  const { overload } = options;
  const appends = options.appendQueue ? { queue: options.appendQueue, max: overload.maxQueuedAppends, perTurn: overload.maxAppendsPerTurn } : undefined;
  const refuse = (reason: string, detail: string): never => {
    shedTotal.inc({ reason });
    // The workers in this process (ROLE=all) pause their intake while the API sheds.
    if (reason !== 'client-gone') workerIntake.pressure();
    throw withoutStack(() => new ApiError('SERVICE_OVERLOADED', `the service is shedding load (${detail}); retry after the Retry-After delay`, { reason }));
  };
  // An answer sent before the request's body was read (any early refusal: 503, 429, 401) would
  // otherwise close a connection with the body still unread, which the kernel turns into a reset
  // that loses the answer too. Read it to its end first, dropping it (nothing is kept).
  const bodyLimit = scope.initialConfig.bodyLimit ?? 1024 * 1024;
  scope.addHook('onSend', async (request) => {
    await discardUnreadBody(request.raw, bodyLimit);
  });
  // A connection just answered 503 is not read for a moment (its next request waits in the
  // kernel): see shedPauseMs. /health, /ready and /metrics are never shed, so never paused.
  const pauseMs = Math.min(overload.shedPauseMs, overload.retryAfterSeconds * 1_000);
  if (pauseMs > 0) {
    const maxHoldMs = longestHold(overload, pauseMs);
    // Counted only where holds grow (OVERLOAD_SHED_PAUSE_MAX_MS): no bookkeeping per answer otherwise.
    const grows = maxHoldMs > pauseMs;
    scope.addHook('onResponse', (request, reply, done) => {
      const socket = request.raw.socket;
      const shed = reply.statusCode === 503 && reply.hasHeader('retry-after');
      if (!shed && !grows) return done();
      if (NEVER_SHED.has(routeOf(request))) return done();
      if (!shed) shedStreaks.delete(socket);
      else if (!grows) holdConnection(socket, pauseMs);
      else {
        // Each 503 in a row on a connection holds it longer (a client that never backs off), up
        // to maxHoldMs; an answer that is not a 503 starts the count again.
        const streak = (shedStreaks.get(socket) ?? 0) + 1;
        shedStreaks.set(socket, streak);
        holdConnection(socket, Math.min(pauseMs * streak, maxHoldMs));
      }
      done();
    });
  }
  // The request's clock starts when fastify first sees it, before anything may refuse it; a
  // connection's first request's, when it joined the kernel's accept queue (its client has been
  // waiting since: accept-wait.ts).
  const acceptWait = overload.latencyBudgetMs > 0 ? watchAcceptWait(scope.server) : undefined;
  if (acceptWait) scope.addHook('onClose', async () => acceptWait.stop());
  if (overload.latencyBudgetMs > 0) {
    loopDelay.start();
    // When each connection's last answer went: its next request may have waited unread since.
    scope.addHook('onResponse', (request, _reply, done) => {
      lastAnswers.set(request.raw.socket, performance.now());
      done();
    });
  }
  scope.addHook('onRequest', async (request) => {
    const arrivedAt = performance.now();
    const accept = acceptWait?.takeFirst(request.raw.socket);
    // A request read as its connection's hold ended waited in the kernel through the hold (its
    // client sent it at once, ignoring Retry-After): its clock started when the hold began.
    const heldMs = heldBefore(request.raw.socket, arrivedAt);
    const socket = request.raw.socket;
    const sinceReadableMs = accept ? accept.sinceAcceptMs : arrivedAt - (lastAnswers.get(socket) ?? arrivedAt);
    const deadline =
      overload.latencyBudgetMs > 0
        ? requestDeadline(overload.latencyBudgetMs, arrivedAt, { backlogMs: accept?.backlogMs ?? 0, sinceReadableMs }, heldMs, loopDelay.ms)
        : Number.POSITIVE_INFINITY;
    timings.set(request.raw, { arrivedAt, accept, admittedAt: Number.NaN, deadline, committed: false, committedAt: Number.NaN, retryAfterSeconds: overload.retryAfterSeconds, appends });
  });
  await scope.register(fastifyUnderPressure, {
    maxEventLoopDelay: overload.maxEventLoopDelayMs,
    maxHeapUsedBytes: overload.maxHeapUsedBytes,
    sampleInterval: overload.sampleIntervalMs,
    // A rejection goes to the problem+json error handler.
    pressureHandler: async (request, reply, type, value) => {
      if (NEVER_SHED.has(routeOf(request))) return;
      reply.header('retry-after', String(overload.retryAfterSeconds));
      const heap = type === fastifyUnderPressure.TYPE_HEAP_USED_BYTES;
      refuse(heap ? 'heap' : 'event-loop-delay', heap ? `heap in use ${Math.round(Number(value) / 2 ** 20)} MiB` : `event loop delay ${Math.round(Number(value))} ms`);
    },
  });
  if (options.rateLimitPerMinute > 0) await registerRateLimit(scope, options.apiKeys, options.rateLimitPerMinute);
  registerAdmission(scope, overload, refuse);
}

/**
 * Commands and reads each get their slots: commands wait on the store and cost the most, so
 * their bound is lower and they are shed first while reads are still served. A request holds
 * its slot until its answer is sent or its client goes away; the body of a waiting request is
 * not read (it stays in the kernel's socket buffer, not in our memory).
 */
function registerAdmission(scope: FastifyInstance, overload: OverloadLimits, refuse: (reason: string, detail: string) => never): void {
  // Where a request's time went, for the client (and the overload benchmark): waiting for a slot
  // (queue) and in it (app), from when fastify first saw the request; of the slot's, what came
  // after its first append was let go to the store (store). What a client measures
  // beyond their sum was spent before (connecting, accept backlog, a busy event loop) or after.
  scope.addHook('onSend', async (request, reply) => {
    const timing = timings.get(request.raw);
    if (!timing) return;
    const now = performance.now();
    // Not through the queue (refused before it, or never shed): no wait.
    const admittedAt = Number.isNaN(timing.admittedAt) ? timing.arrivedAt : timing.admittedAt;
    const queue = admittedAt - timing.arrivedAt;
    const app = now - admittedAt;
    // A connection's first request also says how long it waited to be accepted (estimated) and
    // from its accept until fastify saw it.
    const accept = timing.accept ? `backlog;dur=${timing.accept.backlogMs.toFixed(1)}, accept;dur=${timing.accept.sinceAcceptMs.toFixed(1)}, ` : '';
    // A command whose first append went also says how much of its time in the slot came after it.
    const store = Number.isNaN(timing.committedAt) ? '' : `, store;dur=${(now - timing.committedAt).toFixed(1)}`;
    reply.header('server-timing', `${accept}queue;dur=${queue.toFixed(1)}, app;dur=${app.toFixed(1)}${store}`);
  });
  const queues = {
    // Commands start slow: a cold start's first 64 admitted at once waited 2.6 s for the store, its
    // first 16 still 2.4-2.9 s (the shared BatchAppend stream moves two appends a turn, and the
    // turns grow to 300-460 ms): 8 are four turns.
    command: new AdmissionQueue({ maxInFlight: overload.maxInFlightCommands, maxQueued: overload.maxQueued, maxQueueMs: overload.maxQueueMs, targetServiceMs: overload.targetServiceMs, initialInFlight: COMMANDS_SLOW_START }),
    read: new AdmissionQueue({ maxInFlight: overload.maxInFlightReads, maxQueued: overload.maxQueued, maxQueueMs: overload.maxQueueMs, targetServiceMs: overload.targetServiceMs }),
  };
  // Read when /metrics is scraped, not set on every request: thousands a second of labelled
  // gauge sets (a label hash each) cost the shed requests more than their answer.
  const collect = () => {
    for (const [kind, queue] of Object.entries(queues)) {
      admissionGauge.set({ kind, state: 'in_flight' }, queue.inFlight);
      admissionGauge.set({ kind, state: 'queued' }, queue.queued);
      admissionGauge.set({ kind, state: 'limit' }, queue.limit);
      admissionServiceGauge.set({ kind }, queue.serviceMs / 1000);
    }
  };
  collectors.add(collect);
  scope.addHook('onClose', async () => {
    collectors.delete(collect);
  });
  scope.addHook('onRequest', async (request, reply) => {
    const timing = timings.get(request.raw);
    if (!timing || NEVER_SHED.has(routeOf(request))) return;
    const kind = COMMAND_METHODS.has(request.method) ? 'command' : 'read';
    // Already too late to be served in time: answered now, its body unread. Judged by the
    // service time only for a request that waited to be accepted (the rest take a free slot as
    // before, which measures the service time afresh: a slow measure cannot lock everything out).
    const leftMs = remainingMs(timing);
    if (leftMs <= 0 || ((timing.accept?.backlogMs ?? 0) > 0 && leftMs < queues[kind].serviceMs)) {
      reply.header('retry-after', String(overload.retryAfterSeconds));
      refuse('deadline', `${Math.max(0, Math.round(leftMs))} ms of the request's ${overload.latencyBudgetMs} ms budget were left when the service first read it, less than the ${Math.round(queues[kind].serviceMs)} ms it takes`);
    }
    // A command that would be refused at its append anyway is refused now, before its body is
    // parsed and validated: in a burst of large creates that was half the main thread's CPU
    // (JSON parse 20%, zod 27%). Checked again before the append, which is what guarantees it.
    const storeQueue = kind === 'command' ? storeQueueRefusal(timing, leftMs) : undefined;
    if (storeQueue) {
      reply.header('retry-after', String(overload.retryAfterSeconds));
      refuse('store-queue', storeQueue);
    }
    const ticket = queues[kind].enter(remainingMs(timing));
    // 'close' comes after the answer is sent, or when the client goes away first.
    reply.raw.once('close', () => ticket.leave());
    const outcome = await ticket.outcome;
    timing.admittedAt = performance.now();
    if (outcome === 'admitted') return;
    reply.header('retry-after', String(overload.retryAfterSeconds));
    if (outcome === 'aborted') refuse('client-gone', 'the client closed the connection while waiting');
    refuse(outcome, REFUSALS[outcome](kind, overload));
  });
}

async function registerRateLimit(scope: FastifyInstance, apiKeys: ReadonlyMap<string, string>, perMinute: number): Promise<void> {
  const resolve = createKeyResolver(apiKeys);
  await scope.register(fastifyRateLimit, {
    // Not per route: route hooks run after authentication, and a guessed key must count too.
    global: false,
    max: perMinute,
    timeWindow: 60_000,
    allowList: (request) => !isRateLimitedRoute(routeOf(request)),
    // One bucket per known key (by its digest fingerprint, never the key); unknown or missing
    // keys share their client address's bucket, so guessing keys is limited too.
    keyGenerator: (request) => {
      const token = bearerToken(request.headers.authorization);
      const caller = token ? resolveOnce(request, token, resolve) : undefined;
      return caller ? caller.actor : `ip:${request.ip}`;
    },
    errorResponseBuilder: (_request, context) =>
      new ApiError('TOO_MANY_REQUESTS', `rate limit of ${context.max} requests per minute exceeded; retry in ${context.after}`),
  });
  scope.addHook('onRequest', scope.rateLimit());
}

const connectionsHeld = new Counter({
  name: 'http_connections_held_total',
  help: 'Times a connection answered 503 was not read for a moment (OVERLOAD_SHED_PAUSE_MS), so that a client retrying at once does not monopolise the event loop',
  registers: [registry],
});

const holdSeconds = new Histogram({
  name: 'http_connection_hold_seconds',
  help: 'How long a connection answered 503 was not read: OVERLOAD_SHED_PAUSE_MS, and with OVERLOAD_SHED_PAUSE_MAX_MS longer for each 503 in a row on it (a client that retries at once), up to that, half the latency budget and the Retry-After delay',
  buckets: [0.1, 0.25, 0.5, 0.75, 1, 2, 5],
  registers: [registry],
});

const held = new WeakSet<Socket>();
/** 503s in a row per connection (what its next hold is measured by). */
const shedStreaks = new WeakMap<Socket, number>();
/** A connection's last hold: when it began and when it was read again. */
const lastHolds = new WeakMap<Socket, { heldAt: number; resumedAt: number }>();
/** A request read this soon after its connection was resumed had been waiting through the hold. */
const READ_AT_RESUME_MS = 20;

/**
 * The longest hold: the pause alone unless shedPauseMaxMs is set; then that, at most the 503's
 * Retry-After (a client that waits as told never meets one) and, with a latency budget, half of
 * it (the request that waited through a hold is answered within the rest: its budget counts it).
 */
export function longestHold(overload: OverloadLimits, pauseMs: number): number {
  if (overload.shedPauseMaxMs <= 0) return pauseMs;
  const byBudget = overload.latencyBudgetMs > 0 ? Math.min(overload.shedPauseMaxMs, overload.latencyBudgetMs / 2) : overload.shedPauseMaxMs;
  return Math.max(pauseMs, Math.min(overload.retryAfterSeconds * 1_000, byBudget));
}

/**
 * How long the request just read on `socket` waited in the kernel through its connection's
 * hold: the whole hold if it was read as the hold ended (within READ_AT_RESUME_MS and the loop's
 * recent delay: it came at once, or during the hold), else 0 (it came later). Asked once per hold.
 */
function heldBefore(socket: Socket | null | undefined, arrivedAt: number): number {
  const hold = socket ? lastHolds.get(socket) : undefined;
  if (!hold) return 0;
  lastHolds.delete(socket!);
  return arrivedAt - hold.resumedAt <= READ_AT_RESUME_MS + loopDelay.ms ? arrivedAt - hold.heldAt : 0;
}

/**
 * Stops reading a connection for `ms` (its next request stays in the kernel's socket buffer),
 * then reads it again. While the API sheds, clients that retry at once (ignoring Retry-After)
 * would otherwise fill every event-loop iteration with requests refused anyway; Node accepts
 * one new connection per iteration, so connections then wait seconds to be accepted. Paused on
 * the next turn of the loop: the HTTP server resumes a socket itself when it finishes a response
 * whose body went unread (on the next tick), which would undo a pause made right away. A socket
 * already held, closed, or not a TCP socket (fastify.inject's) is left alone.
 */
export function holdConnection(socket: Socket | null | undefined, ms: number): void {
  if (!(socket instanceof Socket) || ms <= 0 || socket.destroyed || held.has(socket)) return;
  held.add(socket);
  connectionsHeld.inc();
  holdSeconds.observe(ms / 1000);
  const heldAt = performance.now();
  setImmediate(() => {
    if (socket.destroyed) return void held.delete(socket);
    socket.pause();
    setTimeout(() => {
      held.delete(socket);
      if (socket.destroyed) return;
      lastHolds.set(socket, { heldAt, resumedAt: performance.now() });
      socket.resume();
    }, ms).unref();
  });
}

/** A refusal is an answer, not a bug: capturing a stack for each of thousands a second costs real time. */
function withoutStack<T>(make: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return make();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** How long an early answer waits for the rest of a body it will not use. */
const DISCARD_MS = 2_000;

/**
 * Reads what is left of a request body and drops it. Not when the parser already has it all,
 * when no body comes, or when the body is over the limit (that connection is closed on purpose).
 */
function discardUnreadBody(raw: IncomingMessage, limitBytes: number): Promise<void> | undefined {
  if (raw.complete || raw.readableEnded || raw.destroyed) return undefined;
  const declared = Number(raw.headers['content-length'] ?? Number.NaN);
  const chunked = raw.headers['transfer-encoding'] !== undefined;
  if (!chunked && !(declared > 0)) return undefined;
  if (declared > limitBytes) return undefined;
  return new Promise((resolve) => {
    let seen = 0;
    const done = () => {
      clearTimeout(timer);
      raw.off('data', count);
      raw.off('end', done);
      raw.off('error', done);
      raw.off('close', done);
      resolve();
    };
    const count = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > limitBytes) done();
    };
    const timer = setTimeout(done, DISCARD_MS);
    raw.on('data', count);
    raw.once('end', done);
    raw.once('error', done);
    raw.once('close', done);
    raw.resume();
  });
}
