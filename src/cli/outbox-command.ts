// `orders outbox`: every WhatsApp message with its state, and the operator's decisions on the
// ones the service would not decide alone: resend one the provider may never have received, or
// settle one as sent / failed. The list is the outbox view in the read-model database under
// DATA_DIR; decisions are appended to the message's ledger stream in the event store (the truth,
// whatever became of the view), then shown in the view. `rebuild` makes the view again from the
// ledger streams (also `orders replay whatsapp-outbox`).
import type { EventStoreDBClient } from '@eventstore/db-client';
import { DEFAULT_UNCERTAIN_WAIT_MS, loadHandlerConfig, type WhatsAppConfig } from '../handlers/handler-config.js';
import { attemptSend } from '../handlers/whatsapp-attempt.js';
import { cloudApiSender } from '../handlers/whatsapp-cloud-api.js';
import { findMessageStream } from '../handlers/whatsapp-find.js';
import { WhatsAppLedgerError, type WhatsAppMessage } from '../handlers/whatsapp-ledger.js';
import { whatsappMessageKey } from '../handlers/whatsapp-ledger-events.js';
import { decideOnLedger, loadMessage, type LedgerWriter } from '../handlers/whatsapp-ledger-store.js';
import { ensureOutboxSchema, findByEvent, listOutbox, OUTBOX_STATES, refreshOutboxRow, type OutboxMessage, type OutboxState } from '../handlers/whatsapp-outbox.js';
import { rebuildOutboxView } from '../handlers/whatsapp-outbox-rebuild.js';
import type { ReadModelLocation, ReadModelStore } from '../readmodels/read-model-store.js';
import { missingReadModels, openReadModelsForCli, readModelsExist } from './read-models.js';
import { parseCommandArgs, parseCount } from './args.js';
import { CliError } from './cli-error.js';
import { cliEnvironment } from './cli-environment.js';
import { withStore } from './store-connection.js';

const OPERATOR: LedgerWriter = { actor: 'operator:cli' };

const HELP = `Usage: orders outbox [--status S] [--tenant T] [--order O] [--limit N] [--json]
       orders outbox resend <id> [--force]
       orders outbox settle <id> --sent|--failed [--note TEXT] [--force]
       orders outbox rebuild

Lists the WhatsApp messages the service produced, newest first, with their state:
  queued     kept in the outbox (WHATSAPP_MODE=outbox), sent nowhere
  sending    an attempt is in flight
  sent / delivered / read   accepted by the provider / its status webhooks
  unsent     the provider declined it (retried by the handler, or resend it)
  failed     the provider refused it, or reported it undeliverable
  uncertain  an attempt may have reached the provider: never resent automatically

resend <id>  sends an unsent, failed or uncertain message again, through the Cloud API
             configured by WHATSAPP_* (it may reach the customer twice if the first attempt
             did arrive: that is the operator's decision). An uncertain message waits
             WHATSAPP_UNCERTAIN_WAIT_SECONDS (900) for the provider's status webhook first.
settle <id>  records the outcome you checked yourself (--sent or --failed), same wait.
rebuild      makes the list again from the messages' ledger streams in the event store (after
             the read-model file was lost or damaged; \`orders replay whatsapp-outbox\` does too).

<id> is the number the list shows, or the message key (<tenantId>-<messageId>). Each message's
ledger (the record that keeps it from being sent twice) is its stream whatsapp-<key> in the
event store: decisions are appended there, so they hold whatever becomes of the list.

Options:
  --force      act on an uncertain message before the wait is over
  --json       the list (or the message acted on) as JSON
  -h, --help   this help

Environment: DATA_DIR (./data), ESDB_CONNECTION_STRING, WHATSAPP_MODE, WHATSAPP_BASE_URL, WHATSAPP_TOKEN,
WHATSAPP_PHONE_NUMBER_ID, WHATSAPP_UNCERTAIN_WAIT_SECONDS`;

