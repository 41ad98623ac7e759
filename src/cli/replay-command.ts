// `orders replay <projection> [--until <ISO time | position>] [--dry-run]`: rebuilds a read model
// from the full history. The engine is src/replay/; this file is the terminal around it.
import { resolve } from 'node:path';
import { BACKWARDS, END, type EventStoreDBClient } from '@eventstore/db-client';
import { readModelFileIn } from '../readmodels/read-model-store.js';
import { projectionsGroupName } from '../subscriptions/group-settings.js';
import { groupDeliversAfter } from '../subscriptions/projection-migration.js';
import { loadRunnerOptions } from '../subscriptions/runner-config.js';
import { DEFAULT_RUNNER_OPTIONS } from '../subscriptions/runner.js';
import { LiveProjectionAheadError, replayProjection, type ReplayOutcome } from '../replay/replay-projection.js';
import { clientEventSource, type RebuildProgress } from '../replay/rebuild.js';
import { untilFileFor } from '../replay/replay-files.js';
import { untilSchemaFor } from '../replay/postgres-replay.js';
import { splitSchema } from '../readmodels/postgres-store.js';
import { MalformedUntilError, parseUntil, untilLabel, type ReplayUntil } from '../replay/until.js';
import { parseCommandArgs } from './args.js';
import { CliError } from './cli-error.js';
import { cliEnvironment } from './cli-environment.js';
import { createProgress, formatDuration, formatRate } from './progress.js';
import { replayableProjection } from './replayable.js';
import { withStore } from './store-connection.js';

const OUTBOX_VIEW = 'whatsapp-outbox';

const HELP = `Usage: orders replay <projection> [--until <ISO time | position>] [--out <file>] [--dry-run]

Rebuilds the projection's read model from the full history in the event store. The model is
built in a fresh copy and swapped into DATA_DIR/readmodels.db (or, with READ_MODEL_URL, from a
scratch schema into the live one) in one transaction at the end:
readers never see a half-built model, and a failed or interrupted replay (Ctrl-C, kill) leaves
the live model untouched. The projection's subscription carries on from where the replay
stopped: each order's events up to the replayed revision are skipped, later ones applied.

Options:
  --until <t|pos>  build the model as it was at an ISO 8601 time (when the store wrote the
                   events) or at a commit position (12345 or C:12345/P:12345), into a separate
                   file (DATA_DIR/replays/<projection>.until-<t|pos>.db; on PostgreSQL the schema
                   <schema>__until_<projection>_<t|pos>); never swapped in
  --out <file>     with --until: write the model to this file (PostgreSQL: this schema) instead
  --dry-run        rebuild and compare with the live model, change nothing
  -h, --help       this help

Progress (events/s, ETA) goes to stderr when it is a terminal; the summary to stdout.
Handlers are not projections and cannot be replayed. \`orders replay whatsapp-outbox\` rebuilds
the WhatsApp outbox view from its messages' ledger streams (as \`orders outbox rebuild\`).

Environment:
  ESDB_CONNECTION_STRING  the event store (default esdb://127.0.0.1:2113?tls=false)
  DATA_DIR                the read models' folder (default ./data)
  READ_MODEL_URL          postgres://...: the read models are in PostgreSQL instead`;

/** A projection name that is not one is a usage error (exit 2), like every other. */
function usageError<T>(check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (err instanceof CliError) throw new CliError(err.message, 2);
    throw err;
  }
}

