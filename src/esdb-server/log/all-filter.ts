// The filter of a read or a persistent group on $all, as one predicate: the log's own reads
// (sqlite-event-log.ts) and the groups' shared tail (persistent/shared-tail.ts) pick the same events.
import { EPOCH_INFORMATION_STREAM } from './genesis.js';
import type { AllFilter } from './types.js';

export function compileAllFilter(filter: AllFilter): (stream: string, type: string) => boolean {
  const { prefixes, regex } = filter;
  return (stream, type) => {
    if (hiddenFromFilteredAll(stream)) return false;
    const subject = filter.on === 'stream' ? stream : type;
    if (prefixes && prefixes.length > 0 && !prefixes.some((prefix) => subject.startsWith(prefix))) return false;
    if (regex && !regex.test(subject)) return false;
    return true;
  };
}

/**
 * EventStoreDB's DefaultAllFilter, applied under every filter on $all (and to persistent groups
 * on $all, which always filter): the epoch events and the $all groups' own checkpoints and parked
 * messages are never matched. User streams pass at once.
 */
function hiddenFromFilteredAll(stream: string): boolean {
  if (stream.charCodeAt(0) !== 36 /* $ */) return false;
  if (stream === EPOCH_INFORMATION_STREAM) return true;
  return stream.startsWith('$persistentsubscription-$all::') && (stream.endsWith('-checkpoint') || stream.endsWith('-parked'));
}
