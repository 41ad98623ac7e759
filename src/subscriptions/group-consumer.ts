// One worker's membership of one persistent subscription group: receives events, runs them
// through the group's processing with a timeout and a bound on events in flight, acks on
// success, retries with backoff or parks on failure, reconnects when the connection drops, and
// keeps the group's metrics.
import {
  PersistentSubscriptionDoesNotExistError,
  type EventStoreDBClient,
  type PersistentSubscriptionToAll,
  type PersistentSubscriptionToAllResolvedEvent,
  type Position,
} from '@eventstore/db-client';
import type { Logger } from 'pino';
import { OutOfOrderEventError } from '../readmodels/apply-projection.js';
import type { WorkerMetrics } from '../observability/worker-metrics.js';
import { sharedLagScanner } from '../observability/group-lag.js';
import { AckBatcher } from './ack-batcher.js';
import { errorMessage } from './errors.js';
import { ensureGroup, type GroupFilter, type GroupServerSettings } from './group-settings.js';
import { decideOnFailure, type RetryPolicy } from './retry-policy.js';
import { isInfrastructureFault } from '../readmodels/read-model-health.js';
import { withTimeout } from './with-timeout.js';
import { HandlerTimeoutError } from './errors.js';
import { workerIntake, type IntakeGate } from './intake-gate.js';
import { StreamLanes, type LaneEntry, type Settled } from './stream-lanes.js';
import type { Context } from '@opentelemetry/api';
import { inDeliverySpan, startDeliverySpan, type DeliverySpan } from '../observability/delivery-tracing.js';
import { bindTraceContext } from '../observability/log-trace-context.js';

export type ProcessOutcome = 'handled' | 'duplicate' | 'skipped';

export interface Delivery {
  event: PersistentSubscriptionToAllResolvedEvent;
  /** Times this event was already retried (server count, or this worker's when higher). */
  retries: number;
  signal: AbortSignal;
  logger: Logger;
  /** The delivery's trace context (undefined: tracing off), for the work to hand over past its `await`s. */
  traceContext?: Context | undefined;
}

export interface GroupSpec {
  group: string;
  /** The `handler` label of metrics and logs. */
  label: string;
  filter: GroupFilter;
  /** Where the group starts when this consumer creates it (default: the start of $all). */
  startFrom?: Position;
  maxInFlight: number;
  /** 0: no timeout (synchronous work). */
  timeoutMs: number;
  retry: RetryPolicy;
  /**
   * Level of the one line logged per processed event (default debug: a line per event at info
   * costs more than the event at full speed). It is logged at info anyway when the event took
   * retries or longer than SLOW_EVENT_MS; failures always log at warn/error.
   */
  processedLogLevel?: 'info' | 'debug';
  /**
   * Each event waits for the previous event of its stream to settle (stream-lanes.ts): acked,
   * parked, or redelivered and settled after a retry. For effects that must follow the events'
   * order (handlers); projections keep it by their revision guards and batch a stream's events.
   */
  inStreamOrder?: boolean;
  /** Started synchronously in delivery order (with inStreamOrder, once its stream's turn came). */
  process(delivery: Delivery): Promise<ProcessOutcome> | ProcessOutcome;
}

export interface ConsumerDeps {
  client: EventStoreDBClient;
  logger: Logger;
  metrics: WorkerMetrics;
  server: GroupServerSettings;
  /** How often parked count and lag are refreshed from the server. */
  statsIntervalMs: number;
  /** The gate the API's load shedding closes (this process's `workerIntake` unless given). */
  intake?: IntakeGate;
}

interface EventLabels {
  base: { handler: string; event_type: string };
  outcomes: Record<ProcessOutcome | 'parked', { handler: string; event_type: string; outcome: string }>;
}

const NEVER_ABORTED = new AbortController().signal;
const JOIN_WAIT_MS = 5_000;
const RECONNECT_DELAYS_MS = [100, 250, 500, 1_000, 2_000, 5_000];
/** An event that took this long is worth an operator's attention (logged at info). */
export const SLOW_EVENT_MS = 1_000;

