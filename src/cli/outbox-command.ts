// `orders outbox`: every WhatsApp message with its state, and the operator's decisions on the
// ones the service would not decide alone: resend one the provider may never have received, or
// settle one as sent / failed. Works on the read-model database under DATA_DIR.
import { existsSync } from 'node:fs';
import { DEFAULT_UNCERTAIN_WAIT_MS, loadHandlerConfig, type WhatsAppConfig } from '../handlers/handler-config.js';
import { attemptSend } from '../handlers/whatsapp-attempt.js';
import { cloudApiSender } from '../handlers/whatsapp-cloud-api.js';
import { claimResend, ensureOutboxSchema, findById, listOutbox, OUTBOX_STATES, settleByOperator, type OutboxMessage, type OutboxState } from '../handlers/whatsapp-outbox.js';
import { readModelFileIn, type ReadModelStore } from '../readmodels/read-model-store.js';
import { openReadModelsForCli } from './read-models.js';
import { parseCommandArgs, parseCount } from './args.js';
import { CliError } from './cli-error.js';
import { cliEnvironment } from './cli-environment.js';

const HELP = `Usage: orders outbox [--status S] [--tenant T] [--order O] [--limit N] [--json]
       orders outbox resend <id> [--force]
       orders outbox settle <id> --sent|--failed [--note TEXT] [--force]

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

Options:
  --force      act on an uncertain message before the wait is over
  --json       the list (or the message acted on) as JSON
  -h, --help   this help

Environment: DATA_DIR (./data), WHATSAPP_MODE, WHATSAPP_BASE_URL, WHATSAPP_TOKEN,
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
  if (action !== undefined && action !== 'resend' && action !== 'settle') throw new CliError(`unknown outbox action '${action}' (resend or settle; see --help)`, 2);
  if (action && idText === undefined) throw new CliError(`${action} needs the message id (see \`orders outbox\`)`, 2);
  const id = idText === undefined ? undefined : parseCount(idText, 'the message id');
  const config = whatsappConfig();
  const store = await openStore();
  try {
    if (action === 'resend') return await resend(store, config, id!, Boolean(values.force), Boolean(values.json));
    if (action === 'settle') return await settle(store, config, id!, values, Boolean(values.json));
    if (values.force || values.sent || values.failed || values.note) throw new CliError('--force, --sent, --failed and --note go with resend or settle (see --help)', 2);
    const status = values.status;
    if (status !== undefined && !(OUTBOX_STATES as readonly string[]).includes(status)) throw new CliError(`--status must be one of ${OUTBOX_STATES.join(', ')}, got '${status}'`, 2);
    const limit = values.limit === undefined ? 100 : parseCount(values.limit, '--limit');
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

async function resend(store: ReadModelStore, config: WhatsAppConfig, id: number, force: boolean, json: boolean): Promise<number> {
  if (config.mode !== 'cloud-api' || !config.token || !config.phoneNumberId) {
    throw new CliError('resend sends through the Cloud API: set WHATSAPP_MODE=cloud-api, WHATSAPP_TOKEN and WHATSAPP_PHONE_NUMBER_ID as for the service');
  }
  const before = await mustFind(store, id);
  refuseEarly(before, waitOf(config), force, 'resend');
  const claim = await claimResend(store, id, new Date());
  if (!claim.claimed) throw new CliError(`message ${id} is ${claim.message.status}: ${whyNot(claim.message.status)}`);
  const sender = cloudApiSender({ baseUrl: config.baseUrl, token: config.token, phoneNumberId: config.phoneNumberId });
  const outcome = await attemptSend(store, sender, claim.message, claim.attempt, AbortSignal.timeout(30_000));
  const after = (await findById(store, id))!;
  if (json) console.log(JSON.stringify(after, null, 2));
  if (outcome.status === 'sent') {
    if (!json) console.log(`message ${id} sent on operator request (attempt ${claim.attempt}, ${outcome.providerMessageId})`);
    return 0;
  }
  throw new CliError(`message ${id} is now ${after.status}: ${outcome.reason}`);
}

async function settle(store: ReadModelStore, config: WhatsAppConfig, id: number, values: { sent?: boolean; failed?: boolean; note?: string; force?: boolean }, json: boolean): Promise<number> {
  if (Boolean(values.sent) === Boolean(values.failed)) throw new CliError('settle needs exactly one of --sent or --failed', 2);
  const before = await mustFind(store, id);
  if (!['uncertain', 'sending', 'unsent', 'failed', 'sent'].includes(before.status)) throw new CliError(`message ${id} is ${before.status}: ${whyNot(before.status)}`);
  refuseEarly(before, waitOf(config), Boolean(values.force), 'settle');
  const status = values.sent ? 'sent' : 'failed';
  const after = (await store.transaction((tx) => settleByOperator(tx, id, status, values.note ?? `settled as ${status} by an operator`, new Date())))!;
  if (json) console.log(JSON.stringify(after, null, 2));
  else console.log(`message ${id} settled as ${status} (was ${before.status})`);
  return 0;
}

function refuseEarly(message: OutboxMessage, waitMs: number, force: boolean, verb: string): void {
  if (force || (message.status !== 'uncertain' && message.status !== 'sending')) return;
  const readyAt = Date.parse(message.updatedAt) + waitMs;
  if (Date.now() >= readyAt) return;
  throw new CliError(
    `message ${message.id} is ${message.status} since ${message.updatedAt}: the provider's status webhook may still settle it; ${verb} after ${new Date(readyAt).toISOString()} or pass --force`,
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

async function mustFind(store: ReadModelStore, id: number): Promise<OutboxMessage> {
  const message = await findById(store, id);
  if (!message) throw new CliError(`no WhatsApp message with id ${id} (see \`orders outbox\`)`);
  return message;
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
  const file = readModelFileIn(dataDir);
  if (!readModelUrl && !existsSync(file)) throw new CliError(`no read-model database at ${file}: set DATA_DIR to the service's data directory (or READ_MODEL_URL)`);
  const store = await openReadModelsForCli({ dataDir, readModelUrl });
  await ensureOutboxSchema(store);
  return store;
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
