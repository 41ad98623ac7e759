// The secured store refuses every call without valid credentials, as a secured EventStoreDB does
// (the client raises AccessDeniedError both for no credentials and for wrong ones), serves gRPC only
// over TLS against its own CA, and lets the admin credentials do everything.
import { readFileSync } from 'node:fs';
import { connect as connectHttp2 } from 'node:http2';
import { request } from 'node:https';
import {
  AccessDeniedError,
  BACKWARDS,
  END,
  EventStoreDBClient,
  jsonEvent,
  persistentSubscriptionToStreamSettingsFromDefaults,
  UnavailableError,
} from '@eventstore/db-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEventStore, useTestEventStore, type TestEventStore } from '../../helpers/event-store.js';
import { collect } from '../esdb/support.js';

const esdb = useTestEventStore({ secure: true });

/** The secured connection string with other credentials (or none), and whatever else is changed. */
function connectionWith(credentials: string | undefined, extra = ''): string {
  const base = esdb.store.connectionString.replace(/\/\/[^@]+@/, credentials === undefined ? '//' : `//${credentials}@`);
  return `${base}${extra}`;
}

const clients: EventStoreDBClient[] = [];
function client(connectionString: string): EventStoreDBClient {
  const created = EventStoreDBClient.connectionString(connectionString);
  clients.push(created);
  return created;
}
afterAll(async () => {
  await Promise.all(clients.map((created) => created.dispose().catch(() => undefined)));
});

async function refusal(work: () => Promise<unknown>): Promise<unknown> {
  try {
    await work();
  } catch (error) {
    return error;
  }
  return 'accepted';
}

