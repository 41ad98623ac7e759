// The store UI on a secured store: an operator in $ops (not $admins) browses what the stream
// ACLs let it read, as over gRPC; a system stream such as a user's record (its password hash)
// stays for $admins.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { adminUsersClient, anEvent, createUser } from './acl-support.js';

let store: TestEventStore;
const basic = (credentials: string) => ({ authorization: `Basic ${Buffer.from(credentials).toString('base64')}` });
const page = (path: string, credentials: string) => fetch(`http://127.0.0.1:${store.server.port}${path}`, { headers: basic(credentials) });

beforeAll(async () => {
  store = await startTestEventStore({ secure: true });
  const users = adminUsersClient(store);
  await createUser(users, 'oscar', 'oscar-password', ['$ops']);
  users.close();
  await store.client.appendToStream('order-ui-acl', [anEvent()]);
});

afterAll(async () => {
  await store?.close();
});

describe('store UI stream pages on a secured store', () => {
  it('refuses an $ops operator the pages of a system stream, and of its events', async () => {
    for (const path of ['/ui/streams/%24user-admin', '/ui/streams/%24user-admin/0', '/ui/streams/%24settings']) {
      const response = await page(path, 'oscar:oscar-password');
      expect(response.status, path).toBe(403);
      const html = await response.text();
      expect(html).toContain('may not read the stream');
      expect(html).not.toMatch(/hash|salt/i);
    }
  });

  it('shows an $ops operator the user streams, and $admins every stream', async () => {
    expect((await page('/ui/streams/order-ui-acl', 'oscar:oscar-password')).status).toBe(200);
    expect((await page('/ui/streams/%24user-admin', `admin:${store.server.credentials!.password}`)).status).toBe(200);
  });
});
