// The UI's pages: each turns a request's parsed parameters into the data of one template.
// Everything shown goes through the templates' escaping; URLs are built here, encoded.
import type { EventLog } from '../log/types.js';
import type { EventSource } from '../persistent/definition.js';
import { parkedTruncateBefore } from '../persistent/parked-messages.js';
import type { SubscriptionGroup } from '../persistent/subscription-group.js';
import type { SubscriptionRegistry } from '../persistent/subscription-registry.js';
import { groupFigures, type GroupFigures } from './group-figures.js';
import { describePayload, type Payload } from './payload.js';
import type { StoreMetrics } from './store-metrics.js';
import {
  createdMs,
  parseJsonObject,
  readCorrelation,
  readEvent,
  readStreamPage,
  recentlyChangedStreams,
  recentlyCreatedStreams,
  searchStreams,
  summarise,
  type EventSummary,
} from './store-view.js';
import { buildTraceRows, handlingAnnotations, type GroupHandling } from './trace-tree.js';
import { projectionViews } from './system-projections.js';

export interface UiContext {
  log: EventLog;
  groups: SubscriptionRegistry;
  metrics: StoreMetrics;
  startedAt: number;
  version: string;
}

export type PageResult =
  | { kind: 'page'; status: number; template: string; data: Record<string, unknown> }
  | { kind: 'redirect'; location: string };

export const PAGE_SIZE = 50;
/** Events of one correlation drawn as a tree at most. */
export const TRACE_CAP = 5_000;
const PARKED_SHOWN = 100;

const enc = encodeURIComponent;

export const helpers = {
  streamUrl: (stream: string, from?: number) => `/ui/streams/${enc(stream)}${from !== undefined ? `?from=${from}` : ''}`,
  eventUrl: (stream: string, revision: number) => `/ui/streams/${enc(stream)}/${revision}`,
  traceUrl: (correlationId: string) => `/ui/trace/${enc(correlationId)}`,
  groupUrl: (source: string, group: string) => `/ui/subscriptions/${enc(source)}/${enc(group)}`,
  time: (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString().replace('T', ' ').replace('Z', '') : ''),
  num: (value: number) => value.toLocaleString('en-US'),
  rate: (value: number) => (value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(1)),
  ms: (value: number) => (value < 1_000 ? `${Math.round(value)} ms` : `${(value / 1000).toFixed(value < 10_000 ? 2 : 1)} s`),
  bytes: (value: number) => (value < 1024 ? `${value} B` : value < 1024 * 1024 ? `${(value / 1024).toFixed(1)} KB` : `${(value / 1024 / 1024).toFixed(1)} MB`),
  duration: (ms: number) => {
    const s = Math.floor(ms / 1000);
    const parts = [Math.floor(s / 86_400) && `${Math.floor(s / 86_400)}d`, Math.floor((s % 86_400) / 3600) && `${Math.floor((s % 86_400) / 3600)}h`, `${Math.floor((s % 3600) / 60)}m`, `${s % 60}s`];
    return parts.filter(Boolean).join(' ');
  },
};

const page = (template: string, title: string, nav: string, data: Record<string, unknown>, status = 200): PageResult => ({
  kind: 'page',
  status,
  template,
  data: { title, nav, h: helpers, ...data },
});

export const errorPage = (status: number, title: string, message: string): PageResult => page('@error', title, '', { message }, status);

export function dashboardPage(context: UiContext): PageResult {
  const groups = context.groups.list();
  let consumers = 0;
  let parked = 0;
  for (const group of groups) {
    const figures = groupFigures(group, context.log);
    consumers += figures.connections;
    parked += figures.parked;
  }
  return page('@dashboard', 'Dashboard', 'dashboard', {
    events: Math.max(0, context.log.headPosition()),
    rates: context.metrics.rates(),
    writerQueue: context.metrics.writerQueue(),
    subscriptions: context.metrics.catchUpSubscriptions(),
    groups: groups.length,
    consumers,
    parked,
    uptimeMs: Date.now() - context.startedAt,
    version: context.version,
  });
}

export function streamsPage(context: UiContext, query: string | undefined): PageResult {
  const search = query !== undefined && query.length > 0 ? searchStreams(context.log, query, 50) : undefined;
  return page('@streams', 'Streams', 'streams', {
    query: search ? query : undefined,
    results: search?.streams.map((stream) => ({ stream })) ?? [],
    complete: search?.complete ?? true,
    created: recentlyCreatedStreams(context.log, 20),
    changed: recentlyChangedStreams(context.log, 20),
  });
}

export function streamPage(context: UiContext, stream: string, from: number | undefined): PageResult {
  const result = readStreamPage(context.log, stream, from ?? 'end', PAGE_SIZE);
  if (result === 'not_found') return errorPage(404, stream, `Stream '${stream}' has no events (it does not exist or was deleted).`);
  if (result === 'deleted') return errorPage(410, stream, `Stream '${stream}' was tombstoned: it can never be read or written again.`);
  return page('@stream', stream, 'streams', { page: result, linkStream: result.events.some((event) => event.linkRevision !== undefined) });
}

