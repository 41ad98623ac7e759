// `orders trace <correlationId>`: every event that carries the correlation id, in every stream,
// drawn as the tree of which command or event caused which. Read from the `$bc-<id>` stream that
// EventStoreDB's $by_correlation_id projection keeps.
import { FORWARDS, START, StreamNotFoundError, type EventStoreDBClient } from '@eventstore/db-client';
import { parseCommandArgs } from './args.js';
import { buildCausationTree, type CommandNode, type EventNode } from './causation-tree.js';
import { CliError } from './cli-error.js';
import { cliEnvironment } from './cli-environment.js';
import { describeOrderEvent } from './describe-order-event.js';
import { decodeRecordedEvent, type DecodedEvent } from './recorded-order-event.js';
import { withStore } from './store-connection.js';
import { tenantCorrelationId } from '../api/plugins/correlation.js';

const HELP = `Usage: orders trace <correlationId> [--tenant <tenantId>] [--json]

Prints every event, in every stream, whose metadata carries $correlationId <correlationId>, in
the order they were written, as a causation tree: each event under the command that produced it,
and a command issued in reaction to an event under that event. Reads $bc-<correlationId>.

The API scopes a request's x-correlation-id to its tenant: its events carry
<tenantId>:<x-correlation-id>. Give that, or the id the client sent with --tenant.

Options:
  --tenant <id>  the tenant whose request sent <correlationId> (reads $bc-<tenantId>:<correlationId>)
  --json         one JSON array of the events in order, each with its causation id
  -h, --help     this help

Environment:
  ESDB_CONNECTION_STRING  the event store (default esdb://127.0.0.1:2113?tls=false)`;

export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, { options: { json: { type: 'boolean' }, tenant: { type: 'string' } }, positionals: { min: 1, max: 1 }, help: HELP });
  if (!parsed) return 0;
  const given = parsed.positionals[0] ?? '';
  if (given.trim() === '') throw new CliError('the correlation id is empty', 2);
  const tenant = parsed.values.tenant;
  if (tenant !== undefined && !/^[A-Za-z0-9_.-]+$/.test(tenant)) throw new CliError(`'${tenant}' is not a tenant id`, 2);
  const correlationId = tenant === undefined ? given : tenantCorrelationId(tenant, given);
  const { connectionString } = cliEnvironment();
  const events = await withStore(connectionString, ({ client }) => readCorrelation(client, correlationId));
  if (parsed.values.json) console.log(JSON.stringify(events.map(toJson), null, 2));
  else console.log(renderTrace(correlationId, events));
  return 0;
}

async function readCorrelation(client: EventStoreDBClient, correlationId: string): Promise<DecodedEvent[]> {
  const events: DecodedEvent[] = [];
  try {
    const stream = client.readStream(`$bc-${correlationId}`, { direction: FORWARDS, fromRevision: START, resolveLinkTos: true });
    for await (const resolved of stream) {
      // A link whose event was deleted resolves to nothing: there is nothing left to show.
      if (resolved.event && resolved.event.type !== '$>') events.push(decodeRecordedEvent(resolved.event));
    }
  } catch (err) {
    if (!(err instanceof StreamNotFoundError)) throw err;
  }
  if (events.length === 0) {
    const hint = correlationId.includes(':') ? '' : " (the API keeps a tenant's ids as <tenantId>:<id>: give --tenant)";
    throw new CliError(`no events carry correlation id '${correlationId}'${hint}`);
  }
  return events;
}

function renderTrace(correlationId: string, events: DecodedEvent[]): string {
  const streams = new Set(events.map((event) => event.stream));
  const lines = [`correlation ${correlationId}: ${events.length} event${events.length === 1 ? '' : 's'} in ${streams.size} stream${streams.size === 1 ? '' : 's'}`];
  const roots = buildCausationTree(events);
  roots.forEach((root) => renderNode(root, '', '', lines));
  return lines.join('\n');
}

type Node = CommandNode<DecodedEvent> | EventNode<DecodedEvent>;

function renderNode(node: Node, firstPrefix: string, restPrefix: string, lines: string[]): void {
  lines.push(firstPrefix + label(node));
  node.children.forEach((child, index) => {
    const last = index === node.children.length - 1;
    renderNode(child, restPrefix + (last ? '└─ ' : '├─ '), restPrefix + (last ? '   ' : '│  '), lines);
  });
}

function label(node: Node): string {
  if (node.kind === 'command') {
    const cause = node.causedBy ? ` (caused by ${node.causedBy})` : '';
    return `command ${node.commandId}${cause}`;
  }
  const { event } = node;
  const time = event.orderEvent?.data.occurredAt ?? event.recordedAt.toISOString();
  const detail = event.orderEvent ? describeOrderEvent(event.orderEvent) : (event.invalid ?? compactData(event.data));
  return `${event.type}  ${event.stream}@${event.revision}  ${time}  id ${event.id}${detail ? `  ${detail}` : ''}`;
}

/** Another service's event (e.g. a notification): its data on one short line. */
function compactData(data: unknown): string {
  if (data === undefined || data instanceof Uint8Array) return '';
  const text = JSON.stringify(data);
  return text.length > 100 ? `${text.slice(0, 99)}…` : text;
}

function toJson(event: DecodedEvent) {
  return {
    eventId: event.id,
    stream: event.stream,
    revision: Number(event.revision),
    position: event.position?.toString(),
    type: event.type,
    occurredAt: event.orderEvent?.data.occurredAt,
    recordedAt: event.recordedAt.toISOString(),
    correlationId: event.correlationId,
    causationId: event.causationId,
    commandId: event.commandId,
    data: event.orderEvent?.data ?? event.data,
  };
}
