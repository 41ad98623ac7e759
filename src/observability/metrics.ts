// The process's prom-client registry and every metric name the service exports. A plain module:
// other parts (handlers, projections, subscriptions) add their metrics here.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const registry = new Registry();
collectDefaultMetrics({ register: registry });

/** Incremented for every event appended to the store, by EventStoreDB event type. */
export const eventsPublishedTotal = new Counter({
  name: 'events_published_total',
  help: 'Events appended to the event store, by event type',
  labelNames: ['event_type'] as const,
  registers: [registry],
});

export const httpRequestsTotal = new Counter({
  name: 'http_requests_total',
  help: 'HTTP requests answered, by method, route and status code',
  labelNames: ['method', 'route', 'status_code'] as const,
  registers: [registry],
});

export const httpRequestDurationSeconds = new Histogram({
  name: 'http_request_duration_seconds',
  help: 'Time to answer an HTTP request, by method, route and status code',
  labelNames: ['method', 'route', 'status_code'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  registers: [registry],
});

/** Appends refused because another writer moved the stream first (each retry counts once). */
export const commandConflictsTotal = new Counter({
  name: 'command_conflicts_total',
  help: 'Order commands that met a concurrent write, by outcome (retried or gave_up)',
  labelNames: ['outcome'] as const,
  registers: [registry],
});
