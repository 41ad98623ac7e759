// Authentication against the store's real user store (users kept in the log): Basic values parsed
// as the client sends them, refusals never remembered, and a changed password refused once the
// short trust window (AUTHENTICATION_CACHE_MS; 0 here) is over.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuthenticator, parseBasic } from '../../../src/esdb-server/auth/authenticate.js';
import { openUserStore, type UserStore } from '../../../src/esdb-server/auth/users.js';
import { openSqliteEventLog } from '../../../src/esdb-server/log/sqlite-event-log.js';
import type { EventLog } from '../../../src/esdb-server/log/types.js';

const basic = (login: string, password: string) => `Basic ${Buffer.from(`${login}:${password}`).toString('base64')}`;

describe('authenticating Basic credentials', () => {
  let log: EventLog;
  let users: UserStore;
  beforeAll(async () => {
    log = openSqliteEventLog({ file: ':memory:' });
    users = await openUserStore(log, { adminPassword: 'first-password' });
  });
  afterAll(async () => {
    await log.close();
  });

  it('reads login and password as the client sends them (a colon may be in the password)', () => {
    expect(parseBasic(basic('admin', 'a:b:c'))).toEqual({ login: 'admin', password: 'a:b:c' });
    expect(parseBasic('Bearer abc')).toBeUndefined();
    expect(parseBasic('Basic !!!')).toBeUndefined();
    expect(parseBasic(`Basic ${Buffer.from('no-colon').toString('base64')}`)).toBeUndefined();
  });

  it('tells anonymous, invalid and a user apart, with the user groups', async () => {
    const authenticator = basicAuthenticator(users);
    expect(await authenticator.authenticate(undefined)).toEqual({ kind: 'anonymous' });
    expect(await authenticator.authenticate('Bearer x')).toEqual({ kind: 'invalid' });
    expect(await authenticator.authenticate(basic('admin', 'wrong'))).toEqual({ kind: 'invalid' });
    expect(await authenticator.authenticate(basic('admin', 'first-password'))).toEqual({ kind: 'user', principal: { login: 'admin', groups: ['$admins'] } });
  });

  it('never remembers a refusal, and refuses a changed password once the trust window is over', async () => {
    const authenticator = basicAuthenticator(users, { cacheMs: 0 });
    expect((await authenticator.authenticate(basic('admin', 'second-password'))).kind).toBe('invalid');
    await users.changePassword('admin', 'first-password', 'second-password');
    expect((await authenticator.authenticate(basic('admin', 'second-password'))).kind).toBe('user');
    expect((await authenticator.authenticate(basic('admin', 'first-password'))).kind).toBe('invalid');
  });
});
