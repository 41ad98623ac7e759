// Group definitions are kept as EventStoreDB keeps them: the whole list, rewritten as one event
// in `$persistentSubscriptionConfig` on every create/update/delete; the last event wins.
import { randomUUID } from 'node:crypto';
import type { EventLog } from '../log/types.js';
import type { GroupDefinition } from './definition.js';

export const CONFIG_STREAM = '$persistentSubscriptionConfig';
export const CONFIG_EVENT_TYPE = '$PersistentConfig';

interface StoredConfig {
  version: number;
  updated: string;
  updatedBy: string;
  entries: GroupDefinition[];
}

export function loadDefinitions(log: EventLog): GroupDefinition[] {
  const result = log.readStream(CONFIG_STREAM, { from: 'end', direction: 'backwards', maxCount: 1, resolveLinkTos: false });
  if (result.kind !== 'ok') return [];
  const event = result.events[0]?.event;
  if (!event) return [];
  const config = JSON.parse(Buffer.from(event.data).toString('utf8')) as StoredConfig;
  return Array.isArray(config.entries) ? config.entries : [];
}

export async function saveDefinitions(log: EventLog, definitions: GroupDefinition[]): Promise<void> {
  const config: StoredConfig = { version: 2, updated: new Date().toISOString(), updatedBy: '$system', entries: definitions };
  const result = await log.append(CONFIG_STREAM, 'any', [
    { id: randomUUID(), type: CONFIG_EVENT_TYPE, contentType: 'application/json', data: Buffer.from(JSON.stringify(config)), metadata: new Uint8Array(0) },
  ]);
  if (result.kind !== 'success') throw new Error('could not save persistent subscription definitions');
}
