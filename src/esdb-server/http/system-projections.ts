// The projections the Projections page lists: the server's own listing (system and user
// projections, with status and position) from src/esdb-server/projections/; should that not
// answer, EventStoreDB's system projections as the log keeps them (index tables written in the
// same transaction as the events, so at the head of $all).
import type { EventLog } from '../log/types.js';
import { listProjections } from '../projections/index.js';

export interface ProjectionView {
  name: string;
  mode: string;
  status: string;
  reason: string;
  /** Position in $all the projection has processed; undefined when unknown. */
  position: number | undefined;
  /** Percent of $all caught up with. */
  progress: number | undefined;
}

export function projectionViews(log: EventLog): ProjectionView[] {
  try {
    return listProjections(log).map((summary) => ({
      name: summary.name,
      mode: summary.mode,
      status: summary.status,
      reason: summary.reason,
      position: summary.position,
      progress: summary.progress,
    }));
  } catch {
    const head = Math.max(0, log.headPosition());
    return ['$by_category', '$by_correlation_id', '$by_event_type', '$stream_by_category', '$streams'].map((name) => ({
      name,
      mode: 'System',
      status: 'Running',
      reason: '',
      position: head,
      progress: 100,
    }));
  }
}