export class GroupConsumer {
  readonly #spec: GroupSpec;
  readonly #deps: ConsumerDeps;
  readonly #logger: Logger;
  #subscription: PersistentSubscriptionToAll | undefined;
  #acks: AckBatcher | undefined;
  #stopped = false;
  #inFlight = 0;
  #paused = false;
  /** Of #inFlight, the events waiting behind an earlier event of their stream (stream-lanes.ts). */
  #waitingForTurn = 0;
  #reconnects = 0;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #statsTimer: NodeJS.Timeout | undefined;
  /** The refresh of the group's stats under way, if any: at most one at a time. */
  #refreshing: Promise<void> | undefined;
  #lastProcessedPosition = -1;
  #onJoined: (() => void) | undefined;
  readonly #localRetries = new Map<string, number>();
  readonly #labels = new Map<string, EventLabels>();
  readonly #idleWaiters: (() => void)[] = [];
  readonly #sleeps = new Set<{ timer: NodeJS.Timeout; done: () => void }>();
  /** Since when events fail for a fault of the machinery (disk full, read model unavailable). */
  #faultedSince: number | undefined;
  readonly #leaveGate: () => void;
  readonly #lanes: StreamLanes | undefined;
  readonly #intake: IntakeGate;

  constructor(spec: GroupSpec, deps: ConsumerDeps) {
    this.#spec = spec;
    this.#deps = deps;
    this.#logger = deps.logger.child({ group: spec.group, handler: spec.label });
    this.#intake = deps.intake ?? workerIntake;
    // Past the message timeout the server redelivers the event anyway, maybe to another worker.
    this.#lanes = spec.inStreamOrder
      ? new StreamLanes(deps.server.messageTimeoutMs, (entry) =>
          this.#logger.warn({ eventId: entry.id, streamId: entry.stream }, 'a retried event did not come back: the later events of its stream go on without it'),
        )
      : undefined;
    deps.metrics.watchInFlight(spec.group, () => this.#inFlight);
    // No new events while the API in this process sheds load (intake-gate.ts).
    this.#leaveGate = this.#intake.onChange(() => {
      const subscription = this.#subscription;
      if (!subscription || this.#stopped) return;
      // Closed, the bound is 0; narrowed, it may be full already.
      this.#obeyBound(subscription);
    });
  }