export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, {
    options: { until: { type: 'string' }, out: { type: 'string' }, 'dry-run': { type: 'boolean' } },
    positionals: { min: 1, max: 1 },
    help: HELP,
  });
  if (!parsed) return 0;
  const { until: untilText, out, 'dry-run': dryRun } = parsed.values;
  let until: ReplayUntil | undefined;
  try {
    until = untilText === undefined ? undefined : parseUntil(untilText);
  } catch (err) {
    if (err instanceof MalformedUntilError) throw new CliError(err.message, 2);
    throw err;
  }
  if (dryRun && until) throw new CliError('--dry-run and --until do not combine: --until never touches the live model', 2);
  if (out !== undefined && !until) throw new CliError('--out only applies with --until', 2);
  // The WhatsApp outbox view is rebuilt from its ledger streams, not from the order history.
  if (parsed.positionals[0] === OUTBOX_VIEW) {
    if (untilText !== undefined || dryRun || out !== undefined) throw new CliError(`${OUTBOX_VIEW} is rebuilt whole from its ledger streams: --until, --out and --dry-run do not apply`, 2);
    return (await import('./outbox-command.js')).run(['rebuild']);
  }
  const projection = usageError(() => replayableProjection(parsed.positionals[0] ?? ''));
  const { connectionString, dataDir, readModelUrl } = cliEnvironment();
  if (!readModelUrl && out !== undefined && resolve(out) === readModelFileIn(dataDir)) throw new CliError('--out names the live read-model file: --until never writes there', 2);
  // On PostgreSQL the --until output is a schema next to the live one.
  let outTarget: string | undefined;
  if (until && readModelUrl) {
    const liveSchema = splitSchema(readModelUrl).schema;
    if (out !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(out)) throw new CliError(`--out names a schema on PostgreSQL (lower-case letters, digits and _), got '${out}'`, 2);
    if (out === liveSchema) throw new CliError(`--out names the live schema '${out}': --until never writes there`, 2);
    outTarget = out ?? untilSchemaFor(liveSchema, projection.name, untilLabel(until));
  } else if (until) {
    outTarget = out !== undefined ? resolve(out) : untilFileFor(dataDir, projection.name, untilLabel(until));
  }

  // The store is reached here first, so an unreachable one fails fast before any work starts.
  return withStore(connectionString, async ({ client }) => {
    const head = await headPosition(client);
    const end = until?.kind === 'position' && head !== undefined && until.position < head ? until.position : head;
    const progress = createProgress({ label: `replay ${projection.name}` });
    const abort = new AbortController();
    const interrupt = () => abort.abort();
    process.once('SIGINT', interrupt);
    process.once('SIGTERM', interrupt);
    const started = performance.now();
    let outcome: ReplayOutcome;
    try {
      outcome = await replayProjection({
        source: clientEventSource(client),
        projection,
        dataDir,
        readModelUrl,
        mode: until
          ? { kind: 'until', until, outFile: outTarget! }
          : dryRun
            ? { kind: 'dry-run' }
            : { kind: 'swap' },
        signal: abort.signal,
        groupDeliversAfter: (position) => groupDeliversAfter(client, subscriptionGroupPrefix(), position),
        onProgress: (step: RebuildProgress) => progress.update({ events: step.read, fraction: fractionOf(step.position, end) }),
      });
    } catch (err) {
      if (abort.signal.aborted) throw new CliError('replay interrupted: the live read model is unchanged', 130);
      if (err instanceof LiveProjectionAheadError) throw new CliError(err.message);
      throw new CliError(`replay of ${projection.name} failed, the live read model is unchanged: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      progress.finish();
      process.off('SIGINT', interrupt);
      process.off('SIGTERM', interrupt);
    }
    console.log(renderSummary(projection.name, outcome, performance.now() - started));
    return 0;
  });
}

async function headPosition(client: EventStoreDBClient): Promise<bigint | undefined> {
  let head: bigint | undefined;
  for await (const resolved of client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1 })) head = resolved.event?.position?.commit;
  return head;
}

function fractionOf(position: bigint | undefined, end: bigint | undefined): number {
  if (position === undefined || end === undefined || end <= 0n) return 0;
  return Math.min(1, Number(position) / Number(end));
}

/** As the workers name their groups; the default when the runner settings do not parse. */
function subscriptionGroupPrefix(): string {
  try {
    return loadRunnerOptions().groupPrefix;
  } catch {
    return DEFAULT_RUNNER_OPTIONS.groupPrefix;
  }
}

function count(value: number): string {
  return value.toLocaleString('en-US');
}

function renderSummary(name: string, outcome: ReplayOutcome, elapsedMs: number): string {
  const { counts, position, result } = outcome;
  const rate = elapsedMs > 0 ? (counts.read * 1000) / elapsedMs : 0;
  const upTo = position === undefined ? 'an empty history' : `position ${position}`;
  const lines = [
    `${name}: replayed ${count(counts.read)} events up to ${upTo} in ${formatDuration(elapsedMs)} (${formatRate(rate)} events/s)`,
    `  ${count(counts.orderEvents)} order events: ${count(counts.applied)} applied, ${count(counts.notHandled)} of types it does not handle, ${count(counts.refused)} refused`,
  ];
  for (const [reason, times] of outcome.refusedReasons) lines.push(`    refused ${count(times)}: ${reason}`);
  switch (result.kind) {
    case 'swapped': {
      const rows = Object.entries(result.rows).map(([table, n]) => `${table} ${count(n)} rows`).join(', ');
      if (result.setAside) lines.push(`  the live read model was damaged (${result.setAside.reason}): moved to ${result.setAside.movedTo}, a fresh one started; replay every other projection too`);
      lines.push(`  swapped into ${result.liveFile}: ${rows}`);
      const group = projectionsGroupName(subscriptionGroupPrefix());
      lines.push(
        result.member
          ? `  the live subscription ${group} carries on from there for ${name}: events the replay applied are skipped, later ones applied`
          : `  ${name} is not among the members of the live subscription ${group} (it has consumers, or has read past the replay): the workers' next start catches it up by reading $all once, skipping what the replay applied`,
      );
      break;
    }
    case 'dry-run':
      lines.push(`  dry run: the live read model (${result.liveFile}) is unchanged. The rebuilt model compared with it:`);
      for (const table of result.tables) {
        const note = table.note ? ` (${table.note})` : '';
        lines.push(
          `    ${table.table}: ${count(table.rebuiltRows)} rows rebuilt, ${count(table.liveRows)} live; ${count(table.onlyRebuilt)} new or changed, ${count(table.onlyLive)} gone or changed${note}`,
        );
      }
      break;
    case 'written':
      lines.push(`  written to ${result.file} (the live read model is unchanged)`);
      if (!result.reachedUntil) lines.push('  the history ends before --until: the model includes every event');
      break;
    default: {
      const _exhaustive: never = result;
      return _exhaustive;
    }
  }
  return lines.join('\n');
}