describe('a secured embedded store (the default)', () => {
  it('hands out a TLS connection string that names its CA file and the admin credentials', () => {
    const { connectionString, server } = esdb.store;
    expect(server.insecure).toBe(false);
    expect(connectionString).toMatch(/^esdb:\/\/admin:[^@]+@localhost:\d+\?tls=true&tlsCAFile=/);
    expect(readFileSync(server.credentials!.caFile, 'utf8')).toContain('BEGIN CERTIFICATE');
  });

  it('lets the admin credentials append, read, subscribe and manage persistent subscriptions', async () => {
    const admin = esdb.client;
    await admin.appendToStream('order-secured-1', jsonEvent({ type: 'order.noted', data: { n: 1 } }));
    const events = await collect(admin.readStream('order-secured-1'));
    expect(events.map((event) => event.event?.type)).toEqual(['order.noted']);
    await admin.createPersistentSubscriptionToStream('order-secured-1', 'secured-group', persistentSubscriptionToStreamSettingsFromDefaults());
    expect((await admin.listPersistentSubscriptionsToStream('order-secured-1')).map((group) => group.groupName)).toEqual(['secured-group']);
  });

  it('refuses a client without credentials with AccessDeniedError on every kind of call, and it changes nothing', async () => {
    const anonymous = client(connectionWith(undefined));
    await esdb.client.appendToStream('order-secured-2', jsonEvent({ type: 'order.noted', data: { secret: 'phone +14155550100' } }));
    const attempts: Record<string, () => Promise<unknown>> = {
      append: () => anonymous.appendToStream('order-secured-2', jsonEvent({ type: 'order.paid', data: { forged: true } })),
      read: () => collect(anonymous.readStream('order-secured-2')),
      readAll: () => collect(anonymous.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 10 })),
      metadata: () => anonymous.setStreamMetadata('order-secured-2', { maxCount: 1 }),
      tombstone: () => anonymous.tombstoneStream('order-secured-2'),
      deleteGroup: () => anonymous.deletePersistentSubscriptionToStream('order-secured-1', 'secured-group'),
      listGroups: () => anonymous.listAllPersistentSubscriptions(),
      projections: () => anonymous.listProjections(),
    };
    for (const [name, attempt] of Object.entries(attempts)) {
      const error = await refusal(attempt);
      expect(error, name).toBeInstanceOf(AccessDeniedError);
    }
    // Still whole: one event, no metadata, the group still there.
    const events = await collect(esdb.client.readStream('order-secured-2'));
    expect(events.map((event) => event.event?.type)).toEqual(['order.noted']);
    expect((await esdb.client.getStreamMetadata('order-secured-2')).metadata).toBeUndefined();
    expect((await esdb.client.listPersistentSubscriptionsToStream('order-secured-1')).map((group) => group.groupName)).toEqual(['secured-group']);
  });

  it('refuses a catch-up subscription without credentials', async () => {
    const anonymous = client(connectionWith(undefined));
    const subscription = anonymous.subscribeToStream('order-secured-1');
    const error = await new Promise<unknown>((resolve) => {
      subscription.on('error', resolve);
      subscription.on('data', () => resolve('delivered'));
    });
    expect(error).toBeInstanceOf(AccessDeniedError);
  });

  it('refuses a wrong password, and an unknown user, with AccessDeniedError', async () => {
    for (const credentials of ['admin:not-the-password', 'intruder:changeit', 'ops:changeit']) {
      const wrong = client(connectionWith(credentials));
      const read = await refusal(() => collect(wrong.readStream('order-secured-1')));
      expect(read, credentials).toBeInstanceOf(AccessDeniedError);
      const append = await refusal(() => wrong.appendToStream('order-secured-1', jsonEvent({ type: 'order.paid', data: {} })));
      expect(append, credentials).toBeInstanceOf(AccessDeniedError);
    }
    expect(await collect(esdb.client.readStream('order-secured-1'))).toHaveLength(1);
  });

  it('refuses a caller that skips certificate checks (raw HTTP/2 over TLS) but has no credentials: access-denied', async () => {
    // The official client cannot skip checks (tlsVerifyCert=false has no effect in 6.x); a raw
    // gRPC request can: what protects the store is the credentials, not the CA's secrecy.
    const session = connectHttp2(`https://127.0.0.1:${esdb.store.server.port}`, { rejectUnauthorized: false });
    try {
      const call = session.request({ ':method': 'POST', ':path': '/event_store.client.streams.Streams/Read', 'content-type': 'application/grpc', te: 'trailers' });
      const status = new Promise<Record<string, unknown>>((resolve) => {
        let headers: Record<string, unknown> = {};
        call.on('response', (received) => (headers = { ...received }));
        call.on('trailers', (trailers) => resolve({ ...headers, ...trailers }));
        call.on('close', () => resolve(headers));
      });
      call.on('data', () => undefined);
      call.end(Buffer.from([0, 0, 0, 0, 0]));
      const answer = await status;
      expect(answer['grpc-status']).toBe('7');
      expect(answer.exception).toBe('access-denied');
    } finally {
      session.close();
    }
  });

  it('speaks gRPC only over TLS: a plaintext client reaches nothing', async () => {
    const plaintext = client(`esdb://admin:${esdb.store.server.credentials!.password}@127.0.0.1:${esdb.store.server.port}?tls=false`);
    const error = await refusal(() => collect(plaintext.readStream('order-secured-1', { deadline: 5_000 })));
    expect(error).toBeInstanceOf(UnavailableError);
  });

  it('refuses a TLS client that does not trust the store CA (no tlsCAFile: the system roots)', async () => {
    const untrusting = client(connectionWith(`admin:${esdb.store.server.credentials!.password}`).replace(/&tlsCAFile=[^&]*/, ''));
    const error = await refusal(() => collect(untrusting.readStream('order-secured-1', { deadline: 5_000 })));
    expect(error).toBeInstanceOf(UnavailableError);
  });
});

