// Finding persistent subscription groups by name, as operators know them (the group name), and
// the system streams EventStoreDB keeps for each.
import type { EventStoreDBClient, PersistentSubscriptionToAllInfo, PersistentSubscriptionToStreamInfo } from '@eventstore/db-client';

export type PersistentSubscriptionInfo = PersistentSubscriptionToAllInfo | PersistentSubscriptionToStreamInfo;
import { CliError } from './cli-error.js';

export function parkedStreamOf(info: Pick<PersistentSubscriptionInfo, 'eventSource' | 'groupName'>): string {
  return `$persistentsubscription-${info.eventSource}::${info.groupName}-parked`;
}

export async function listGroups(client: EventStoreDBClient): Promise<PersistentSubscriptionInfo[]> {
  return client.listAllPersistentSubscriptions();
}

/** The group called `group`, or `<prefix>.<group>` (on `stream`, when several streams have one by that name). */
export async function findGroup(client: EventStoreDBClient, group: string, stream?: string): Promise<PersistentSubscriptionInfo> {
  const all = await listGroups(client);
  const onStream = all.filter((info) => stream === undefined || info.eventSource === stream);
  // The service names its groups `order-store.<kind>.<name>`: the short name is enough.
  let named = onStream.filter((info) => info.groupName === group);
  if (named.length === 0) named = onStream.filter((info) => info.groupName.endsWith(`.${group}`));
  if (named.length === 1) return named[0]!;
  if (named.length === 0) {
    const known = [...new Set(all.map((info) => info.groupName))].sort();
    const where = stream === undefined ? '' : ` on ${stream}`;
    throw new CliError(`unknown subscription group '${group}'${where} (known: ${known.length ? known.join(', ') : 'none'})`);
  }
  const names = named.map((info) => `${info.groupName} on ${info.eventSource}`).join(', ');
  throw new CliError(`'${group}' matches several groups (${names}); give the full group name, or --stream`, 2);
}
