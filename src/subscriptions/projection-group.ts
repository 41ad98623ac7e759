// Turns a projection declaration into the processing of its subscription group. Synchronous:
// SQLite commits before the ack, and events are applied in the order they arrive.
import { isOrderEventType } from '../orders/events.js';
import { applyToProjection } from '../readmodels/apply-projection.js';
import { locationOf, toEventEnvelope } from '../readmodels/event-envelope.js';
import type { ProjectionDefinition } from '../readmodels/projection.js';
import type { ReadModelStore } from '../readmodels/read-model-store.js';
import type { GroupSpec } from './group-consumer.js';
import { groupName, projectionFilter } from './group-settings.js';
import type { RetryPolicy } from './retry-policy.js';

export interface ProjectionGroupDefaults {
  timeoutMs: number;
  maxInFlight: number;
  retry: RetryPolicy;
  groupPrefix?: string;
}

export function projectionGroupSpec(projection: ProjectionDefinition, store: ReadModelStore, defaults: ProjectionGroupDefaults): GroupSpec {
  return {
    group: groupName('projection', projection.name, defaults.groupPrefix),
    label: projection.name,
    filter: projectionFilter(),
    maxInFlight: defaults.maxInFlight,
    timeoutMs: defaults.timeoutMs,
    retry: defaults.retry,
    process({ event, logger }) {
      const recorded = event.event;
      if (!recorded) return 'skipped';
      const envelope = isOrderEventType(recorded.type) ? toEventEnvelope(recorded) : undefined;
      const outcome = applyToProjection(store, projection, locationOf(recorded), envelope);
      logger.debug({ outcome }, 'projection step');
      return outcome === 'applied' ? 'handled' : outcome;
    },
  };
}
