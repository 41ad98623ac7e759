import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { aclTarget, operationAllowed, parseStreamAcl, parseSystemSettings, storeAuthorizer, streamAllowed, type StreamAcl, type SystemSettings } from '../../../src/esdb-server/auth/acl.js';
import { INSECURE_PRINCIPAL, type Principal } from '../../../src/esdb-server/auth/principal.js';
import { openSqliteEventLog } from '../../../src/esdb-server/log/sqlite-event-log.js';
import type { EventLog } from '../../../src/esdb-server/log/types.js';
import { openUserStore } from '../../../src/esdb-server/auth/users.js';

const admin: Principal = { login: 'admin', groups: ['$admins'] };
const ops: Principal = { login: 'ops', groups: ['$ops'] };
const alice: Principal = { login: 'alice', groups: ['shop'] };
const bob: Principal = { login: 'bob', groups: [] };
const none: SystemSettings = {};

const allowed = (principal: Principal | undefined, operation: Parameters<typeof streamAllowed>[1], stream: string, acl?: StreamAcl, settings = none) => {
  const target = aclTarget(stream, operation);
  return streamAllowed(principal, target.operation, target.stream, acl, settings);
};

describe('stream ACLs, as EventStoreDB decides them', () => {
  it('lets every user do everything on user streams and only $admins on system streams when nothing is set', () => {
    for (const operation of ['read', 'write', 'delete', 'metadataRead', 'metadataWrite'] as const) {
      expect(allowed(alice, operation, 'order-1')).toBe(true);
      expect(allowed(ops, operation, 'order-1')).toBe(true);
      expect(allowed(alice, operation, '$ce-order')).toBe(false);
      expect(allowed(ops, operation, '$ce-order')).toBe(false);
      expect(allowed(admin, operation, '$ce-order')).toBe(true);
    }
  });

  it('keeps reading $all to $admins by default', () => {
    expect(allowed(alice, 'read', '$all')).toBe(false);
    expect(allowed(ops, 'read', '$all')).toBe(false);
    expect(allowed(admin, 'read', '$all')).toBe(true);
    expect(allowed(INSECURE_PRINCIPAL, 'read', '$all')).toBe(true);
    expect(allowed(alice, 'read', '$all', { read: ['alice'] })).toBe(true);
  });

  it("applies a stream's $acl per operation: a user, a group or an array, the rest from the defaults", () => {
    const acl = parseStreamAcl({ $r: ['alice', 'auditors'], $w: 'alice' });
    expect(acl).toEqual({ read: ['alice', 'auditors'], write: ['alice'] });
    expect(allowed(alice, 'write', 'order-1', acl)).toBe(true);
    expect(allowed(bob, 'write', 'order-1', acl)).toBe(false);
    expect(allowed({ login: 'carol', groups: ['auditors'] }, 'read', 'order-1', acl)).toBe(true);
    expect(allowed(bob, 'read', 'order-1', acl)).toBe(false);
    // not in the $acl: the user stream default (everybody)
    expect(allowed(bob, 'delete', 'order-1', acl)).toBe(true);
    expect(allowed(admin, 'write', 'order-1', { write: [] })).toBe(true);
    expect(allowed(alice, 'write', 'order-1', { write: [] })).toBe(false);
  });

  it('takes $settings defaults field by field, with the built-in default for fields it leaves out', () => {
    const settings = parseSystemSettings({ $userStreamAcl: { $r: '$all', $w: 'shop' }, $systemStreamAcl: { $w: 'alice' } });
    expect(allowed(alice, 'write', 'order-1', undefined, settings)).toBe(true);
    expect(allowed(bob, 'write', 'order-1', undefined, settings)).toBe(false);
    expect(allowed(bob, 'read', 'order-1', undefined, settings)).toBe(true);
    expect(allowed(alice, 'write', '$sys-thing', undefined, settings)).toBe(true);
    expect(allowed(alice, 'read', '$sys-thing', undefined, settings)).toBe(false);
    // a stream's own $acl wins over $settings
    expect(allowed(bob, 'write', 'order-1', { write: ['bob'] }, settings)).toBe(true);
  });

  it("decides a metadata stream $$x with x's $mr / $mw, and $settings is written by $admins only", () => {
    const acl: StreamAcl = { metadataRead: ['alice'], metadataWrite: ['alice'] };
    expect(allowed(alice, 'read', '$$order-1', acl)).toBe(true);
    expect(allowed(bob, 'read', '$$order-1', acl)).toBe(false);
    expect(allowed(alice, 'write', '$$order-1', acl)).toBe(true);
    expect(allowed(bob, 'write', '$$order-1', acl)).toBe(false);
    expect(allowed(alice, 'write', '$$$ce-order')).toBe(false);
    const open: SystemSettings = { systemStreamAcl: { write: ['$all'], metadataWrite: ['$all'] } };
    expect(allowed(alice, 'write', '$settings', undefined, open)).toBe(false);
    expect(allowed(alice, 'write', '$$$settings', undefined, open)).toBe(false);
    expect(allowed(admin, 'write', '$settings')).toBe(true);
  });
});