export function eventPage(context: UiContext, stream: string, revision: number, full: boolean): PageResult {
  const detail = readEvent(context.log, stream, revision);
  if (detail === 'not_found') return errorPage(404, `${revision}@${stream}`, `Stream '${stream}' has no event ${revision}.`);
  if (detail === 'deleted') return errorPage(410, stream, `Stream '${stream}' was tombstoned.`);
  const event = detail.event;
  const show = (bytes: Uint8Array, contentType: string): Payload => describePayload(bytes, contentType, { full });
  return page('@event', `${detail.summary.type} ${revision}@${stream}`, 'streams', {
    detail,
    ownStream: stream,
    ownRevision: revision,
    data: event ? show(event.data, event.contentType) : detail.link ? show(detail.link.data, 'text/plain') : undefined,
    metadata: event ? show(event.metadata, 'application/json') : undefined,
    linkMetadata: detail.link && detail.link.metadata.length > 0 ? show(detail.link.metadata, 'application/json') : undefined,
    fullUrl: `${helpers.eventUrl(stream, revision)}?full=1`,
  });
}

export function tracePage(context: UiContext, correlationId: string | undefined): PageResult {
  if (correlationId === undefined) return page('@trace', 'Trace', 'trace', { correlationId: undefined, rows: undefined });
  const { events, truncated } = readCorrelation(context.log, correlationId, TRACE_CAP);
  const inputs = events.map((event) => {
    const metadata = parseJsonObject(event.metadata);
    const causationId = metadata?.$causationId;
    return {
      id: event.id,
      causationId: typeof causationId === 'string' && causationId.length > 0 ? causationId : undefined,
      createdMs: createdMs(event),
      stream: event.stream,
      revision: event.revision,
      type: event.type,
    };
  });
  const rows = buildTraceRows(inputs);
  // Beside each event, how each persistent group handled it (the store's recent deliveries).
  const groups = context.groups.list();
  const now = Date.now();
  for (const row of rows) {
    if (row.kind !== 'event') continue;
    const handlings: GroupHandling[] = [];
    for (const group of groups) {
      const record = group.deliveries.get(row.event.id);
      if (record) handlings.push({ group: group.definition.group, ...record });
    }
    row.annotations.push(...handlingAnnotations(row.event.createdMs, handlings, now));
  }
  return page('@trace', `Trace ${correlationId}`, 'trace', {
    correlationId,
    rows,
    deliveryLogCapacity: groups[0]?.deliveries.capacity,
    count: events.length,
    truncated,
    streamCount: new Set(events.map((event) => event.stream)).size,
  });
}

export function groupsPage(context: UiContext, notice: string | undefined): PageResult {
  const groups = context.groups
    .list()
    .map((group) => groupFigures(group, context.log))
    .sort((a, b) => a.source.localeCompare(b.source) || a.group.localeCompare(b.group));
  return page('@groups', 'Persistent subscriptions', 'subscriptions', { groups, notice });
}

export function findGroup(context: UiContext, source: string, group: string): SubscriptionGroup | undefined {
  const eventSource: EventSource = source === '$all' ? { kind: 'all' } : { kind: 'stream', stream: source };
  return context.groups.find(eventSource, group);
}

export function groupPage(context: UiContext, group: SubscriptionGroup, notice: string | undefined): PageResult {
  const figures = groupFigures(group, context.log);
  const { parked, more } = readParkedMessages(context.log, figures);
  return page('@group', `${figures.group} on ${figures.source}`, 'subscriptions', { g: figures, parked, moreParked: more, notice });
}

interface ParkedView {
  target: string;
  event: EventSummary | undefined;
  added: string | undefined;
  reason: string | undefined;
  data: Payload | undefined;
  metadata: Payload | undefined;
}

function readParkedMessages(log: EventLog, figures: GroupFigures): { parked: ParkedView[]; more: boolean } {
  if (figures.parked === 0) return { parked: [], more: false };
  const from = parkedTruncateBefore(log, figures.parkedStream);
  const result = log.readStream(figures.parkedStream, { from, direction: 'forwards', maxCount: PARKED_SHOWN + 1, resolveLinkTos: true });
  if (result.kind !== 'ok') return { parked: [], more: false };
  const parked = result.events.slice(0, PARKED_SHOWN).map((resolved): ParkedView => {
    const link = resolved.link ?? resolved.event!;
    const linkMetadata = parseJsonObject(link.metadata);
    const event = resolved.link ? resolved.event : undefined;
    const preview = { full: false, previewChars: 2_000 };
    return {
      target: Buffer.from(link.data).toString('utf8'),
      event: event ? summarise({ event, position: event.position }, false) : undefined,
      added: typeof linkMetadata?.Added === 'string' ? linkMetadata.Added : undefined,
      reason: typeof linkMetadata?.Reason === 'string' ? linkMetadata.Reason : undefined,
      data: event ? describePayload(event.data, event.contentType, preview) : undefined,
      metadata: event ? describePayload(event.metadata, 'application/json', preview) : undefined,
    };
  });
  return { parked, more: result.events.length > PARKED_SHOWN };
}

export function projectionsPage(context: UiContext): PageResult {
  return page('@projections', 'Projections', 'projections', {
    projections: projectionViews(context.log),
    note: 'The system projections ($ce-, $et-, $bc-, $streams) are indexes written in the same transaction as the events: a running one is always at the head of $all.',
  });
}
