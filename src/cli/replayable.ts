// Which names `orders replay` accepts: projections only. Handlers react once to each event;
// those that reach the outside world would repeat what they did (messages sent twice).
import { findProjection, projections } from '../../projections/index.js';
import { createHandlers } from '../handlers/index.js';
import type { ProjectionDefinition } from '../readmodels/projection.js';
import type { HandlerDefinition } from '../subscriptions/handler.js';
import { CliError } from './cli-error.js';

/** What each side-effect handler would do again if its history were replayed. */
const SIDE_EFFECTS: Readonly<Record<string, string>> = {
  notification: 'it requests customer notifications',
  whatsapp: 'it sends WhatsApp messages to customers',
};

export function projectionNames(): string[] {
  return projections.map((projection) => projection.name);
}

/** The shipped handlers' declarations, for their names and event types; never run from here. */
export function handlerDefinitions(): HandlerDefinition[] {
  // Declaring a handler does nothing; the WhatsApp one still gets the harmless outbox mode.
  const config = { whatsapp: { mode: 'outbox' as const, baseUrl: 'http://127.0.0.1', token: undefined, phoneNumberId: undefined, language: 'en_US' } };
  return createHandlers(config);
}

export function replayableProjection(name: string): ProjectionDefinition {
  const projection = findProjection(name);
  if (projection) return projection;
  const known = `projections: ${projectionNames().join(', ')}`;
  const sideEffect = SIDE_EFFECTS[name];
  if (sideEffect) {
    throw new CliError(`'${name}' is a handler with side effects (${sideEffect}): replaying it would do that again, so it cannot be replayed (${known})`);
  }
  if (handlerDefinitions().some((handler) => handler.name === name)) {
    throw new CliError(`'${name}' is a handler, not a projection: handlers react once to each event and are not replayed (${known})`);
  }
  throw new CliError(`unknown projection '${name}' (${known})`);
}
