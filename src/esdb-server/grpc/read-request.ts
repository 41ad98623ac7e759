// ReadReq options (used by reads and by catch-up subscriptions) parsed into plain values.
import type { AllFilter, Direction } from '../log/types.js';
import type { streamsPb } from './protocol.js';
import { parseRevision, parseUint64, streamNameOf, type UuidFormat } from './conversions.js';
import { invalidArgument } from './rpc-errors.js';

type ReadReq = InstanceType<typeof streamsPb.ReadReq>;
type FilterOptions = InstanceType<typeof streamsPb.ReadReq.Options.FilterOptions>;

export type ReadSource =
  | { kind: 'stream'; stream: string; from: number | 'start' | 'end' }
  | { kind: 'all'; from: number | 'start' | 'end' };

export interface ReadFilter {
  filter: AllFilter;
  /** A checkpoint is sent after this many scanned events (maxSearchWindow x multiplier). */
  checkpointInterval: number;
}

export interface ReadRequest {
  source: ReadSource;
  direction: Direction;
  resolveLinkTos: boolean;
  uuidFormat: UuidFormat;
  /** undefined for a subscription. */
  count: number | undefined;
  filter: ReadFilter | undefined;
}

/** EventStoreDB's search window when the client asks for the default (`count`). */
export const DEFAULT_MAX_SEARCH_WINDOW = 32;

export function parseReadRequest(request: ReadReq): ReadRequest {
  const options = request.getOptions();
  if (!options) throw invalidArgument('read options are required');
  const direction = options.getReadDirection() === 1 ? 'backwards' : 'forwards';
  const subscription = options.hasSubscription();
  if (!subscription && !options.hasCount()) throw invalidArgument('read needs a count or the subscription option');
  if (subscription && direction === 'backwards') throw invalidArgument('subscriptions read forwards only');
  const filter = options.hasFilter() ? parseFilter(options.getFilter()!) : undefined;
  const source = parseSource(options);
  if (filter && source.kind !== 'all') throw invalidArgument('filters apply to $all only');
  return {
    source,
    direction,
    resolveLinkTos: options.getResolveLinks(),
    uuidFormat: options.getUuidOption()?.hasStructured() ? 'structured' : 'string',
    count: subscription ? undefined : parseUint64(options.getCount(), 'count'),
    filter,
  };
}

function parseSource(options: InstanceType<typeof streamsPb.ReadReq.Options>): ReadSource {
  if (options.hasStream()) {
    const stream = options.getStream()!;
    const name = streamNameOf(stream.getStreamIdentifier());
    if (stream.hasRevision()) return { kind: 'stream', stream: name, from: parseRevision(stream.getRevision(), 'revision') };
    if (stream.hasEnd()) return { kind: 'stream', stream: name, from: 'end' };
    return { kind: 'stream', stream: name, from: 'start' };
  }
  if (options.hasAll()) {
    const all = options.getAll()!;
    if (all.hasPosition()) {
      // Commit and prepare positions are the same number in this store.
      return { kind: 'all', from: parseUint64(all.getPosition()!.getCommitPosition(), 'commit position') };
    }
    if (all.hasEnd()) return { kind: 'all', from: 'end' };
    return { kind: 'all', from: 'start' };
  }
  throw invalidArgument('read needs a stream or $all');
}

function parseFilter(options: FilterOptions): ReadFilter {
  const on = options.hasEventType() ? 'event_type' : options.hasStreamIdentifier() ? 'stream' : undefined;
  if (!on) throw invalidArgument('filter needs a stream identifier or an event type expression');
  const expression = on === 'event_type' ? options.getEventType()! : options.getStreamIdentifier()!;
  const filter: AllFilter = { on };
  const source = expression.getRegex();
  if (source) {
    try {
      filter.regex = new RegExp(source);
    } catch {
      throw invalidArgument(`filter regex is invalid: '${source}'`);
    }
  }
  // As EventStoreDB: a regex, when given, is the filter and the prefixes are ignored.
  const prefixes = expression.getPrefixList();
  if (!filter.regex && prefixes.length > 0) filter.prefixes = prefixes;
  if (!filter.regex && !filter.prefixes) throw invalidArgument('filter needs a regex or prefixes');
  const window = options.hasMax() ? options.getMax() : DEFAULT_MAX_SEARCH_WINDOW;
  if (window <= 0) throw invalidArgument('max search window must be greater than 0');
  const multiplier = options.getCheckpointintervalmultiplier();
  if (multiplier <= 0) throw invalidArgument('checkpoint interval multiplier must be greater than 0');
  return { filter, checkpointInterval: window * multiplier };
}
