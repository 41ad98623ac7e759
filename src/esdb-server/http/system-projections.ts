// EventStoreDB's system projections as the embedded store runs them: index tables written in the
// same transaction as the events ($ce-, $et-, $bc-, $streams), so each is always at the head of
// $all. `$stream_by_category` is not run here.
import type { EventLog } from '../log/types.js';

export interface ProjectionView {
  name: string;
  status: 'Running' | 'Stopped';
  /** Position in $all the projection has processed; undefined when it does not run. */
  position: number | undefined;
  writes: string;
}

export function systemProjections(log: EventLog): ProjectionView[] {
  const head = log.headPosition();
  const at = head < 0 ? 0 : head;
  return [
    { name: '$by_category', status: 'Running', position: at, writes: '$ce-<category> (stream name before the first -)' },
    { name: '$by_correlation_id', status: 'Running', position: at, writes: '$bc-<$correlationId of the metadata>' },
    { name: '$by_event_type', status: 'Running', position: at, writes: '$et-<event type>' },
    { name: '$stream_by_category', status: 'Stopped', position: undefined, writes: '$category-<category> (not run by the embedded store)' },
    { name: '$streams', status: 'Running', position: at, writes: `$streams (${(log.streamRevision('$streams') ?? -1) + 1} streams)` },
  ];
}
