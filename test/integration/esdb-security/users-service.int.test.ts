// The Users service of the secured store, through the client's generated UsersClient, and what
// its changes do to the official client acting as that user.
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import usersPb from '@eventstore/db-client/generated/users_pb.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { adminUsersClient, anEvent, call, clientAs, createUser, disableUser, enableUser, eventually, outcome, userDetails, usersClientAs } from './acl-support.js';

let store: TestEventStore;
let admin: ReturnType<typeof adminUsersClient>;

beforeAll(async () => {
  store = await startTestEventStore({ secure: true });
  admin = adminUsersClient(store);
});

afterAll(async () => {
  admin?.close();
  await store?.close();
});

/** What a gRPC call of the Users client ended with: 'ok', or its status name and `exception` trailer. */
const grpcOutcome = async (work: () => Promise<unknown>) => {
  try {
    await work();
    return 'ok';
  } catch (error) {
    const status = error as grpc.ServiceError;
    const exception = status.metadata?.get('exception')[0];
    return `${grpc.status[status.code]}${exception ? ` ${String(exception)}` : ''}`;
  }
};

const appendAs = async (login: string, password: string) => {
  const client = clientAs(store, login, password);
  try {
    return await outcome(() => client.appendToStream(`order-${randomUUID()}`, anEvent()));
  } finally {
    await client.dispose();
  }
};

describe('the Users service', () => {
  it('has the default admin ($admins) and ops ($ops) users, and lists created users with their groups', async () => {
    await createUser(admin, 'dave', 'dave-password', ['shop', 'auditors']);
    const users = await userDetails(admin);
    expect(users.map((user) => [user.getLoginName(), user.getGroupsList(), user.getDisabled()])).toEqual([
      ['admin', ['$admins'], false],
      ['dave', ['shop', 'auditors'], false],
      ['ops', ['$ops'], false],
    ]);
    const [dave] = await userDetails(admin, 'dave');
    expect(dave!.getFullName()).toBe('dave');
    const updated = Number(BigInt(dave!.getLastUpdated()!.getTicksSinceEpoch()) / 10_000n);
    expect(Math.abs(updated - Date.now())).toBeLessThan(60_000);
    expect(await grpcOutcome(() => userDetails(admin, 'nobody'))).toBe('NOT_FOUND user-not-found');
    expect(await grpcOutcome(() => createUser(admin, 'dave', 'again'))).toBe('ALREADY_EXISTS user-conflict');
  });

  it('refuses user management to a non-admin; a user reads only its own details', async () => {
    await createUser(admin, 'erin', 'erin-password');
    const erin = usersClientAs(store, 'erin', 'erin-password');
    try {
      expect(await grpcOutcome(() => createUser(erin, 'mallory', 'x', ['$admins']))).toBe('PERMISSION_DENIED access-denied');
      expect(await grpcOutcome(() => userDetails(erin))).toBe('PERMISSION_DENIED access-denied');
      expect(await grpcOutcome(() => userDetails(erin, 'admin'))).toBe('PERMISSION_DENIED access-denied');
      expect(await grpcOutcome(() => disableUser(erin, 'admin'))).toBe('PERMISSION_DENIED access-denied');
      const reset = new usersPb.ResetPasswordReq().setOptions(new usersPb.ResetPasswordReq.Options().setLoginName('admin').setNewPassword('owned'));
      expect(await grpcOutcome(() => call(erin, erin.resetPassword, reset))).toBe('PERMISSION_DENIED access-denied');
      expect((await userDetails(erin, 'erin')).map((user) => user.getLoginName())).toEqual(['erin']);
    } finally {
      erin.close();
    }
    expect((await userDetails(admin)).map((user) => user.getLoginName())).not.toContain('mallory');
    expect(await appendAs(store.server.credentials!.login, store.server.credentials!.password)).toBe('ok');
  });

  it('refuses a disabled user at once and lets it in again once enabled', async () => {
    await createUser(admin, 'frank', 'frank-password');
    const frank = clientAs(store, 'frank', 'frank-password');
    try {
      expect(await outcome(() => frank.appendToStream(`order-${randomUUID()}`, anEvent()))).toBe('ok');
      await disableUser(admin, 'frank');
      expect((await userDetails(admin, 'frank'))[0]!.getDisabled()).toBe(true);
      // The same connection, credentials that worked a moment ago.
      expect(await outcome(() => frank.appendToStream(`order-${randomUUID()}`, anEvent()))).toBe('AccessDeniedError');
      await enableUser(admin, 'frank');
      expect(await outcome(() => frank.appendToStream(`order-${randomUUID()}`, anEvent()))).toBe('ok');
    } finally {
      await frank.dispose();
    }
  });

  // A password or group change reaches credentials used just before within the authentication cache's moment.
  it('changes a password only with the current one, resets it as admin, and deletes a user', async () => {
    await createUser(admin, 'grace', 'first');
    const grace = usersClientAs(store, 'grace', 'first');
    const change = (current: string, next: string) =>
      call(grace, grace.changePassword, new usersPb.ChangePasswordReq().setOptions(new usersPb.ChangePasswordReq.Options().setLoginName('grace').setCurrentPassword(current).setNewPassword(next)));
    try {
      expect(await grpcOutcome(() => change('wrong', 'second'))).toBe('PERMISSION_DENIED access-denied');
      expect(await grpcOutcome(() => change('first', 'second'))).toBe('ok');
    } finally {
      grace.close();
    }
    expect(await eventually(() => appendAs('grace', 'first'), 'AccessDeniedError')).toBe('AccessDeniedError');
    expect(await appendAs('grace', 'second')).toBe('ok');

    const reset = new usersPb.ResetPasswordReq().setOptions(new usersPb.ResetPasswordReq.Options().setLoginName('grace').setNewPassword('third'));
    await call(admin, admin.resetPassword, reset);
    expect(await eventually(() => appendAs('grace', 'second'), 'AccessDeniedError')).toBe('AccessDeniedError');
    expect(await appendAs('grace', 'third')).toBe('ok');

    await call(admin, admin.delete, new usersPb.DeleteReq().setOptions(new usersPb.DeleteReq.Options().setLoginName('grace')));
    expect(await appendAs('grace', 'third')).toBe('AccessDeniedError');
    expect((await userDetails(admin)).map((user) => user.getLoginName())).not.toContain('grace');
  });

  it('updates full name and groups: a user added to $admins reads $all', async () => {
    await createUser(admin, 'heidi', 'heidi-password');
    const heidi = clientAs(store, 'heidi', 'heidi-password');
    const readAllHead = async () => {
      const events = [];
      for await (const resolved of heidi.readAll({ maxCount: 1 })) events.push(resolved);
      return events;
    };
    try {
      expect(await outcome(readAllHead)).toBe('AccessDeniedError');
      const update = new usersPb.UpdateReq.Options().setLoginName('heidi').setFullName('Heidi Admin').setGroupsList(['$admins']);
      await call(admin, admin.update, new usersPb.UpdateReq().setOptions(update));
      expect(await eventually(() => outcome(readAllHead), 'ok')).toBe('ok');
      expect((await userDetails(admin, 'heidi'))[0]!.getFullName()).toBe('Heidi Admin');
    } finally {
      await heidi.dispose();
    }
    // The password was kept: an update without one changes only name and groups.
    expect(await appendAs('heidi', 'heidi-password')).toBe('ok');
  });
});
