// Which events of $all a projection's query selects, decided on the server thread so the
// projection's thread is sent only what it handles. Selecting a link stream ($ce-, $et-, $bc-,
// $category-, $streams) selects the events linked there, delivered resolved (as EventStoreDB
// does without $includeLinks).
import { categoryOf, correlationIdOf, isMetadataStream, isSystemStream, LINK_EVENT_TYPE, METADATA_EVENT_TYPE } from '../log/system-streams.js';
import type { RecordedEvent } from '../log/types.js';
import type { SourceDefinition } from './wire.js';

export type Selection = { kind: 'skip' } | { kind: 'event' } | { kind: 'deleted'; stream: string };

const SKIP: Selection = { kind: 'skip' };
const EVENT: Selection = { kind: 'event' };

export function sourceFilter(definition: SourceDefinition, isDeleted: (stream: string) => boolean): (event: RecordedEvent) => Selection {
  const streams = new Set<string>();
  const categories = new Set(definition.categories);
  const types = new Set<string>();
  const correlations = new Set<string>();
  const firstEventCategories = new Set<string>();
  let firstEvents = false;
  for (const stream of definition.streams) {
    if (stream.startsWith('$ce-')) categories.add(stream.slice(4));
    else if (stream.startsWith('$et-')) types.add(stream.slice(4));
    else if (stream.startsWith('$bc-')) correlations.add(stream.slice(4));
    else if (stream.startsWith('$category-')) firstEventCategories.add(stream.slice(10));
    else if (stream === '$streams') firstEvents = true;
    else streams.add(stream);
  }
  const handled = definition.types ? new Set(definition.types) : undefined;

  const selects = (event: RecordedEvent, stream: string): boolean => {
    if (definition.all) return !stream.startsWith('$projections-');
    if (streams.has(stream)) return true;
    if (isSystemStream(stream)) return false;
    const category = categoryOf(stream);
    if (category !== undefined && categories.has(category)) return true;
    if (types.has(event.type)) return true;
    if (event.revision === 0 && (firstEvents || (category !== undefined && firstEventCategories.has(category)))) return true;
    if (correlations.size > 0) {
      const correlationId = correlationIdOf(event.metadata);
      if (correlationId !== undefined && correlations.has(correlationId)) return true;
    }
    return false;
  };

  return (event) => {
    if (isMetadataStream(event.stream)) {
      if (!definition.handlesDeleted || event.type !== METADATA_EVENT_TYPE) return SKIP;
      const target = event.stream.slice(2);
      if (!Buffer.from(event.data).includes('"$tb"') || !isDeleted(target)) return SKIP;
      return selects({ ...event, stream: target }, target) ? { kind: 'deleted', stream: target } : SKIP;
    }
    if (event.type === LINK_EVENT_TYPE && !definition.includeLinks) return SKIP;
    if (handled && !handled.has(event.type)) return SKIP;
    return selects(event, event.stream) ? EVENT : SKIP;
  };
}
