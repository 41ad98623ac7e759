// The projections subsystem of the embedded server: the gRPC service, and a plain listing for
// other parts of the server (the store UI) that want projections with status and position.
import { projectionAccessOf } from '../log/sqlite-event-log.js';
import type { EventLog } from '../log/types.js';
import type { ServiceModule } from '../grpc/service-module.js';
import { ProjectionsManager, type ProjectionSummary } from './manager.js';
import { DEFAULT_PROJECTION_LIMITS, type ProjectionLimits } from './projection-worker.js';
import { createProjectionsService } from './projections-service.js';
import type { CallAuthorization } from '../auth/acl.js';

export type { ProjectionSummary } from './manager.js';
export { ProjectionsManager } from './manager.js';
export { DEFAULT_PROJECTION_LIMITS, type ProjectionLimits } from './projection-worker.js';

const managers = new WeakMap<EventLog, ProjectionsManager>();

/**
 * Starts the projections subsystem on a log returned by openSqliteEventLog (not a wrapper of it),
 * resuming every projection that ran before, and returns its gRPC service.
 */
export async function startProjections(log: EventLog, limits: Partial<ProjectionLimits> = {}, authorization?: CallAuthorization): Promise<ServiceModule> {
  const manager = new ProjectionsManager(log, projectionAccessOf(log), { ...DEFAULT_PROJECTION_LIMITS, ...limits });
  await manager.start();
  managers.set(log, manager);
  return createProjectionsService(manager, authorization);
}

/**
 * Every projection (system and user) with its status and position, as listProjections() reports
 * them. Pass the log the server opened (the one given to startProjections).
 */
export function listProjections(log: EventLog): ProjectionSummary[] {
  const manager = managers.get(log) ?? new ProjectionsManager(log, projectionAccessOf(log));
  return manager.list('all');
}
