// Stream ACLs on the secured store, through the official client acting as users created with
// the Users service: EventStoreDB's defaults, a stream's $acl, $settings, and the refusals as
// the client reports them (AccessDeniedError).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKWARDS, END, FORWARDS, jsonEvent, START, type EventStoreDBClient } from '@eventstore/db-client';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { adminUsersClient, anEvent, clientAs, createUser, outcome } from './acl-support.js';

let store: TestEventStore;
let alice: EventStoreDBClient;
let bob: EventStoreDBClient;
const clients: EventStoreDBClient[] = [];

beforeAll(async () => {
  store = await startTestEventStore({ secure: true });
  const users = adminUsersClient(store);
  await createUser(users, 'alice', 'alice-password', ['shop']);
  await createUser(users, 'bob', 'bob-password');
  users.close();
  alice = clientAs(store, 'alice', 'alice-password');
  bob = clientAs(store, 'bob', 'bob-password');
  clients.push(alice, bob);
});

afterAll(async () => {
  for (const client of clients) await client.dispose();
  await store?.close();
});

const stream = (prefix = 'order') => `${prefix}-${randomUUID()}`;
const readAllOf = async (client: EventStoreDBClient, name: string) => {
  const types: string[] = [];
  for await (const resolved of client.readStream(name, { direction: FORWARDS, fromRevision: START })) types.push(resolved.event!.type);
  return types;
};
/** Reads the last event of $all. */
const lastOfAll = async (client: EventStoreDBClient) => {
  // Read to the end: a read left early keeps the client's dispose() pending.
  const events = [];
  for await (const resolved of client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1 })) events.push(resolved);
  return events[0];
};
/** A catch-up subscription's first outcome: its first event, or the error it ends with. */
const firstOfSubscription = (subscription: AsyncIterable<unknown> & { unsubscribe(): Promise<void> }) =>
  outcome(async () => {
    for await (const _ of subscription) break;
  }).finally(() => subscription.unsubscribe());

describe('the default ACLs of a secured store', () => {
  it('lets a user created through the Users service write and read user streams, through BatchAppend and Append', async () => {
    const name = stream();
    await alice.appendToStream(name, anEvent('order.created'));
    // Per-call credentials make the client use Append instead of BatchAppend.
    await alice.appendToStream(name, anEvent('order.paid'), { credentials: { username: 'alice', password: 'alice-password' } });
    expect(await readAllOf(alice, name)).toEqual(['order.created', 'order.paid']);
    expect(await readAllOf(bob, name)).toEqual(['order.created', 'order.paid']);
    expect(await outcome(() => bob.getStreamMetadata(name))).toBe('ok');
  });

  it('refuses a plain user system streams and $all (reads, subscriptions, writes), and lets admin in', async () => {
    const name = stream();
    await alice.appendToStream(name, anEvent());
    expect(await outcome(() => readAllOf(alice, '$ce-order'))).toBe('AccessDeniedError');
    expect(await outcome(() => readAllOf(alice, '$settings'))).toBe('AccessDeniedError');
    expect(await outcome(() => readAllOf(alice, '$user-admin'))).toBe('AccessDeniedError');
    expect(await outcome(() => lastOfAll(alice))).toBe('AccessDeniedError');
    expect(await firstOfSubscription(alice.subscribeToAll({ fromPosition: START }))).toBe('AccessDeniedError');
    expect(await firstOfSubscription(alice.subscribeToStream('$ce-order', { fromRevision: START }))).toBe('AccessDeniedError');
    expect(await outcome(() => alice.appendToStream(`$sys-${randomUUID()}`, anEvent()))).toBe('AccessDeniedError');
    expect(await outcome(() => alice.appendToStream(`$sys-${randomUUID()}`, anEvent(), { credentials: { username: 'alice', password: 'alice-password' } }))).toBe('AccessDeniedError');
    expect(await outcome(() => alice.appendToStream('$settings', anEvent('$settings')))).toBe('AccessDeniedError');
    expect(await outcome(() => alice.setStreamMetadata('$ce-order', { maxCount: 1 }))).toBe('AccessDeniedError');
    // The admin the store made reads all of them.
    expect(await outcome(() => readAllOf(store.client, '$user-alice'))).toBe('ok');
    expect(await outcome(() => lastOfAll(store.client))).toBe('ok');
  });
});

