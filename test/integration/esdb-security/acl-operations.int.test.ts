// Server operations on the secured store: persistent subscription management is for $ops and
// $admins, consuming a group needs read access to its stream, projections are managed by $ops and
// $admins; a plain user gets AccessDeniedError and nothing changes.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { persistentSubscriptionToStreamSettingsFromDefaults, type EventStoreDBClient } from '@eventstore/db-client';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { adminUsersClient, anEvent, clientAs, createUser, outcome } from './acl-support.js';

let store: TestEventStore;
let plain: EventStoreDBClient;
let operator: EventStoreDBClient;
const clients: EventStoreDBClient[] = [];

beforeAll(async () => {
  store = await startTestEventStore({ secure: true });
  const users = adminUsersClient(store);
  await createUser(users, 'carol', 'carol-password');
  await createUser(users, 'oscar', 'oscar-password', ['$ops']);
  users.close();
  plain = clientAs(store, 'carol', 'carol-password');
  operator = clientAs(store, 'oscar', 'oscar-password');
  clients.push(plain, operator);
});

afterAll(async () => {
  for (const client of clients) await client.dispose();
  await store?.close();
});

const settings = persistentSubscriptionToStreamSettingsFromDefaults();
const groupNames = async (client: EventStoreDBClient, stream: string) => (await client.listPersistentSubscriptionsToStream(stream)).map((group) => group.groupName);

describe('persistent subscriptions on a secured store', () => {
  it('refuses a plain user creating, updating, deleting, replaying parked and restarting, and changes nothing', async () => {
    const stream = `order-${randomUUID()}`;
    await store.client.appendToStream(stream, anEvent());
    await store.client.createPersistentSubscriptionToStream(stream, 'workers', settings);

    expect(await outcome(() => plain.createPersistentSubscriptionToStream(stream, 'intruder', settings))).toBe('AccessDeniedError');
    expect(await outcome(() => plain.createPersistentSubscriptionToAll('intruder', { ...settings, startFrom: 'start' } as never))).toBe('AccessDeniedError');
    expect(await outcome(() => plain.updatePersistentSubscriptionToStream(stream, 'workers', { ...settings, maxRetryCount: 0 }))).toBe('AccessDeniedError');
    expect(await outcome(() => plain.deletePersistentSubscriptionToStream(stream, 'workers'))).toBe('AccessDeniedError');
    expect(await outcome(() => plain.replayParkedMessagesToStream(stream, 'workers'))).toBe('AccessDeniedError');
    expect(await outcome(() => plain.restartPersistentSubscriptionSubsystem())).toBe('AccessDeniedError');

    expect(await groupNames(store.client, stream)).toEqual(['workers']);
    expect((await store.client.getPersistentSubscriptionToStreamInfo(stream, 'workers')).settings.maxRetryCount).toBe(settings.maxRetryCount);
    // Statistics are for any authenticated user, as on EventStoreDB.
    expect(await groupNames(plain, stream)).toEqual(['workers']);
  });

  it('lets $ops manage groups', async () => {
    const stream = `order-${randomUUID()}`;
    await operator.createPersistentSubscriptionToStream(stream, 'ops-made', settings);
    await operator.updatePersistentSubscriptionToStream(stream, 'ops-made', { ...settings, maxRetryCount: 3 });
    await operator.replayParkedMessagesToStream(stream, 'ops-made');
    expect((await store.client.getPersistentSubscriptionToStreamInfo(stream, 'ops-made')).settings.maxRetryCount).toBe(3);
    await operator.deletePersistentSubscriptionToStream(stream, 'ops-made');
    expect(await outcome(() => store.client.getPersistentSubscriptionToStreamInfo(stream, 'ops-made'))).toBe('PersistentSubscriptionDoesNotExistError');
  });

  it('lets a user consume a group on a stream it may read, and refuses one on a stream it may not', async () => {
    const open = `order-${randomUUID()}`;
    const closed = `order-${randomUUID()}`;
    await store.client.appendToStream(open, anEvent('order.created'));
    await store.client.appendToStream(closed, anEvent('order.created'));
    await store.client.setStreamMetadata(closed, { acl: { readRoles: ['$admins'] } });
    const fromStart = persistentSubscriptionToStreamSettingsFromDefaults({ startFrom: 'start' });
    await store.client.createPersistentSubscriptionToStream(open, 'g', fromStart);
    await store.client.createPersistentSubscriptionToStream(closed, 'g', fromStart);

    const received = await outcome(async () => {
      const subscription = plain.subscribeToPersistentSubscriptionToStream(open, 'g');
      try {
        for await (const event of subscription) {
          await subscription.ack(event);
          expect(event.event?.type).toBe('order.created');
          break;
        }
      } finally {
        await subscription.unsubscribe();
      }
    });
    expect(received).toBe('ok');
    expect((await store.client.getPersistentSubscriptionToStreamInfo(open, 'g')).stats.totalItems).toBe(1n);

    const refused = await outcome(async () => {
      const subscription = plain.subscribeToPersistentSubscriptionToStream(closed, 'g');
      try {
        for await (const _ of subscription) break;
      } finally {
        await subscription.unsubscribe();
      }
    });
    expect(refused).toBe('AccessDeniedError');
    expect((await store.client.getPersistentSubscriptionToStreamInfo(closed, 'g')).stats.totalItems).toBe(0n);
  });
});

describe('projections on a secured store', () => {
  it('refuses a plain user creating, changing and deleting projections; $ops and $admins may; any user reads state', async () => {
    const query = "fromAll().when({ $init: () => ({ count: 0 }), $any: (s) => { s.count += 1; return s; } })";
    expect(await outcome(() => plain.createProjection('intruder', query))).toBe('AccessDeniedError');
    expect(await outcome(() => plain.disableProjection('$by_category'))).toBe('AccessDeniedError');
    expect(await outcome(() => plain.resetProjection('$by_category'))).toBe('AccessDeniedError');
    expect(await outcome(() => plain.deleteProjection('$by_category'))).toBe('AccessDeniedError');
    expect((await store.client.getProjectionStatus('$by_category')).projectionStatus).toBe('Running');
    expect(await outcome(() => store.client.getProjectionStatus('intruder'))).toBe('NotFoundError');

    await operator.createProjection('counter', query);
    expect(await outcome(() => plain.getProjectionStatus('counter'))).toBe('ok');
    await store.client.disableProjection('counter');
  });
});