  get group(): string {
    return this.#spec.group;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Events in flight that take a slot of the bound: not those waiting for their stream's turn. The
   * redelivery of a retried event they wait for comes in behind them on the subscription, so counted,
   * a bound narrower than the group's buffer (the intake gate's, 2) could keep the subscription
   * paused until the message timeout, then let the stream go on without the retried event.
   */
  get #busy(): number {
    return this.#inFlight - this.#waitingForTurn;
  }

  /** Creates the group if needed and joins it; resolves once the server confirmed (or 5 s passed). */
  async start(): Promise<void> {
    await ensureGroup(this.#deps.client, this.#spec.group, this.#spec.filter, this.#deps.server, this.#spec.startFrom);
    const joined = new Promise<void>((resolve) => {
      this.#onJoined = resolve;
      setTimeout(resolve, JOIN_WAIT_MS).unref();
    });
    this.#connect();
    this.#statsTimer = setInterval(() => void this.refreshStats(), this.#deps.statsIntervalMs);
    this.#statsTimer.unref();
    // Competing workers share events only once each has joined: callers may rely on that.
    await joined;
    void this.refreshStats();
  }

  /** Stops receiving, lets events in flight finish (acking them), then leaves the group. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#leaveGate();
    clearInterval(this.#statsTimer);
    clearTimeout(this.#reconnectTimer);
    this.#subscription?.pause();
    // Paused, the retries they wait for never come: left unacked, the server redelivers them.
    this.#lanes?.abandonAll();
    for (const sleep of this.#sleeps) {
      clearTimeout(sleep.timer);
      sleep.done();
    }
    if (this.#inFlight > 0) await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    await this.#acks?.flush();
    await this.#subscription?.unsubscribe().catch(() => undefined);
  }

  /**
   * Drops the connection without acking or nacking what is in flight, like a worker killed with
   * SIGKILL: the server redelivers those events to the other members after its message timeout.
   */
  async abandon(): Promise<void> {
    this.#stopped = true;
    this.#leaveGate();
    clearInterval(this.#statsTimer);
    clearTimeout(this.#reconnectTimer);
    this.#subscription?.removeAllListeners('data');
    await this.#subscription?.unsubscribe().catch(() => undefined);
  }

  #connect(): void {
    if (this.#stopped) return;
    const subscription = this.#deps.client.subscribeToPersistentSubscriptionToAll(this.#spec.group, {
      bufferSize: this.#spec.maxInFlight,
    });
    this.#subscription = subscription;
    this.#paused = false;
    this.#acks = new AckBatcher(subscription, (error) => this.#logger.warn({ err: error }, 'ack failed'));
    subscription.on('confirmation', () => {
      this.#reconnects = 0;
      this.#onJoined?.();
      this.#onJoined = undefined;
      this.#logger.debug('joined subscription group');
    });
    subscription.on('data', (event: PersistentSubscriptionToAllResolvedEvent) => {
      void this.#onEvent(subscription, event);
    });
    subscription.on('error', (error: Error) => this.#reconnect(subscription, error));
    subscription.on('end', () => this.#reconnect(subscription, undefined));
    subscription.on('close', () => this.#reconnect(subscription, undefined));
  }

  #reconnect(from: PersistentSubscriptionToAll, error: Error | undefined): void {
    if (this.#stopped || from !== this.#subscription) return;
    this.#subscription = undefined;
    from.removeAllListeners('data');
    this.#lanes?.abandonAll();
    void from.unsubscribe().catch(() => undefined);
    this.#scheduleResubscribe(error);
  }

  #scheduleResubscribe(error: unknown): void {
    const delay = RECONNECT_DELAYS_MS[Math.min(this.#reconnects++, RECONNECT_DELAYS_MS.length - 1)] ?? 5_000;
    this.#logger.warn({ err: error, retryInMs: delay }, 'subscription dropped; reconnecting');
    this.#reconnectTimer = setTimeout(() => void this.#resubscribe(error), delay);
    this.#reconnectTimer.unref();
  }

  async #resubscribe(error: unknown): Promise<void> {
    if (this.#stopped) return;
    try {
      // Someone deleted the group: create it again rather than give up.
      if (error instanceof PersistentSubscriptionDoesNotExistError) {
        await ensureGroup(this.#deps.client, this.#spec.group, this.#spec.filter, this.#deps.server);
      }
      this.#connect();
    } catch (failure) {
      this.#scheduleResubscribe(failure);
    }
  }

  async #onEvent(subscription: PersistentSubscriptionToAll, resolved: PersistentSubscriptionToAllResolvedEvent): Promise<void> {
    const recorded = resolved.event;
    this.#inFlight++;
    const eventType = recorded?.type ?? '(unresolved)';
    const id = recorded?.id ?? resolved.link?.id ?? 'unknown';
    const lane = this.#lanes && recorded ? this.#lanes.enter(recorded.streamId, id) : undefined;
    if (lane?.waiting) this.#waitingForTurn++;
    this.#obeyBound(subscription);
    const turn = lane ? await lane.ready : 'go';
    if (lane?.waiting) {
      this.#waitingForTurn--;
      this.#obeyBound(subscription);
    }
    if (turn === 'abandoned') {
      // Its predecessor was left to the server's redelivery: so is this event, behind it.
      this.#lanes!.settle(lane!, 'abandoned');
      this.#left(subscription);
      return;
    }
    const retries = Math.max(resolved.retryCount ?? 0, this.#localRetries.get(id) ?? 0);
    // A child logger per event is costly at catch-up rates: made only when something logs.
    let child: Logger | undefined;
    const baseLogger = this.#logger;
    // Undefined when tracing is off; else the work, its logs and its failure run in the span.
    const span = startDeliverySpan(this.#spec.group, this.#spec.label, resolved, retries);
    const logger = (): Logger =>
      (child ??= bindTraceContext(
        baseLogger.child({
          eventId: id,
          eventType,
          streamId: recorded?.streamId,
          revision: recorded ? Number(recorded.revision) : undefined,
          correlationId: correlationIdOf(recorded?.metadata) ?? id,
        }),
        span?.spanContext,
      ));
    const labels = this.#labelsFor(eventType);
    await inDeliverySpan(span, () => this.#process(subscription, resolved, id, retries, labels, logger, span, lane));
  }

  /** Pauses the subscription while the events being worked on fill the bound; resumes it once there is room. */
  #obeyBound(subscription: PersistentSubscriptionToAll): void {
    if (subscription !== this.#subscription) return;
    const full = this.#busy >= this.#intake.limit(this.#spec.maxInFlight);
    if (full && !this.#paused) {
      this.#paused = true;
      subscription.pause();
    } else if (!full && this.#paused) {
      this.#paused = false;
      subscription.resume();
    }
  }

  /** An event in flight is done with: room for the next. */
  #left(subscription: PersistentSubscriptionToAll): void {
    this.#inFlight--;
    this.#obeyBound(subscription);
    if (this.#inFlight === 0) this.#idleWaiters.splice(0).forEach((resolve) => resolve());
  }

  async #process(
    subscription: PersistentSubscriptionToAll,
    resolved: PersistentSubscriptionToAllResolvedEvent,
    id: string,
    retries: number,
    labels: EventLabels,
    logger: () => Logger,
    span: DeliverySpan | undefined,
    lane: LaneEntry | undefined,
  ): Promise<void> {
    const recorded = resolved.event;
    let settledLane = lane === undefined;
    const settle = (settled: Settled): void => {
      if (settledLane) return;
      settledLane = true;
      // Stopped or disconnected, no redelivery comes on this connection to wait for.
      const retryHere = settled === 'retry' && !this.#stopped && subscription === this.#subscription;
      this.#lanes!.settle(lane!, settled === 'retry' && !retryHere ? 'abandoned' : settled);
    };
    const { metrics } = this.#deps;
    const baseLogger = this.#logger;
    const started = performance.now();
    if (baseLogger.isLevelEnabled('debug')) logger().debug({ retries }, 'received');
    try {
      const delivery = (signal: AbortSignal): Delivery => ({
        event: resolved,
        retries,
        signal,
        traceContext: span?.context,
        get logger() {
          return logger();
        },
      });
      const outcome =
        this.#spec.timeoutMs > 0
          ? await withTimeout(this.#spec.label, this.#spec.timeoutMs, (signal) => this.#spec.process(delivery(signal)))
          : await this.#spec.process(delivery(NEVER_ABORTED));
      const seconds = (performance.now() - started) / 1000;
      metrics.processingDuration.observe(labels.base, seconds);
      metrics.eventsProcessed.inc(labels.outcomes[outcome]);
      this.#localRetries.delete(id);
      if (this.#faultedSince !== undefined) {
        this.#logger.info({ downMs: Date.now() - this.#faultedSince }, 'the fault healed: processing events again');
        this.#faultedSince = undefined;
      }
      const position = recorded?.position ? Number(recorded.position.commit) : -1;
      if (position > this.#lastProcessedPosition) this.#lastProcessedPosition = position;
      this.#acks?.ack(resolved);
      settle('done');
      const slow = seconds * 1000 >= SLOW_EVENT_MS;
      const level = retries > 0 || slow ? 'info' : (this.#spec.processedLogLevel ?? 'debug');
      if (baseLogger.isLevelEnabled(level)) logger()[level]({ outcome, durationMs: Math.round(seconds * 1e4) / 10, attempt: retries + 1, ...(slow ? { slow } : {}) }, 'event processed');
      span?.processed(outcome);
    } catch (error) {
      await this.#onFailure(subscription, resolved, id, retries, error, labels, logger(), span, settle);
    } finally {
      // Neither acked nor nacked (a fault past the nack): the later events of its stream wait for the server's redelivery too.
      settle('abandoned');
      this.#left(subscription);
    }
  }

  async #onFailure(
    subscription: PersistentSubscriptionToAll,
    resolved: PersistentSubscriptionToAllResolvedEvent,
    id: string,
    retries: number,
    error: unknown,
    labels: EventLabels,
    logger: Logger,
    span: DeliverySpan | undefined,
    settle: (settled: Settled) => void,
  ): Promise<void> {
    const { metrics } = this.#deps;
    const decision = decideOnFailure(error, retries, this.#spec.retry);
    span?.failed(error, decision, error instanceof HandlerTimeoutError);
    const early = error instanceof OutOfOrderEventError;
    if (!early) metrics.handlerErrors.inc(labels.base);
    try {
      if (decision.action === 'retry') {
        if (early) logger.debug({ retries, delayMs: decision.delayMs, reason: decision.reason }, 'early event: retrying after its predecessor');
        else if (isInfrastructureFault(error)) this.#noteInfrastructureFault(error, logger, retries, decision.delayMs);
        else logger.warn({ err: error, retries, delayMs: decision.delayMs }, 'processing failed: retrying');
        await this.#sleep(decision.delayMs);
        this.#rememberRetry(id, retries + 1);
        // Before the nack: its redelivery may arrive before the nack's promise resolves.
        settle('retry');
        await subscription.nack('retry', decision.reason, resolved);
      } else {
        logger.error({ err: error, retries, reason: decision.reason }, 'processing failed: parking the event');
        this.#localRetries.delete(id);
        await subscription.nack('park', decision.reason, resolved);
        // Parked, as on EventStoreDB: the later events of its stream go on.
        settle('done');
        metrics.eventsProcessed.inc(labels.outcomes.parked);
        metrics.parked.inc({ group: this.#spec.group });
      }
    } catch (nackError) {
      // The connection is gone: the server redelivers the event after its message timeout.
      logger.warn({ err: nackError, cause: errorMessage(error) }, 'could not nack');
      settle('abandoned');
    }
  }

  /** A full disk fails every event in flight, again at each retry: one warning, then debug lines. */
  #noteInfrastructureFault(error: unknown, logger: Logger, retries: number, delayMs: number): void {
    if (this.#faultedSince === undefined) {
      this.#faultedSince = Date.now();
      logger.warn({ err: error, retries, delayMs }, 'processing failed for a fault of the machinery: the events wait (retried, never parked for it) until it heals');
    } else {
      logger.debug({ err: error, retries, delayMs }, 'processing failed: retrying');
    }
  }

  /** Label sets per event type, made once rather than built (and spread) for every event. */
  #labelsFor(eventType: string): EventLabels {
    let labels = this.#labels.get(eventType);
    if (!labels) {
      const handler = this.#spec.label;
      const outcome = (name: ProcessOutcome | 'parked') => ({ handler, event_type: eventType, outcome: name });
      labels = {
        base: { handler, event_type: eventType },
        outcomes: { handled: outcome('handled'), duplicate: outcome('duplicate'), skipped: outcome('skipped'), parked: outcome('parked') },
      };
      this.#labels.set(eventType, labels);
    }
    return labels;
  }

  #rememberRetry(id: string, retries: number): void {
    // Bounded: only events currently being retried are remembered.
    if (this.#localRetries.size > 10_000) this.#localRetries.clear();
    this.#localRetries.set(id, retries);
  }

  #sleep(ms: number): Promise<void> {
    if (this.#stopped || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          this.#sleeps.delete(entry);
          resolve();
        }, ms),
        done: resolve,
      };
      this.#sleeps.add(entry);
    });
  }

  /**
   * Parked count from the server; lag from the server's last known event and our progress. One
   * refresh at a time: asked again while one runs, the caller gets that one. The lag was a read of
   * $all from the group's last known event (up to 20,000 events); behind on large orders after a
   * burst, a refresh took longer than the 5 s interval, and the refreshes piled up, each holding its
   * pages in the store and its events in this process (#11). The groups now share one window of
   * $all that each refresh extends by what was written since (sharedLagScanner, #13).
   */
  refreshStats(): Promise<void> {
    this.#refreshing ??= this.#refreshStats().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #refreshStats(): Promise<void> {
    const group = this.#spec.group;
    try {
      const info = await this.#deps.client.getPersistentSubscriptionToAllInfo(group);
      this.#deps.metrics.parked.set({ group }, Number(info.stats.parkedMessageCount));
      // In events, as `orders projections` counts it; one window of $all for every group of the
      // client, read once for all of them (src/observability/group-lag.ts).
      const lag = await sharedLagScanner(this.#deps.client).lag({ group, filter: this.#spec.filter, info });
      this.#deps.metrics.lag.set({ group }, lag.events);
    } catch (error) {
      this.#logger.debug({ err: error }, 'could not read subscription group stats');
    }
  }
}

function correlationIdOf(metadata: unknown): string | undefined {
  if (typeof metadata !== 'object' || metadata === null || metadata instanceof Uint8Array) return undefined;
  const value = (metadata as Record<string, unknown>).$correlationId;
  return typeof value === 'string' ? value : undefined;
}
