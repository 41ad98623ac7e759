// Metrics of the workers: how long handlers and projections take per event, how often they fail,
// and per subscription group what is in flight, parked and not yet processed.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface WorkerMetrics {
  processingDuration: Histogram<'handler' | 'event_type'>;
  handlerErrors: Counter<'handler' | 'event_type'>;
  eventsProcessed: Counter<'handler' | 'event_type' | 'outcome'>;
  inFlight: Gauge<'group'>;
  /**
   * Reports a group's events in flight at each scrape (read then, not set per event: at
   * catch-up rates a gauge update per event costs more than the event's SQL).
   */
  watchInFlight(group: string, read: () => number): void;
  parked: Gauge<'group'>;
  lag: Gauge<'group'>;
}

const cache = new WeakMap<Registry, WorkerMetrics>();

/** One set per registry: calling it again with the same registry returns the same metrics. */
export function workerMetrics(registry: Registry): WorkerMetrics {
  const existing = cache.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const inFlightSources = new Map<string, () => number>();
  const metrics: WorkerMetrics = {
    processingDuration: new Histogram({
      name: 'event_processing_duration_seconds',
      help: 'Time a handler or projection took for one event, by handler and event type',
      labelNames: ['handler', 'event_type'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    handlerErrors: new Counter({
      name: 'event_handler_errors_total',
      help: 'Failed attempts of a handler or projection on an event (each retry counts), by handler and event type',
      labelNames: ['handler', 'event_type'] as const,
      registers,
    }),
    eventsProcessed: new Counter({
      name: 'events_processed_total',
      help: 'Events a handler or projection finished, by outcome: handled, duplicate, skipped, parked',
      labelNames: ['handler', 'event_type', 'outcome'] as const,
      registers,
    }),
    inFlight: new Gauge({
      name: 'subscription_events_in_flight',
      help: 'Events received from a persistent subscription group and not yet acked or nacked by this process',
      labelNames: ['group'] as const,
      registers,
      collect() {
        for (const [group, read] of inFlightSources) this.set({ group }, read());
      },
    }),
    watchInFlight: (group, read) => {
      inFlightSources.set(group, read);
    },
    parked: new Gauge({
      name: 'subscription_parked_events',
      help: 'Events parked in a persistent subscription group (as the server reports it)',
      labelNames: ['group'] as const,
      registers,
    }),
    lag: new Gauge({
      name: 'subscription_lag',
      help: 'Per group: events not yet processed by the group (written for it and not yet read, buffered or in flight); 0 when idle and caught up. The same figure as LAG in `orders projections`',
      labelNames: ['group'] as const,
      registers,
    }),
  };
  cache.set(registry, metrics);
  return metrics;
}