export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, {
    options: {
      status: { type: 'string' },
      tenant: { type: 'string' },
      order: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean' },
      force: { type: 'boolean' },
      sent: { type: 'boolean' },
      failed: { type: 'boolean' },
      note: { type: 'string' },
    },
    positionals: { min: 0, max: 2 },
    help: HELP,
  });
  if (!parsed) return 0;
  const [action, idText] = parsed.positionals;
  const { values } = parsed;
  if (action !== undefined && action !== 'resend' && action !== 'settle' && action !== 'rebuild') throw new CliError(`unknown outbox action '${action}' (resend, settle or rebuild; see --help)`, 2);
  if (action === 'rebuild') {
    if (idText !== undefined) throw new CliError('rebuild takes no id', 2);
    return rebuild();
  }
  if (action && idText === undefined) throw new CliError(`${action} needs the message id (see \`orders outbox\`)`, 2);
  const ref = action && idText !== undefined ? messageRef(idText) : undefined;
  const config = whatsappConfig();
  if (action === 'resend') return resend(config, ref!, Boolean(values.force), Boolean(values.json));
  if (action === 'settle') return settle(config, ref!, values, Boolean(values.json));
  if (values.force || values.sent || values.failed || values.note) throw new CliError('--force, --sent, --failed and --note go with resend or settle (see --help)', 2);
  const status = values.status;
  if (status !== undefined && !(OUTBOX_STATES as readonly string[]).includes(status)) throw new CliError(`--status must be one of ${OUTBOX_STATES.join(', ')}, got '${status}'`, 2);
  const limit = values.limit === undefined ? 100 : parseCount(values.limit, '--limit');
  const store = await openStore();
  try {
    const messages = await listOutbox(store, values.tenant, {
      limit: Math.max(1, limit),
      ...(status ? { status: status as OutboxState } : {}),
      ...(values.order ? { orderId: values.order } : {}),
    });
    if (values.json) console.log(JSON.stringify(messages, null, 2));
    else console.log(renderList(messages, waitOf(config)));
    return 0;
  } finally {
    await store.close();
  }
}

interface Ref {
  text: string;
  viewId?: number;
  key?: string;
}

function messageRef(text: string): Ref {
  if (/^\d+$/.test(text)) return { text, viewId: parseCount(text, 'the message id') };
  if (/-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(text)) return { text, key: text };
  throw new CliError(`the message id must be the number \`orders outbox\` lists or a message key <tenantId>-<messageId>, got '${text}'`, 2);
}

/** The message's stream and its ledger state, with the event store connected for `work`. */
async function withMessage<T>(ref: Ref, work: (found: { client: EventStoreDBClient; view: ReadModelStore | undefined; stream: string; label: string; message: WhatsAppMessage }) => Promise<T>): Promise<T> {
  const { connectionString, dataDir, readModelUrl } = cliEnvironment();
  const location = { dataDir, readModelUrl };
  const view = (await readModelsExist(location)) ? await openReadModelsForCli(location) : undefined;
  try {
    if (view) await ensureOutboxSchema(view);
    if (ref.viewId !== undefined && !view) throw new CliError(`${missingReadModels(location)}: ${pointAt(location)}, or give the message key`);
    return await withStore(connectionString, async ({ client }) => {
      const found = await findMessageStream(client, view, ref, OPERATOR);
      const missing = `no WhatsApp message with id ${ref.text} (see \`orders outbox\`)`;
      if (!found) throw new CliError(missing);
      const loaded = await loadMessage(client, found.stream);
      if (!loaded.state) throw new CliError(missing);
      return work({ client, view, stream: found.stream, label: ref.text, message: loaded.state });
    });
  } finally {
    await view?.close();
  }
}

async function rebuild(): Promise<number> {
  const { connectionString } = cliEnvironment();
  const store = await openStore();
  try {
    return await withStore(connectionString, async ({ client }) => {
      const result = await rebuildOutboxView(client, store);
      console.log(`whatsapp-outbox: rebuilt from ${result.streams} ledger streams (${result.events} events) into ${store.location}`);
      return 0;
    });
  } finally {
    await store.close();
  }
}

async function resend(config: WhatsAppConfig, ref: Ref, force: boolean, json: boolean): Promise<number> {
  if (config.mode !== 'cloud-api' || !config.token || !config.phoneNumberId) {
    throw new CliError('resend sends through the Cloud API: set WHATSAPP_MODE=cloud-api, WHATSAPP_TOKEN and WHATSAPP_PHONE_NUMBER_ID as for the service');
  }
  const sender = cloudApiSender({ baseUrl: config.baseUrl, token: config.token, phoneNumberId: config.phoneNumberId });
  return withMessage(ref, async ({ client, view, stream, label, message }) => {
    refuseEarly(label, message, waitOf(config), force, 'resend');
    const claim = await decide(label, () => decideOnLedger(client, stream, { type: 'Resend', at: new Date() }, OPERATOR));
    if (view) await refreshOutboxRow(view, claim.state, claim.revision);
    const attempt = claim.state!.attempts;
    const outcome = await attemptSend({ client, store: view }, sender, { ...claim, state: claim.state! }, attempt, AbortSignal.timeout(30_000), OPERATOR);
    const after = outcome.ledger.state!;
    if (json) console.log(JSON.stringify(await shown(view, after), null, 2));
    if (outcome.status === 'sent') {
      if (!json) console.log(`message ${label} sent on operator request (attempt ${attempt}, ${outcome.providerMessageId})`);
      return 0;
    }
    throw new CliError(`message ${label} is now ${after.status}: ${outcome.reason}`);
  });
}

