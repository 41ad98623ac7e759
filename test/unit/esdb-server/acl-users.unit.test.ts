import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteEventLog } from '../../../src/esdb-server/log/sqlite-event-log.js';
import type { EventLog } from '../../../src/esdb-server/log/types.js';
import { openUserStore, UserExistsError, UserNotFoundError, WrongPasswordError } from '../../../src/esdb-server/auth/users.js';

let log: EventLog | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await log?.close();
  log = undefined;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const lastEventOf = (stream: string) => {
  const read = log!.readStream(stream, { from: 'end', direction: 'backwards', maxCount: 1, resolveLinkTos: false });
  return read.kind === 'ok' ? read.events[0]?.event : undefined;
};

describe('the store users', () => {
  it('creates admin ($admins) and ops ($ops) on first start; admin logs in with the password given, ops with none known', async () => {
    log = openSqliteEventLog({ file: ':memory:' });
    const users = await openUserStore(log, { adminPassword: 'first-secret' });
    expect(await users.verify('admin', 'first-secret')).toEqual({ login: 'admin', groups: ['$admins'] });
    expect(await users.verify('admin', 'changeit')).toBeUndefined();
    expect(await users.verify('ops', 'changeit')).toBeUndefined();
    expect(users.list().map((user) => [user.login, user.groups])).toEqual([
      ['admin', ['$admins']],
      ['ops', ['$ops']],
    ]);
  });

  it('keeps users in $user-<login> streams with a salted scrypt hash, never the password, readable by $admins only', async () => {
    log = openSqliteEventLog({ file: ':memory:' });
    await openUserStore(log, { adminPassword: 'first-secret', opsPassword: 'ops-secret' });
    const created = lastEventOf('$user-admin')!;
    expect(created.type).toBe('$UserCreated');
    const text = Buffer.from(created.data).toString('utf8');
    expect(text).not.toContain('first-secret');
    expect(JSON.parse(text)).toMatchObject({ loginName: 'admin', groups: ['$admins'], disabled: false, kdf: 'scrypt:16384:8:1' });
    const metadata = JSON.parse(Buffer.from(lastEventOf('$$$user-admin')!.data).toString('utf8'));
    expect(metadata.$acl).toEqual({ $r: '$admins', $w: '$admins', $d: '$admins', $mr: '$admins', $mw: '$admins' });
  });

  it('keeps users, their passwords and the admin password of the first start across restarts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'users-'));
    dirs.push(dir);
    log = openSqliteEventLog({ file: join(dir, 'eventstore.db') });
    let users = await openUserStore(log, { adminPassword: 'first-secret', opsPassword: 'ops-secret' });
    await users.create({ login: 'shop', fullName: 'Shop', groups: ['merchants'], password: 'shop-pass' });
    await users.changePassword('admin', 'first-secret', 'second-secret');
    await log.close();
    log = openSqliteEventLog({ file: join(dir, 'eventstore.db') });
    users = await openUserStore(log, { adminPassword: 'ignored-now' });
    expect(await users.verify('shop', 'shop-pass')).toEqual({ login: 'shop', groups: ['merchants'] });
    expect(await users.verify('admin', 'second-secret')).toBeDefined();
    expect(await users.verify('admin', 'ignored-now')).toBeUndefined();
    expect(await users.verify('ops', 'ops-secret')).toEqual({ login: 'ops', groups: ['$ops'] });
  });

  it('refuses a disabled or deleted user and a changed password at once, even after a cached success', async () => {
    log = openSqliteEventLog({ file: ':memory:' });
    const users = await openUserStore(log, { adminPassword: 'a' });
    await users.create({ login: 'shop', fullName: 'Shop', groups: [], password: 'p1' });
    expect(await users.verify('shop', 'p1')).toBeDefined();
    await users.disable('shop');
    expect(await users.verify('shop', 'p1')).toBeUndefined();
    expect(users.details('shop')?.disabled).toBe(true);
    await users.enable('shop');
    expect(await users.verify('shop', 'p1')).toBeDefined();
    await users.resetPassword('shop', 'p2');
    expect(await users.verify('shop', 'p1')).toBeUndefined();
    expect(await users.verify('shop', 'p2')).toBeDefined();
    await users.delete('shop');
    expect(await users.verify('shop', 'p2')).toBeUndefined();
    expect(users.details('shop')).toBeUndefined();
    expect(users.list().map((user) => user.login)).toEqual(['admin', 'ops']);
  });

  it('answers the errors a caller can act on: exists, not found, wrong current password', async () => {
    log = openSqliteEventLog({ file: ':memory:' });
    const users = await openUserStore(log, { adminPassword: 'a' });
    await users.create({ login: 'shop', fullName: 'Shop', groups: [], password: 'p1' });
    await expect(users.create({ login: 'shop', fullName: 'Again', groups: [], password: 'x' })).rejects.toBeInstanceOf(UserExistsError);
    await expect(users.disable('nobody')).rejects.toBeInstanceOf(UserNotFoundError);
    await expect(users.changePassword('shop', 'wrong', 'p2')).rejects.toBeInstanceOf(WrongPasswordError);
    await expect(users.create({ login: 'a:b', fullName: '', groups: [], password: 'x' })).rejects.toThrow(/without ':'/);
    expect(await users.verify('shop', 'p1')).toBeDefined();
    // A deleted user's login can be created again, with the new password only.
    await users.delete('shop');
    await users.create({ login: 'shop', fullName: 'Shop again', groups: ['g'], password: 'p3' });
    expect(await users.verify('shop', 'p1')).toBeUndefined();
    expect(await users.verify('shop', 'p3')).toEqual({ login: 'shop', groups: ['g'] });
    expect(users.list().map((user) => user.login)).toEqual(['admin', 'ops', 'shop']);
  });

  it('follows a user stream written past the store (an admin appending to $user-<login>): nothing remembered goes stale', async () => {
    log = openSqliteEventLog({ file: ':memory:' });
    const users = await openUserStore(log, { adminPassword: 'a' });
    await users.create({ login: 'shop', fullName: 'Shop', groups: [], password: 'p1' });
    expect(await users.verify('shop', 'p1')).toBeDefined();
    const deleted = { id: randomUUID(), type: '$UserDeleted', contentType: 'application/json', data: Buffer.from('{"loginName":"shop"}'), metadata: new Uint8Array(0) };
    await log.append('$user-shop', 'any', [deleted]);
    expect(await users.verify('shop', 'p1')).toBeUndefined();
    expect(users.details('shop')).toBeUndefined();
  });
});
