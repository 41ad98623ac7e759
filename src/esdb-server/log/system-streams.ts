// The default system projections of EventStoreDB, kept as index tables instead of link events
// written into the log: $ce-<category>, $et-<type>, $bc-<correlationId>, $category-<category>
// and $streams. Each can be disabled: its streams then get no new links until it is enabled again.

export const LINK_EVENT_TYPE = '$>';
export const METADATA_EVENT_TYPE = '$metadata';

const LINK_STREAM_PREFIXES = ['$ce-', '$et-', '$bc-', '$category-'];

export function isSystemStream(stream: string): boolean {
  return stream.startsWith('$');
}

export function isMetadataStream(stream: string): boolean {
  return stream.startsWith('$$');
}

export function metadataStreamOf(stream: string): string {
  return `$$${stream}`;
}

/** True for the streams the system projections own (they hold link events only). */
export function isLinkStream(stream: string): boolean {
  return stream === '$streams' || LINK_STREAM_PREFIXES.some((prefix) => stream.startsWith(prefix));
}

/** Category as EventStoreDB's $by_category computes it: the stream name before the first '-'. */
export function categoryOf(stream: string): string | undefined {
  const dash = stream.indexOf('-');
  return dash > 0 ? stream.slice(0, dash) : undefined;
}

/** `$correlationId` from an event's JSON metadata, if it has one. */
export function correlationIdOf(metadata: Uint8Array): string | undefined {
  if (metadata.length === 0 || metadata.length > 65_536) return undefined;
  const text = Buffer.from(metadata.buffer, metadata.byteOffset, metadata.byteLength).toString('utf8');
  if (!text.includes('$correlationId')) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object' && '$correlationId' in parsed) {
      const value = (parsed as Record<string, unknown>).$correlationId;
      if (typeof value === 'string' && value.length > 0) return value;
    }
  } catch {
    // not JSON: no correlation id
  }
  return undefined;
}

/** The link streams an event written to `stream` at `revision` appears in. */
export function linkStreamsFor(stream: string, revision: number, type: string, metadata: Uint8Array): string[] {
  if (isSystemStream(stream)) return [];
  const links: string[] = [];
  const category = categoryOf(stream);
  if (category) links.push(`$ce-${category}`);
  if (!type.startsWith('$')) links.push(`$et-${type}`);
  const correlationId = correlationIdOf(metadata);
  if (correlationId) links.push(`$bc-${correlationId}`);
  if (revision === 0) links.push('$streams');
  return links;
}

/** The system projection that writes a link stream. */
export function systemProjectionOf(linkStream: string): string {
  if (linkStream.startsWith('$ce-')) return '$by_category';
  if (linkStream.startsWith('$et-')) return '$by_event_type';
  if (linkStream.startsWith('$bc-')) return '$by_correlation_id';
  if (linkStream.startsWith('$category-')) return '$stream_by_category';
  return '$streams';
}

/**
 * The link streams the running system projections (`enabled`) give an event: those of
 * linkStreamsFor, plus `$category-<category>` for a stream's first event ($stream_by_category).
 */
export function enabledLinkStreamsFor(stream: string, revision: number, type: string, metadata: Uint8Array, enabled: ReadonlySet<string>): string[] {
  const links = linkStreamsFor(stream, revision, type, metadata);
  if (revision === 0 && enabled.has('$stream_by_category') && !isSystemStream(stream)) {
    const category = categoryOf(stream);
    if (category) links.push(`$category-${category}`);
  }
  return enabled.size >= 5 ? links : links.filter((link) => enabled.has(systemProjectionOf(link)));
}
