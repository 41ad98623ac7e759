// What /ready answers, for the API and for a workers-only process alike: the event store
// answers a read, it can write (not refusing appends for a full disk), and the read model is
// intact and writable. The first that fails is the reason, as a problem code.
import type { EventStoreDBClient } from '@eventstore/db-client';
import { isEventStoreReachable } from '../eventstore/connection.js';
import { writeHealthOf } from '../eventstore/write-health.js';
import type { ReadModelHealth } from '../readmodels/read-model-health.js';

export interface NotReady {
  code: 'EVENT_STORE_UNAVAILABLE' | 'STORAGE_FULL' | 'READ_MODEL_UNAVAILABLE';
  detail: string;
  extensions: Record<string, unknown>;
}

/** Seconds a client is told to wait on STORAGE_FULL (Retry-After). */
export const STORAGE_FULL_RETRY_AFTER_SECONDS = 5;

export async function notReadyReason(client: EventStoreDBClient, readModel: ReadModelHealth | undefined): Promise<NotReady | undefined> {
  if (!(await isEventStoreReachable(client))) return { code: 'EVENT_STORE_UNAVAILABLE', detail: 'the event store did not answer a read', extensions: {} };
  const unwritable = await writeHealthOf(client).check(client);
  if (unwritable) {
    return {
      code: 'STORAGE_FULL',
      detail: `the event store cannot write: ${unwritable.reason}`,
      extensions: { component: 'event-store', since: new Date(unwritable.since).toISOString() },
    };
  }
  const fault = readModel?.fault;
  if (fault?.kind === 'full') {
    return { code: 'STORAGE_FULL', detail: fault.reason, extensions: { component: 'read-model', since: new Date(fault.since).toISOString() } };
  }
  if (fault) {
    return {
      code: 'READ_MODEL_UNAVAILABLE',
      detail: fault.kind === 'unreachable' ? fault.reason : `${fault.reason}; rebuild it with \`orders replay <projection>\``,
      extensions: { component: 'read-model', fault: fault.kind, since: new Date(fault.since).toISOString() },
    };
  }
  return undefined;
}
