// Checkpoints live where EventStoreDB keeps them: the last event of
// `$persistentsubscription-<stream>::<group>-checkpoint` (a revision for a stream, "C:x/P:y"
// for $all). The stream keeps only its last two events ($maxCount), as EventStoreDB sets it.
import { randomUUID } from 'node:crypto';
import { METADATA_EVENT_TYPE, metadataStreamOf } from '../log/system-streams.js';
import type { EventLog } from '../log/types.js';
import type { EventSource } from './definition.js';

export const CHECKPOINT_EVENT_TYPE = '$SubscriptionCheckpoint';
const EMPTY = new Uint8Array(0);

export function readCheckpoint(log: EventLog, stream: string): number | undefined {
  const result = log.readStream(stream, { from: 'end', direction: 'backwards', maxCount: 1, resolveLinkTos: false });
  if (result.kind !== 'ok') return undefined;
  const event = result.events[0]?.event;
  if (!event) return undefined;
  return parseCheckpoint(Buffer.from(event.data).toString('utf8'));
}

export function parseCheckpoint(json: string): number | undefined {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  if (typeof value === 'string') {
    const match = /^C:(\d+)\/P:\d+$/.exec(value);
    if (match) return Number(match[1]);
  }
  return undefined;
}

export function formatCheckpoint(source: EventSource, key: number): string {
  return source.kind === 'all' ? JSON.stringify(`C:${key}/P:${key}`) : JSON.stringify(key);
}

export async function writeCheckpoint(log: EventLog, stream: string, source: EventSource, key: number): Promise<void> {
  if (log.streamRevision(stream) === undefined && log.streamRevision(metadataStreamOf(stream)) === undefined) {
    await log.append(metadataStreamOf(stream), 'any', [
      { id: randomUUID(), type: METADATA_EVENT_TYPE, contentType: 'application/json', data: Buffer.from('{"$maxCount":2}'), metadata: EMPTY },
    ]);
  }
  await log.append(stream, 'any', [
    { id: randomUUID(), type: CHECKPOINT_EVENT_TYPE, contentType: 'application/json', data: Buffer.from(formatCheckpoint(source, key)), metadata: EMPTY },
  ]);
}
