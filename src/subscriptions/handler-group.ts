// Turns a handler declaration into the processing of its subscription group: skip what it
// already handled, parse the event, run the handler, record the event as handled (in the
// handler's own transaction when it writes, else right after). The record made after a handler
// that wrote nothing, or whose last-step writes went through `record`, shares the runner's commit
// of the turn (shared-commit.ts); the event counts as handled (and is acked) only once that
// commit is done.
import type { EventStoreDBClient } from '@eventstore/db-client';
import { inContext } from '../observability/trace-api.js';
import type { EnvelopeParser } from '../readmodels/envelope-cache.js';
import { toEventEnvelope } from '../readmodels/event-envelope.js';
import { recordHandled, wasHandled } from '../readmodels/handled-events.js';
import type { ReadModelStore, ReadModelTx } from '../readmodels/read-model-store.js';
import { emitReaction } from './emit.js';
import { sharedCommit, type SharedCommit } from './shared-commit.js';
import type { GroupSpec } from './group-consumer.js';
import { groupName, handlerFilter } from './group-settings.js';
import type { HandlerContext, HandlerDefinition } from './handler.js';
import type { RetryPolicy } from './retry-policy.js';

/** Thrown inside the handler's transaction when another worker recorded the event first. */
class AlreadyHandled extends Error {}

export interface HandlerGroupDefaults {
  timeoutMs: number;
  maxInFlight: number;
  retry: RetryPolicy;
  groupPrefix?: string;
  /** Shared by the groups of one runner, so each event is parsed once for all of them. */
  envelopes?: EnvelopeParser;
  /** Shared by the groups of one runner: one commit per turn of the event loop for all of them. */
  commits?: SharedCommit;
}

export function handlerGroupSpec(
  definition: HandlerDefinition,
  deps: { client: EventStoreDBClient; store: ReadModelStore },
  defaults: HandlerGroupDefaults,
): GroupSpec {
  const { name, handles, handler, options = {} } = definition;
  const { client, store } = deps;
  const parse = defaults.envelopes ?? toEventEnvelope;
  const commits = defaults.commits ?? sharedCommit(store);
  return {
    group: groupName('handler', name, defaults.groupPrefix),
    label: name,
    filter: handlerFilter(handles),
    maxInFlight: options.maxInFlight ?? defaults.maxInFlight,
    // An order's messages go out in its events' order, across retries and timeouts (stream-lanes.ts).
    inStreamOrder: true,
    timeoutMs: options.timeoutMs ?? defaults.timeoutMs,
    retry: { ...defaults.retry, ...(options.maxRetries !== undefined ? { maxRetries: options.maxRetries } : {}) },
    async process({ event, retries, signal, logger, traceContext }) {
      const recorded = event.event;
      // A prefix filter can match a longer type name than the handler asked for.
      if (!recorded || !(handles as readonly string[]).includes(recorded.type)) return 'skipped';
      if (await wasHandled(store, name, recorded.id)) {
        logger.debug('already handled: acking the redelivery');
        return 'duplicate';
      }
      const envelope = parse(recorded);
      let recordedInTransaction = false;
      let deferred: ((tx: ReadModelTx) => Promise<void> | void) | undefined;
      const context: HandlerContext = {
        handler: name,
        signal,
        logger,
        attempt: retries + 1,
        store,
        client,
        traceContext,
        async transaction(fn) {
          signal.throwIfAborted();
          // Committed before it resolves: a handler may record its intent here before an effect.
          // Recorded first: on PostgreSQL another worker's record of the same event makes this
          // insert wait for its commit, then change nothing (the effect is not made twice).
          return store.transaction(async (tx) => {
            if (!(await recordHandled(tx, name, envelope.id, new Date()))) throw new AlreadyHandled();
            const result = await fn(tx);
            recordedInTransaction = true;
            return result;
          });
        },
        record(fn) {
          signal.throwIfAborted();
          if (deferred || recordedInTransaction) throw new Error(`handler '${name}' wrote twice for one event: call transaction or record once, as the last step`);
          deferred = fn;
        },
        async emit(stream, events) {
          signal.throwIfAborted();
          logger.debug({ stream, types: events.map((emitted) => emitted.type) }, 'emitting');
          await inContext(traceContext, () => emitReaction(client, name, envelope, stream, events));
        },
      };
      try {
        logger.debug('handler started');
        // In the delivery's trace context (what the handler calls before its first `await` sees it).
        await inContext(traceContext, () => handler.handle(envelope, context));
      } catch (error) {
        if (error instanceof AlreadyHandled) return 'duplicate';
        throw error;
      }
      signal.throwIfAborted();
      if (deferred) {
        const write = deferred;
        try {
          await commits.write(async (tx) => {
            if (!(await recordHandled(tx, name, envelope.id, new Date()))) throw new AlreadyHandled();
            await write(tx);
          });
        } catch (error) {
          if (error instanceof AlreadyHandled) return 'duplicate';
          throw error;
        }
      } else if (!recordedInTransaction) await commits.write((tx) => recordHandled(tx, name, envelope.id, new Date()));
      logger.debug('handler finished');
      return 'handled';
    },
  };
}
