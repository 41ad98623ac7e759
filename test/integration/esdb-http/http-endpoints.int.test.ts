// The embedded store's HTTP/1.1 side on its gRPC port, through plain HTTP clients: EventStoreDB's
// endpoints (status codes, content types, shapes), the UI's answers to bad paths and parameters,
// the refusal of cross-site actions, and gRPC going on unharmed beside it.
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { binaryEvent, EventStoreDBClient, jsonEvent, persistentSubscriptionToAllSettingsFromDefaults, persistentSubscriptionToStreamSettingsFromDefaults } from '@eventstore/db-client';
import { eventually } from '../workers/order-writer.js';
import { register as globalRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import gossipGrpc from '@eventstore/db-client/generated/gossip_grpc_pb.js';
import gossipPb from '@eventstore/db-client/generated/gossip_pb.js';
import sharedPb from '@eventstore/db-client/generated/shared_pb.js';
import { startEventStoreServer } from '../../../src/esdb-server/index.js';

const GossipClient = grpc.makeGenericClientConstructor(gossipGrpc.GossipService as unknown as grpc.ServiceDefinition, 'Gossip') as unknown as new (
  address: string,
  credentials: grpc.ChannelCredentials,
) => grpc.Client & { read(request: unknown, callback: (error: Error | null, reply: InstanceType<typeof gossipPb.ClusterInfo>) => void): void };
import { useTestEventStore } from '../../helpers/event-store.js';

const esdb = useTestEventStore();
const url = (path: string) => `${esdb.store.server.uiUrl!.replace(/\/$/, '')}${path}`;

/** A raw HTTP/1.1 exchange, so Host and other headers can be anything. */
function raw(path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { host: esdb.store.server.host, port: esdb.store.server.port, path, method: options.method ?? 'GET', headers: options.headers, setHost: !options.headers?.host },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    request.on('error', reject);
    request.end(options.body);
  });
}