async function settle(config: WhatsAppConfig, ref: Ref, values: { sent?: boolean; failed?: boolean; note?: string; force?: boolean }, json: boolean): Promise<number> {
  if (Boolean(values.sent) === Boolean(values.failed)) throw new CliError('settle needs exactly one of --sent or --failed', 2);
  const status = values.sent ? 'sent' : 'failed';
  return withMessage(ref, async ({ client, view, stream, label, message }) => {
    if (!['uncertain', 'sending', 'unsent', 'failed', 'sent'].includes(message.status)) throw new CliError(`message ${label} is ${message.status}: ${whyNot(message.status)}`);
    refuseEarly(label, message, waitOf(config), Boolean(values.force), 'settle');
    const note = values.note ?? `settled as ${status} by an operator`;
    const decided = await decide(label, () => decideOnLedger(client, stream, { type: 'Settle', status, note, at: new Date() }, OPERATOR));
    if (view) await refreshOutboxRow(view, decided.state, decided.revision);
    if (json) console.log(JSON.stringify(await shown(view, decided.state!), null, 2));
    else console.log(`message ${label} settled as ${status} (was ${message.status})`);
    return 0;
  });
}

/** A refusal of the decider (the message moved meanwhile) as the CLI's one line. */
async function decide<T>(label: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof WhatsAppLedgerError && error.details.status) throw new CliError(`message ${label} is ${error.details.status}: ${whyNot(error.details.status)}`);
    throw error;
  }
}

/** The view's row when it has one (with its id), else the ledger's state. */
async function shown(view: ReadModelStore | undefined, message: WhatsAppMessage): Promise<unknown> {
  const row = view ? await findByEvent(view, message.messageId) : undefined;
  return row ?? { ...message, key: whatsappMessageKey(message.tenantId, message.messageId) };
}

function refuseEarly(label: string, message: WhatsAppMessage, waitMs: number, force: boolean, verb: string): void {
  if (force || (message.status !== 'uncertain' && message.status !== 'sending')) return;
  const readyAt = Date.parse(message.updatedAt) + waitMs;
  if (Date.now() >= readyAt) return;
  throw new CliError(
    `message ${label} is ${message.status} since ${message.updatedAt}: the provider's status webhook may still settle it; ${verb} after ${new Date(readyAt).toISOString()} or pass --force`,
  );
}

function whyNot(status: OutboxState): string {
  switch (status) {
    case 'sent':
    case 'delivered':
    case 'read':
      return 'the provider already accepted it';
    case 'queued':
      return 'it is kept in the outbox (WHATSAPP_MODE=outbox) and sent nowhere';
    case 'sending':
      return 'an attempt is in flight (wait for it, or settle it)';
    default:
      return 'nothing to do';
  }
}

function whatsappConfig(): WhatsAppConfig {
  try {
    return loadHandlerConfig(process.env).whatsapp;
  } catch (error) {
    throw new CliError(error instanceof Error ? error.message : String(error), 2);
  }
}

function waitOf(config: WhatsAppConfig): number {
  return config.uncertainWaitMs ?? DEFAULT_UNCERTAIN_WAIT_MS;
}

async function openStore(): Promise<ReadModelStore> {
  const { dataDir, readModelUrl } = cliEnvironment();
  const location = { dataDir, readModelUrl };
  if (!(await readModelsExist(location))) throw new CliError(`${missingReadModels(location)}: ${pointAt(location)}`);
  const store = await openReadModelsForCli(location);
  try {
    await ensureOutboxSchema(store);
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}

function pointAt(location: ReadModelLocation): string {
  return location.readModelUrl ? "set READ_MODEL_URL to the service's" : "set DATA_DIR to the service's data directory (or READ_MODEL_URL)";
}

function renderList(messages: OutboxMessage[], waitMs: number): string {
  if (messages.length === 0) return 'no WhatsApp messages';
  const now = Date.now();
  const rows = messages.map((message) => {
    let note = message.lastError ?? '';
    if (message.status === 'uncertain') {
      const readyAt = Date.parse(message.updatedAt) + waitMs;
      note = `${now >= readyAt ? 'needs a decision: resend or settle' : `waiting for the provider's webhook until ${new Date(readyAt).toISOString()}`}; ${note}`;
    }
    return [String(message.id), message.status, String(message.attempts), message.tenantId, message.orderId, message.template, masked(message.recipient), message.updatedAt, note];
  });
  const header = ['id', 'state', 'attempts', 'tenant', 'order', 'template', 'to', 'updated', 'note'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** Phone numbers stay out of terminals and tickets: `--json` has them whole. */
function masked(recipient: string): string {
  return recipient.length > 4 ? `${'•'.repeat(recipient.length - 4)}${recipient.slice(-4)}` : recipient;
}