describe("a stream's $acl", () => {
  it('restricts a stream to one user for reads, writes, deletes and metadata; others get AccessDeniedError and nothing is written', async () => {
    const name = stream();
    await store.client.appendToStream(name, anEvent('order.created'));
    await store.client.setStreamMetadata(name, { acl: { readRoles: ['alice'], writeRoles: ['alice'], deleteRoles: ['$admins'], metaReadRoles: ['alice'], metaWriteRoles: ['$admins'] } });

    expect(await outcome(() => readAllOf(bob, name))).toBe('AccessDeniedError');
    expect(await firstOfSubscription(bob.subscribeToStream(name, { fromRevision: START }))).toBe('AccessDeniedError');
    expect(await outcome(() => bob.appendToStream(name, anEvent('order.paid')))).toBe('AccessDeniedError');
    expect(await outcome(() => bob.appendToStream(name, anEvent('order.paid'), { credentials: { username: 'bob', password: 'bob-password' } }))).toBe('AccessDeniedError');
    expect(await outcome(() => bob.getStreamMetadata(name))).toBe('AccessDeniedError');

    await alice.appendToStream(name, anEvent('order.shipped'));
    expect(await readAllOf(alice, name)).toEqual(['order.created', 'order.shipped']);
    expect((await alice.getStreamMetadata(name)).metadata?.acl).toMatchObject({ readRoles: ['alice'] });

    // Deleting and changing metadata ($maxCount: 1 would hide the history) are for $admins here, alice included.
    for (const client of [alice, bob]) {
      expect(await outcome(() => client.setStreamMetadata(name, { maxCount: 1 }))).toBe('AccessDeniedError');
      expect(await outcome(() => client.deleteStream(name))).toBe('AccessDeniedError');
      expect(await outcome(() => client.tombstoneStream(name))).toBe('AccessDeniedError');
    }
    expect(await readAllOf(store.client, name)).toEqual(['order.created', 'order.shipped']);
    expect((await store.client.getStreamMetadata(name)).metadata?.maxCount).toBeUndefined();
  });

  it('names a group: its members are let in', async () => {
    const name = stream();
    await store.client.setStreamMetadata(name, { acl: { readRoles: ['shop'], writeRoles: ['shop'] } });
    await alice.appendToStream(name, anEvent());
    expect(await outcome(() => bob.appendToStream(name, anEvent()))).toBe('AccessDeniedError');
    expect(await readAllOf(alice, name)).toHaveLength(1);
  });
});

describe('$settings', () => {
  it('changes the defaults of every stream without its own $acl, and only $admins may write it', async () => {
    const before = stream('invoice');
    await bob.appendToStream(before, anEvent());
    const ownAcl = stream('invoice');
    await store.client.setStreamMetadata(ownAcl, { acl: { writeRoles: ['$all'] } });

    await store.client.appendToStream(
      '$settings',
      jsonEvent({ type: '$settings', data: { $userStreamAcl: { $r: '$all', $w: ['alice'], $d: '$admins', $mr: '$admins', $mw: '$admins' }, $systemStreamAcl: { $r: ['$admins', 'alice'] } } }),
    );
    try {
      expect(await outcome(() => bob.appendToStream(stream('invoice'), anEvent()))).toBe('AccessDeniedError');
      expect(await outcome(() => bob.appendToStream(before, anEvent()))).toBe('AccessDeniedError');
      expect(await outcome(() => bob.deleteStream(before))).toBe('AccessDeniedError');
      expect(await outcome(() => bob.appendToStream(ownAcl, anEvent()))).toBe('ok');
      expect(await outcome(() => alice.appendToStream(stream('invoice'), anEvent()))).toBe('ok');
      expect(await outcome(() => readAllOf(bob, before))).toBe('ok');
      // $systemStreamAcl opened system-stream reads to alice, so $all too; writes stay $admins'.
      expect(await outcome(() => lastOfAll(alice))).toBe('ok');
      expect(await outcome(() => lastOfAll(bob))).toBe('AccessDeniedError');
      expect(await outcome(() => alice.appendToStream(`$sys-${randomUUID()}`, anEvent()))).toBe('AccessDeniedError');
      expect(await outcome(() => alice.appendToStream('$settings', anEvent('$settings')))).toBe('AccessDeniedError');
    } finally {
      await store.client.appendToStream('$settings', jsonEvent({ type: '$settings', data: {} }));
    }
    expect(await outcome(() => bob.appendToStream(stream('invoice'), anEvent()))).toBe('ok');
  });
});
