// Every projection of a runner is fed by ONE persistent subscription group, `<prefix>.projections`:
// each event is decoded, tracked, acked and checkpointed once for all of them instead of once per
// projection (bench/lifecycle.bench.ts: a lifecycle's six events made 24 projection deliveries,
// now 6). Each delivered event is applied to every projection whose streams it belongs to, each
// in its own savepoint of the runner's shared commit of the turn (projection-group.ts batches),
// so the projections still keep their own per-order revisions (their checkpoints) and their own
// faults:
//   - a projection that refuses an event does not undo or hold up the others: they commit;
//   - while its retries last, the event is redelivered (nacked), and the others skip it as a
//     duplicate by their revision guard;
//   - when it gives up (the retry policy says park, or an earlier event of the same order is
//     already parked for it), the event is parked for that projection alone, in the read-model
//     store (projection-parking.ts), committed before the event is acked; `orders parked
//     <projection>` lists and replays them.
import type { RecordedEvent } from '@eventstore/db-client';
import { OutOfOrderEventError, type ProjectionOutcome } from '../readmodels/apply-projection.js';
import type { ProjectionDefinition } from '../readmodels/projection.js';
import type { ReadModelStore } from '../readmodels/read-model-store.js';
import type { WorkerMetrics } from '../observability/worker-metrics.js';
import { errorMessage } from './errors.js';
import type { GroupSpec, ProcessOutcome } from './group-consumer.js';
import { groupName, projectionFilter, projectionsGroupName } from './group-settings.js';
import { projectionBatcher, type ProjectionGroupDefaults } from './projection-group.js';
import { hasParkedInStream, isParkedFor, parkForProjection, type ParkRequest } from './projection-parking.js';
import { decideOnFailure, type FailureDecision } from './retry-policy.js';
import { sharedCommit } from './shared-commit.js';

export interface ProjectionsGroupDefaults extends ProjectionGroupDefaults {
  /**
   * Counts each projection's outcomes (events_processed_total{handler=<projection>}) and parks
   * (subscription_parked_events{group=<prefix>.projection.<name>}); the group's own timings are
   * labelled `projections`.
   */
  metrics?: WorkerMetrics;
}

type Outcome = 'handled' | 'duplicate' | 'skipped' | 'parked';

interface Member {
  projection: ProjectionDefinition;
  prefixes: readonly string[];
  apply(recorded: RecordedEvent): Promise<ProjectionOutcome>;
}

export function projectionsGroupSpec(projections: readonly ProjectionDefinition[], store: ReadModelStore, defaults: ProjectionsGroupDefaults): GroupSpec {
  const commits = defaults.commits ?? sharedCommit(store);
  const members: Member[] = projections.map((projection) => ({
    projection,
    prefixes: projectionFilter(projection.handles).prefixes,
    apply: projectionBatcher(store, projection, defaults.maxBatch, defaults.envelopes, commits),
  }));
  const decide = async (member: Member, recorded: RecordedEvent, error: unknown, retries: number): Promise<FailureDecision> => {
    // Behind a parked event of its order it would wait in vain: parked behind it at once.
    if (error instanceof OutOfOrderEventError && (await hasParkedInStream(store, member.projection.name, recorded.streamId))) {
      return { action: 'park', reason: `an earlier event of its stream is parked for ${member.projection.name}: ${errorMessage(error)}` };
    }
    return decideOnFailure(error, retries, defaults.retry);
  };
  const labels = new Map<string, { handler: string; event_type: string; outcome: string }>();
  const count = (projection: string, eventType: string, outcome: Outcome) => {
    if (!defaults.metrics) return;
    const key = `${projection}\u0000${eventType}\u0000${outcome}`;
    let set = labels.get(key);
    if (!set) labels.set(key, (set = { handler: projection, event_type: eventType, outcome }));
    defaults.metrics.eventsProcessed.inc(set);
  };
  return {
    group: projectionsGroupName(defaults.groupPrefix),
    label: 'projections',
    filter: projectionFilter(),
    maxInFlight: defaults.maxInFlight,
    // Applying is read-model work only: nothing a timer could interrupt.
    timeoutMs: 0,
    retry: defaults.retry,
    processedLogLevel: 'debug',
    async process({ event, retries, logger }): Promise<ProcessOutcome> {
      const recorded = event.event as RecordedEvent | undefined;
      if (!recorded) return 'skipped';
      const streamId = recorded.streamId;
      let targets = members.filter((member) => member.prefixes.some((prefix) => streamId.startsWith(prefix)));
      // A redelivery (a retry for one projection): those that parked it are done with it.
      if (retries > 0) {
        const parked = await Promise.all(targets.map((member) => isParkedFor(store, member.projection.name, recorded.id)));
        targets = targets.filter((_, index) => !parked[index]);
      }
      const settled = await Promise.allSettled(targets.map((member) => member.apply(recorded)));
      let applied = false;
      let duplicates = 0;
      let retryWith: { error: unknown } | undefined;
      const parks: ParkRequest[] = [];
      for (const [index, result] of settled.entries()) {
        const member = targets[index]!;
        if (result.status === 'fulfilled') {
          if (result.value === 'applied') applied = true;
          else if (result.value === 'duplicate') duplicates++;
          count(member.projection.name, recorded.type, result.value === 'applied' ? 'handled' : result.value);
          continue;
        }
        const decision = await decide(member, recorded, result.reason, retries);
        if (decision.action === 'retry') {
          retryWith ??= { error: result.reason };
          continue;
        }
        logger.error({ err: result.reason, projection: member.projection.name, retries, reason: decision.reason }, 'projection failed: parking the event for it');
        parks.push({
          projection: member.projection.name,
          eventId: recorded.id,
          streamId,
          revision: Number(recorded.revision),
          eventType: recorded.type,
          commitPosition: recorded.position?.commit,
          reason: decision.reason,
        });
      }
      if (parks.length > 0) {
        await commits.write(async (tx) => {
          for (const park of parks) await parkForProjection(tx, park);
        });
        for (const park of parks) {
          count(park.projection, recorded.type, 'parked');
          defaults.metrics?.parked.inc({ group: groupName('projection', park.projection, defaults.groupPrefix) });
        }
      }
      // The group nacks it for a retry; the projections that applied it skip it next time.
      if (retryWith) throw retryWith.error;
      if (applied) return 'handled';
      return targets.length > 0 && duplicates === targets.length ? 'duplicate' : 'skipped';
    },
  };
}