describe('the secured store over HTTP (UI and endpoints on the same port)', () => {
  const base = () => `http://127.0.0.1:${esdb.store.server.port}`;
  const basic = (credentials: string) => ({ authorization: `Basic ${Buffer.from(credentials).toString('base64')}` });
  const admin = () => basic(`admin:${esdb.store.server.credentials!.password}`);

  it('answers 401 with a Basic challenge (realm ESDB) without credentials, on the UI and the endpoints', async () => {
    for (const path of ['/ui/', '/ui/streams', '/ui/streams/order-secured-1', '/ui/subscriptions', '/stats', '/metrics', '/ui/trace/x']) {
      const response = await fetch(`${base()}${path}`, { redirect: 'manual' });
      expect(response.status, path).toBe(401);
      expect(response.headers.get('www-authenticate'), path).toBe('Basic realm="ESDB"');
      expect(await response.text(), path).not.toContain('order-secured-1');
    }
  });

  it('answers 401 to a wrong password, even on the open endpoints', async () => {
    for (const path of ['/ui/', '/ping']) {
      const response = await fetch(`${base()}${path}`, { headers: basic('admin:wrong') });
      expect(response.status, path).toBe(401);
    }
  });

  it('keeps /ping, /health/live, /info and /gossip open, as EventStoreDB, and /info says it is secured', async () => {
    expect((await fetch(`${base()}/ping`)).status).toBe(200);
    expect((await fetch(`${base()}/health/live`)).status).toBe(204);
    expect((await fetch(`${base()}/gossip`)).status).toBe(200);
    const info = (await (await fetch(`${base()}/info`)).json()) as { authentication: { type: string } };
    expect(info.authentication.type).toBe('internal');
  });

  it('serves the UI and the endpoints to the admin credentials', async () => {
    const page = await fetch(`${base()}/ui/streams/order-secured-1`, { headers: admin() });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('order-secured-1');
    expect((await fetch(`${base()}/stats`, { headers: admin() })).status).toBe(200);
  });

  it('refuses a POST action without credentials (401) and keeps its same-origin check with them (403)', async () => {
    const action = `${base()}/ui/subscriptions/order-secured-1/secured-group/delete`;
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    expect((await fetch(action, { method: 'POST', headers: form, body: 'confirm=yes', redirect: 'manual' })).status).toBe(401);
    const crossSite = await fetch(action, { method: 'POST', headers: { ...form, ...admin(), 'sec-fetch-site': 'cross-site' }, body: 'confirm=yes', redirect: 'manual' });
    expect(crossSite.status).toBe(403);
    expect((await esdb.client.listPersistentSubscriptionsToStream('order-secured-1')).map((group) => group.groupName)).toEqual(['secured-group']);
  });

  it('serves the same over HTTPS on the same port, trusted through the store CA', async () => {
    const ca = readFileSync(esdb.store.server.credentials!.caFile);
    const get = (path: string, headers: Record<string, string> = {}) =>
      new Promise<number>((resolve, reject) => {
        request({ host: 'localhost', port: esdb.store.server.port, path, ca, headers }, (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        })
          .on('error', reject)
          .end();
      });
    expect(await get('/ui/')).toBe(401);
    expect(await get('/ui/', admin())).toBe(200);
  });
});

describe('an insecure store (insecure: true, as --insecure)', () => {
  let store: TestEventStore;
  beforeAll(async () => {
    store = await startTestEventStore();
  });
  afterAll(async () => {
    await store.close();
  });

  it('asks nobody for credentials: plaintext gRPC and HTTP, /info says insecure', async () => {
    expect(store.server.insecure).toBe(true);
    expect(store.server.credentials).toBeUndefined();
    expect(store.connectionString).toBe(`esdb://127.0.0.1:${store.server.port}?tls=false`);
    await store.client.appendToStream('order-insecure', jsonEvent({ type: 'order.noted', data: {} }));
    expect(await collect(store.client.readStream('order-insecure'))).toHaveLength(1);
    expect((await fetch(`http://127.0.0.1:${store.server.port}/ui/`)).status).toBe(200);
    const info = (await (await fetch(`http://127.0.0.1:${store.server.port}/info`)).json()) as { authentication: { type: string } };
    expect(info.authentication.type).toBe('insecure');
  });
});
