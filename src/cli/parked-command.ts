// `orders parked <group> [--replay] [--stop-at N]`: what a persistent subscription group gave up
// on (parked after its retries), with the reason it was parked, and the way to hand it back.
import { FORWARDS, START, StreamNotFoundError, type EventStoreDBClient, type RecordedEvent } from '@eventstore/db-client';
import { parseCommandArgs, parseCount } from './args.js';
import { CliError } from './cli-error.js';
import { cliEnvironment } from './cli-environment.js';
import { findGroup, parkedStreamOf, type PersistentSubscriptionInfo } from './subscription-groups.js';
import { withStore } from './store-connection.js';

const HELP = `Usage: orders parked <group> [--stream <stream>] [--replay] [--stop-at N] [--json]

Lists the events the persistent subscription group parked (stream
$persistentsubscription-<stream>::<group>-parked): for each, its number in the parked stream,
when and why it was parked, and the event it points at.

Options:
  --replay          ask the server to deliver the parked events to the group again
  --stop-at N       with --replay: replay only the parked events numbered below N
  --stream <name>   the group's stream, when groups of that name exist on several streams
  --json            the list as a JSON array
  -h, --help        this help

Environment:
  ESDB_CONNECTION_STRING  the event store (default esdb://127.0.0.1:2113?tls=false)`;

export interface ParkedEvent {
  /** Number of the parked entry in the parked stream (what --stop-at compares against). */
  parkedNumber: number;
  parkedAt: string | undefined;
  reason: string | undefined;
  stream: string | undefined;
  revision: number | undefined;
  type: string | undefined;
  eventId: string | undefined;
}

export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, {
    options: { replay: { type: 'boolean' }, 'stop-at': { type: 'string' }, stream: { type: 'string' }, json: { type: 'boolean' } },
    positionals: { min: 1, max: 1 },
    help: HELP,
  });
  if (!parsed) return 0;
  const group = parsed.positionals[0] ?? '';
  const stopAtText = parsed.values['stop-at'];
  const stopAt = stopAtText === undefined ? undefined : parseCount(stopAtText, '--stop-at');
  if (stopAt !== undefined && !parsed.values.replay) throw new CliError('--stop-at only makes sense with --replay', 2);
  const { connectionString } = cliEnvironment();

  return withStore(connectionString, async ({ client }) => {
    const info = await findGroup(client, group, parsed.values.stream);
    const parked = await readParked(client, info);
    if (parsed.values.json && !parsed.values.replay) {
      console.log(JSON.stringify(parked, null, 2));
      return 0;
    }
    console.log(renderParked(info, parked));
    if (parsed.values.replay) {
      const chosen = stopAt === undefined ? parked : parked.filter((entry) => entry.parkedNumber < stopAt);
      await requestReplay(client, info, stopAt);
      console.log(`replay of ${chosen.length} parked event${chosen.length === 1 ? '' : 's'} requested for group ${info.groupName}`);
    }
    return 0;
  });
}

export async function readParked(client: EventStoreDBClient, info: PersistentSubscriptionInfo): Promise<ParkedEvent[]> {
  const parked: ParkedEvent[] = [];
  try {
    for await (const resolved of client.readStream(parkedStreamOf(info), { direction: FORWARDS, fromRevision: START, resolveLinkTos: true })) {
      // Resolved, `link` is the parked entry and `event` what it points at (gone if deleted since).
      const entry = resolved.link ?? resolved.event;
      if (!entry) continue;
      const metadata = typeof entry.metadata === 'object' && entry.metadata !== null && !(entry.metadata instanceof Uint8Array) ? (entry.metadata as Record<string, unknown>) : {};
      const points = pointer(entry.data);
      const target = resolved.link ? resolved.event : points && (await readOne(client, points.stream, points.revision));
      parked.push({
        parkedNumber: Number(entry.revision),
        parkedAt: stringOf(metadata.Added ?? metadata.added),
        reason: stringOf(metadata.Reason ?? metadata.reason),
        stream: target?.streamId ?? points?.stream,
        revision: target ? Number(target.revision) : points?.revision,
        type: target?.type,
        eventId: target?.id,
      });
    }
  } catch (err) {
    if (!(err instanceof StreamNotFoundError)) throw err;
  }
  return parked;
}

/** A store that does not resolve links outside its system streams still gets each event shown. */
async function readOne(client: EventStoreDBClient, stream: string, revision: number): Promise<RecordedEvent | undefined> {
  let found: RecordedEvent | undefined;
  try {
    for await (const resolved of client.readStream(stream, { direction: FORWARDS, fromRevision: BigInt(revision), maxCount: 1 })) {
      if (resolved.event?.revision === BigInt(revision)) found = resolved.event;
    }
  } catch (err) {
    if (!(err instanceof StreamNotFoundError)) throw err;
  }
  return found;
}

async function requestReplay(client: EventStoreDBClient, info: PersistentSubscriptionInfo, stopAt: number | undefined): Promise<void> {
  const options = stopAt === undefined ? {} : { stopAt };
  if (info.eventSource === '$all') await client.replayParkedMessagesToAll(info.groupName, options);
  else await client.replayParkedMessagesToStream(info.eventSource, info.groupName, options);
}

function renderParked(info: PersistentSubscriptionInfo, parked: ParkedEvent[]): string {
  const lines = [`group ${info.groupName} on ${info.eventSource}: ${parked.length} parked event${parked.length === 1 ? '' : 's'}`];
  for (const entry of parked) {
    const what = entry.stream === undefined ? '(event no longer exists)' : `${entry.stream}@${entry.revision}${entry.type ? ` ${entry.type}` : ' (event no longer exists)'}`;
    lines.push(`#${entry.parkedNumber}  ${entry.parkedAt ?? '-'}  ${what}${entry.eventId ? `  id ${entry.eventId}` : ''}`);
    // EventStoreDB prefixes the consumer's reason with a line of its own.
    lines.push(`    reason: ${entry.reason?.replace(/\s*\n\s*/g, ' ') ?? '(none given)'}`);
  }
  return lines.join('\n');
}

/** A link's data is `<revision>@<stream>`. */
function pointer(data: unknown): { stream: string; revision: number } | undefined {
  const text = data instanceof Uint8Array ? Buffer.from(data).toString('utf8') : typeof data === 'string' ? data : undefined;
  if (!text) return undefined;
  const at = text.indexOf('@');
  const revision = Number(text.slice(0, at));
  return at > 0 && Number.isSafeInteger(revision) ? { stream: text.slice(at + 1), revision } : undefined;
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}