describe('server operations', () => {
  it('keeps persistent subscription and projection management to $ops and $admins', () => {
    for (const operation of ['subscriptions.create', 'subscriptions.update', 'subscriptions.delete', 'subscriptions.replayParked', 'subscriptions.restart', 'projections.create', 'projections.delete'] as const) {
      expect(operationAllowed(alice, operation)).toBe(false);
      expect(operationAllowed(ops, operation)).toBe(true);
      expect(operationAllowed(admin, operation)).toBe(true);
    }
    expect(operationAllowed(alice, 'subscriptions.statistics')).toBe(true);
    expect(operationAllowed(undefined, 'subscriptions.statistics')).toBe(false);
  });

  it('keeps user management to $admins; a user reads its own details and changes its own password', () => {
    expect(operationAllowed(alice, 'users.create')).toBe(false);
    expect(operationAllowed(ops, 'users.create')).toBe(false);
    expect(operationAllowed(admin, 'users.create')).toBe(true);
    expect(operationAllowed(alice, 'users.read', 'alice')).toBe(true);
    expect(operationAllowed(alice, 'users.read', 'bob')).toBe(false);
    expect(operationAllowed(admin, 'users.read', 'bob')).toBe(true);
    expect(operationAllowed(alice, 'users.changePassword', 'alice')).toBe(true);
    expect(operationAllowed(alice, 'users.changePassword', 'bob')).toBe(false);
  });
});

describe('the store authorizer', () => {
  let log: EventLog | undefined;
  afterEach(async () => {
    await log?.close();
    log = undefined;
  });
  const json = (type: string, value: unknown) => ({ id: randomUUID(), type, contentType: 'application/json', data: Buffer.from(JSON.stringify(value)), metadata: new Uint8Array(0) });

  it('reads the stream metadata and $settings as they are at each decision', async () => {
    log = openSqliteEventLog({ file: ':memory:' });
    const authorizer = storeAuthorizer(log);
    expect(authorizer.streamAllowed(bob, 'write', 'order-1')).toBe(true);
    await log.append('$$order-1', 'any', [json('$metadata', { $acl: { $w: 'alice' }, $maxCount: 10 })]);
    expect(authorizer.streamAllowed(bob, 'write', 'order-1')).toBe(false);
    expect(authorizer.streamAllowed(alice, 'write', 'order-1')).toBe(true);
    expect(authorizer.streamAllowed(bob, 'write', 'order-2')).toBe(true);
    await log.append('$settings', 'any', [json('$settings', { $userStreamAcl: { $w: '$admins' } })]);
    expect(authorizer.streamAllowed(bob, 'write', 'order-2')).toBe(false);
    expect(authorizer.streamAllowed(admin, 'write', 'order-2')).toBe(true);
  });

  it('refuses a principal whose user was disabled or deleted after its call was authenticated, admins too', async () => {
    log = openSqliteEventLog({ file: ':memory:' });
    const users = await openUserStore(log, { adminPassword: 'a' });
    await users.create({ login: 'bob', fullName: 'Bob', groups: [], password: 'p' });
    await users.create({ login: 'root', fullName: 'Root', groups: ['$admins'], password: 'p' });
    const authorizer = storeAuthorizer(log, users);
    const root: Principal = { login: 'root', groups: ['$admins'] };
    expect(authorizer.streamAllowed(bob, 'write', 'order-1')).toBe(true);
    expect(authorizer.streamAllowed(root, 'read', '$all')).toBe(true);
    await users.disable('bob');
    await users.delete('root');
    expect(authorizer.streamAllowed(bob, 'write', 'order-1')).toBe(false);
    expect(authorizer.operationAllowed(bob, 'subscriptions.statistics')).toBe(false);
    expect(authorizer.streamAllowed(root, 'read', '$all')).toBe(false);
    await users.enable('bob');
    expect(authorizer.streamAllowed(bob, 'write', 'order-1')).toBe(true);
  });
});