describe("EventStoreDB's HTTP endpoints on the gRPC port", () => {
  it('answers /ping with its text and /health/live with 204', async () => {
    const ping = await fetch(url('/ping'));
    expect(ping.status).toBe(200);
    expect(ping.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await ping.json()).toEqual({ text: 'Ping request successfully handled' });
    const live = await fetch(url('/health/live'));
    expect(live.status).toBe(204);
    expect(await live.text()).toBe('');
  });

  it('describes the node in /info and /gossip as EventStoreDB does', async () => {
    const info = (await (await fetch(url('/info'))).json()) as Record<string, unknown>;
    expect(info).toMatchObject({ esVersion: expect.stringMatching(/^\d+\.\d+/), state: 'leader', features: { projections: true, userManagement: false, atomPub: false } });
    const gossip = (await (await fetch(url('/gossip'))).json()) as { members: Record<string, unknown>[]; serverPort: number };
    expect(gossip.members).toHaveLength(1);
    expect(gossip.members[0]).toMatchObject({ state: 'Leader', isAlive: true, httpEndPointIp: esdb.store.server.host, httpEndPointPort: esdb.store.server.port });
    expect(gossip.serverPort).toBe(esdb.store.server.port);
  });

  it('names the same node in HTTP /gossip as in gRPC gossip', async () => {
    const gossip = (await (await fetch(url('/gossip'))).json()) as { members: Array<{ instanceId: string }> };
    const client = new GossipClient(`${esdb.store.server.host}:${esdb.store.server.port}`, grpc.credentials.createInsecure());
    try {
      const cluster = await new Promise<InstanceType<typeof gossipPb.ClusterInfo>>((resolve, reject) =>
        client.read(new sharedPb.Empty(), (error: Error | null, reply: InstanceType<typeof gossipPb.ClusterInfo>) => (error ? reject(error) : resolve(reply))),
      );
      expect(gossip.members[0]!.instanceId).toBe(cluster.getMembersList()[0]!.getInstanceId()!.getString());
    } finally {
      client.close();
    }
  });

  it("leaves a group's rate measurement to GetInfo: watching it in the UI and /metrics does not reset the window", async () => {
    const stream = `rate-${randomUUID()}`;
    const group = 'rate-watchers';
    await esdb.client.createPersistentSubscriptionToStream(stream, group, persistentSubscriptionToStreamSettingsFromDefaults());
    await esdb.client.appendToStream(stream, [1, 2, 3].map((n) => jsonEvent({ type: 'thing.happened', data: { n } })));
    const subscription = esdb.client.subscribeToPersistentSubscriptionToStream(stream, group);
    let seen = 0;
    try {
      for await (const event of subscription) {
        await subscription.ack(event);
        if (++seen === 3) break;
      }
    } finally {
      await subscription.unsubscribe();
    }
    await esdb.client.getPersistentSubscriptionToStreamInfo(stream, group); // starts a window
    await esdb.client.appendToStream(stream, jsonEvent({ type: 'thing.happened', data: { n: 4 } }));
    const again = esdb.client.subscribeToPersistentSubscriptionToStream(stream, group);
    try {
      for await (const event of again) {
        await again.ack(event);
        break;
      }
    } finally {
      await again.unsubscribe();
    }
    for (const path of ['/ui/subscriptions', `/ui/subscriptions/${encodeURIComponent(stream)}/${group}`, '/metrics']) expect((await fetch(url(path))).status).toBe(200);
    const info = await esdb.client.getPersistentSubscriptionToStreamInfo(stream, group);
    expect(info.stats.countSinceLastMeasurement).toBe(1n);
  });

  it('gives process and queue figures in /stats', async () => {
    const stats = (await (await fetch(url('/stats'))).json()) as { proc: Record<string, unknown>; es: { queue: Record<string, { length: number }> } };
    expect(stats.proc).toMatchObject({ id: process.pid, mem: expect.any(Number), cpu: expect.any(Number) });
    expect(stats.es.queue.StorageWriterQueue).toMatchObject({ queueName: 'StorageWriterQueue', length: expect.any(Number) });
  });

  it("exposes the store's own Prometheus metrics: appends, reads, subscriptions, persistent groups", async () => {
    const stream = `metrics-${randomUUID()}`;
    await esdb.client.appendToStream(stream, [jsonEvent({ type: 'thing.happened', data: { n: 1 } }), jsonEvent({ type: 'thing.happened', data: { n: 2 } })]);
    for await (const _event of esdb.client.readStream(stream)) void _event;
    const group = `metrics-group-${randomUUID().slice(0, 8)}`;
    await esdb.client.createPersistentSubscriptionToAll(group, persistentSubscriptionToAllSettingsFromDefaults());

    const response = await fetch(url('/metrics'));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    const value = (pattern: RegExp) => Number(text.match(pattern)?.[1]);
    expect(value(/^eventstore_appended_events_total (\d+)$/m)).toBeGreaterThanOrEqual(2);
    expect(value(/^eventstore_read_events_total\{source="stream"\} (\d+)$/m)).toBeGreaterThanOrEqual(2);
    expect(text).toMatch(/^eventstore_writer_queue_appends \d+$/m);
    expect(text).toMatch(/^eventstore_append_commit_seconds_count \d+$/m);
    expect(text).toMatch(/^eventstore_subscriptions \d+$/m);
    expect(text).toContain(`eventstore_persistent_sub_parked_messages{event_stream_id="$all",group_name="${group}"} 0`);
    expect(text).toMatch(new RegExp(`^eventstore_persistent_sub_behind_by\\{event_stream_id="\\$all",group_name="${group}"\\} \\d+$`, 'm'));
    // Its own registry: nothing of it leaks into prom-client's global one (the app's).
    expect(await globalRegistry.metrics()).not.toContain('eventstore_appended_events_total');
  });

  it('answers unknown paths with 404 and an empty body, and other methods with 405', async () => {
    for (const path of ['/nope', '/streams', '/ui/nope', '/ui/streams/a/1/2/3', '/ui/assets/secret.txt', '/ui/assets/../../package.json']) {
      const response = await raw(path);
      expect(response.status, path).toBe(404);
      expect(response.body, path).toBe('');
    }
    const post = await raw('/ping', { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    expect((await raw('/ui/subscriptions/%24all/g/replay-parked')).status).toBe(405);
  });
});

describe('the UI over plain HTTP', () => {
  it('serves pages with a strict content security policy and no CORS', async () => {
    const response = await fetch(url('/ui/'), { headers: { origin: 'http://evil.example' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    expect((await fetch(url('/'), { redirect: 'manual' })).headers.get('location')).toBe('/ui/');
    const htmx = await fetch(url('/ui/assets/htmx.min.js'));
    expect(htmx.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect((await htmx.text()).length).toBeGreaterThan(10_000);
  });

  it('answers bad parameters with 400 and missing things with 404, never 500', async () => {
    const stream = `ui-${randomUUID()}`;
    await esdb.client.appendToStream(stream, [jsonEvent({ type: 'x', data: {} })]);
    const cases: [string, number][] = [
      [`/ui/streams/${stream}/abc`, 400],
      [`/ui/streams/${stream}/-1`, 400],
      [`/ui/streams/${stream}/99999999999999999999`, 400],
      [`/ui/streams/${stream}?from=x`, 400],
      ['/ui/streams/%E0%A4%A', 400],
      [`/ui/streams/${'a'.repeat(3_000)}`, 400],
      [`/ui/streams/${stream}/5`, 404],
      [`/ui/streams/no-such-${randomUUID()}`, 404],
      ['/ui/subscriptions/%24all/no-such-group', 404],
      [`/ui/streams/${stream}/0`, 200],
      [`/ui/streams/${stream}?from=0`, 200],
      ['/ui/trace/%00%01', 200],
    ];
    for (const [path, status] of cases) expect((await raw(path)).status, path).toBe(status);
  });

  it('cuts large data with a way to see all of it, shows binary data as such, and link events with their target', async () => {
    const category = `cat${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    const stream = `${category}-one`;
    const big = 'z'.repeat(40_000);
    await esdb.client.appendToStream(stream, [
      jsonEvent({ type: 'big.one', data: { big, end: 'THE-END' } }),
      binaryEvent({ type: 'raw.bytes', data: Buffer.from([0x00, 0xff, 0x10, 0x80, 0x41]) }),
    ]);
    const cut = await raw(`/ui/streams/${stream}/0`);
    expect(cut.body).toContain(`href="/ui/streams/${stream}/0?full=1"`);
    expect(cut.body).not.toContain('THE-END');
    expect((await raw(`/ui/streams/${stream}/0?full=1`)).body).toContain('THE-END');
    const binary = await raw(`/ui/streams/${stream}/1`);
    expect(binary.body).toContain('binary (application/octet-stream), 5 bytes');
    expect(binary.body).toContain('00 ff 10 80 41');
    // Previous / Next between a stream's events, none past its ends.
    expect(cut.body).toContain(`rel="next" href="/ui/streams/${stream}/1"`);
    expect(cut.body).not.toContain('rel="prev"');
    expect(binary.body).toContain(`rel="prev" href="/ui/streams/${stream}/0"`);
    expect(binary.body).not.toContain('rel="next"');

    const links = await raw(`/ui/streams/${encodeURIComponent(`$ce-${category}`)}`);
    expect(links.status).toBe(200);
    expect(links.body).toContain(`href="/ui/streams/${stream}/1"`);
    const link = await raw(`/ui/streams/${encodeURIComponent(`$ce-${category}`)}/1`);
    expect(link.body).toMatch(new RegExp(`Link <strong>1</strong> of .*\\$ce-${category}`));
    expect(link.body).toContain(`1@${stream}`);

    const search = await raw(`/ui/streams?q=${category}`);
    expect(search.body).toContain(`href="/ui/streams/${stream}"`);
    const recent = await raw('/ui/streams');
    expect(recent.body).toContain(`href="/ui/streams/${stream}"`);
  });

  it("pages a stream's events newest first, 50 a page", async () => {
    const stream = `paged-${randomUUID()}`;
    await esdb.client.appendToStream(stream, Array.from({ length: 120 }, (_, i) => jsonEvent({ type: 'n', data: { i } })));
    const revisionsOf = (html: string) => [...html.matchAll(/<tr data-revision="(\d+)">/g)].map((match) => Number(match[1]));
    const newest = await raw(`/ui/streams/${stream}`);
    expect(revisionsOf(newest.body)).toEqual(Array.from({ length: 50 }, (_, i) => 119 - i));
    expect(newest.body).toContain(`rel="next" href="/ui/streams/${stream}?from=69"`);
    expect(newest.body).toContain('hx-trigger="every 2s"');
    const last = await raw(`/ui/streams/${stream}?from=19`);
    expect(revisionsOf(last.body)).toEqual(Array.from({ length: 20 }, (_, i) => 19 - i));
    expect(last.body).not.toContain('rel="next"');
    expect(last.body).not.toContain('hx-trigger');
  });

  it('lists the system projections with their status and position', async () => {
    const page = await raw('/ui/projections');
    for (const name of ['$by_category', '$by_event_type', '$by_correlation_id', '$streams', '$stream_by_category']) expect(page.body).toContain(`data-projection="${name}"`);
    expect(page.body).toMatch(/data-projection="\$by_category"><td>\$by_category<\/td><td>System<\/td><td data-figure="status">Running<\/td><td data-figure="position">\d+<\/td>/);
  });

  it('keeps a tombstoned stream at 410 and resolves names holding slashes and spaces', async () => {
    const odd = `odd/name with spaces-${randomUUID()}`;
    await esdb.client.appendToStream(odd, [jsonEvent({ type: 'x', data: { here: true } })]);
    const page = await raw(`/ui/streams/${encodeURIComponent(odd)}`);
    expect(page.status).toBe(200);
    expect(page.body).toContain(odd);
    const gone = `gone-${randomUUID()}`;
    await esdb.client.appendToStream(gone, [jsonEvent({ type: 'x', data: {} })]);
    await esdb.client.tombstoneStream(gone);
    expect((await raw(`/ui/streams/${gone}`)).status).toBe(410);
  });

  it('refuses cross-site actions and asks for a confirmation before acting', async () => {
    const group = `ui-group-${randomUUID().slice(0, 8)}`;
    await esdb.client.createPersistentSubscriptionToAll(group, persistentSubscriptionToAllSettingsFromDefaults());
    const path = `/ui/subscriptions/%24all/${group}/delete`;
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const host = `${esdb.store.server.host}:${esdb.store.server.port}`;

    expect((await raw(path, { method: 'POST', headers: { ...form, 'sec-fetch-site': 'cross-site' }, body: 'confirm=yes' })).status).toBe(403);
    expect((await raw(path, { method: 'POST', headers: { ...form, origin: 'http://evil.example' }, body: 'confirm=yes' })).status).toBe(403);
    expect((await raw(path, { method: 'POST', headers: { ...form, origin: 'null' }, body: 'confirm=yes' })).status).toBe(403);
    expect((await raw(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"confirm":"yes"}' })).status).toBe(415);
    expect((await esdb.client.listAllPersistentSubscriptions()).some((info) => info.groupName === group)).toBe(true);

    const unconfirmed = await raw(path, { method: 'POST', headers: { ...form, origin: `http://${host}`, 'sec-fetch-site': 'same-origin' }, body: '' });
    expect(unconfirmed.status).toBe(200);
    expect(unconfirmed.body).toContain('cannot be undone');
    expect((await esdb.client.listAllPersistentSubscriptions()).some((info) => info.groupName === group)).toBe(true);

    const confirmed = await raw(path, { method: 'POST', headers: { ...form, origin: `http://${host}`, 'sec-fetch-site': 'same-origin' }, body: 'confirm=yes' });
    expect(confirmed.status).toBe(303);
    const notice = await raw(String(confirmed.headers.location));
    expect(notice.body).toContain(`Deleted group &#39;${group}&#39;`);
    expect((await esdb.client.listAllPersistentSubscriptions()).some((info) => info.groupName === group)).toBe(false);
  });

  it('replays only the first N parked messages when told how many', async () => {
    const stream = `parking-${randomUUID()}`;
    const group = 'ui-replay-n';
    await esdb.client.createPersistentSubscriptionToStream(stream, group, persistentSubscriptionToStreamSettingsFromDefaults());
    await esdb.client.appendToStream(stream, [1, 2, 3].map((n) => jsonEvent({ type: 'parked.one', data: { n } })));
    const subscription = esdb.client.subscribeToPersistentSubscriptionToStream(stream, group);
    let parkedSoFar = 0;
    const redelivered: number[] = [];
    const consuming = (async () => {
      for await (const event of subscription) {
        if (parkedSoFar < 3) {
          parkedSoFar++;
          await subscription.nack('park', 'poison for the test', event);
        } else {
          redelivered.push(Number(event.event!.revision));
          await subscription.ack(event);
        }
      }
    })();
    const groupPath = `/ui/subscriptions/${encodeURIComponent(stream)}/${group}`;
    const parkedCount = async () => Number((await raw(groupPath)).body.match(/data-figure="parked">(\d+)</)?.[1]);
    await eventually(async () => (await parkedCount()) === 3);
    const answer = await raw(`${groupPath}/replay-parked`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'count=2&confirm=yes' });
    expect(answer.status).toBe(303);
    expect((await raw(String(answer.headers.location))).body).toContain('Replay started: 2 parked messages');
    await eventually(async () => (await parkedCount()) === 1);
    await eventually(() => redelivered.length === 2);
    expect(redelivered).toEqual([0, 1]);
    await subscription.unsubscribe();
    await consuming.catch(() => undefined);
  });

  it('answers a replay count that is not a number with 400', async () => {
    const group = `ui-replay-${randomUUID().slice(0, 8)}`;
    await esdb.client.createPersistentSubscriptionToAll(group, persistentSubscriptionToAllSettingsFromDefaults());
    const response = await raw(`/ui/subscriptions/%24all/${group}/replay-parked`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'count=-3&confirm=yes',
    });
    expect(response.status).toBe(400);
    expect(response.body).toContain('whole number');
  });

  it('answers only to loopback host names when it listens on loopback (no DNS rebinding)', async () => {
    expect((await raw('/ui/', { headers: { host: 'attacker.example' } })).status).toBe(421);
    expect((await raw('/ui/', { headers: { host: `localhost:${esdb.store.server.port}` } })).status).toBe(200);
  });
});

describe('one port for both protocols', () => {
  it('survives garbage, half requests and idle sockets on the shared port, and gRPC goes on', async () => {
    const send = (bytes: string | Buffer) =>
      new Promise<string>((resolve) => {
        const socket = connect(esdb.store.server.port, esdb.store.server.host, () => socket.end(bytes));
        let answer = '';
        socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
        socket.on('close', () => resolve(answer));
        socket.on('error', () => resolve(answer));
      });
    expect(await send('\x16\x03\x01\x00garbage\r\n\r\n')).toMatch(/^HTTP\/1\.1 400/);
    // A request cut before its headers end is answered 400 (or the socket just closes).
    expect(await send('GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\n')).toMatch(/^(HTTP\/1\.1 400[^]*)?$/);
    await send('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00garbage');
    await send('P');
    const stream = `after-garbage-${randomUUID()}`;
    await esdb.client.appendToStream(stream, [jsonEvent({ type: 'still.alive', data: {} })]);
    const events = [];
    for await (const resolved of esdb.client.readStream(stream)) events.push(resolved.event?.type);
    expect(events).toEqual(['still.alive']);
    expect((await fetch(url('/ping'))).status).toBe(200);
  });

  it('with the HTTP side off, serves gRPC and closes connections that are not HTTP/2', async () => {
    const server = await startEventStoreServer({ memory: true, port: 0, http: false, insecure: true });
    const client = EventStoreDBClient.connectionString(server.connectionString);
    try {
      expect(server.uiUrl).toBeUndefined();
      await client.appendToStream('grpc-only', [jsonEvent({ type: 'x', data: {} })]);
      const events = [];
      for await (const resolved of client.readStream('grpc-only')) events.push(resolved.event?.type);
      expect(events).toEqual(['x']);
      await expect(fetch(`http://127.0.0.1:${server.port}/ping`)).rejects.toThrow();
    } finally {
      await client.dispose();
      await server.close();
    }
  });

  it('fails to start with a clear error when the port is taken', async () => {
    await expect(startEventStoreServer({ memory: true, port: esdb.store.server.port })).rejects.toThrow(/EADDRINUSE/);
  });
});
