// The store's local socket (esdb-server/local-socket.ts): gRPC without TLS on a Unix socket that
// only the store's OS user can open, for the process embedding the store. The official client
// connects there as `connectEmbeddedEventStore` does and acts as admin; the TCP port stays
// secured; the socket goes with the store, and one left by a killed store does not stop the next.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { EventStoreDBClient, persistentSubscriptionToAllSettingsFromDefaults } from '@eventstore/db-client';
import usersGrpc from '@eventstore/db-client/generated/users_grpc_pb.js';
import usersPb from '@eventstore/db-client/generated/users_pb.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEventStoreServer, type EventStoreServer } from '../../../src/esdb-server/index.js';
import { LOCAL_SOCKET_NAME } from '../../../src/esdb-server/local-socket.js';
import { connectEmbeddedEventStore } from '../../../src/eventstore/connection.js';
import { adminUsersClient, anEvent, createUser, disableUser, enableUser, eventually, outcome } from './acl-support.js';

const dirs: string[] = [];
const newDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'order-store-sock-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const socketPathOf = (server: EventStoreServer) => server.localEndpoint!.replace(/^unix:/, '');

/** Appends and reads back one event on a new stream: 'ok', or the refusal's class name. */
async function appendAndRead(client: EventStoreDBClient): Promise<string> {
  const stream = `order-${randomUUID()}`;
  return outcome(async () => {
    await client.appendToStream(stream, anEvent());
    const read = [];
    for await (const resolved of client.readStream(stream)) read.push(resolved.event?.type);
    if (read.join() !== 'thing.happened') throw new Error(`read back ${read.join()}`);
  });
}

/** A Users call on the socket with this `authorization` metadata (none: as the client sends it there). */
function usersDetailsOnSocket(server: EventStoreServer, authorization?: string): Promise<string> {
  const users = new usersGrpc.UsersClient(server.localEndpoint!, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  if (authorization) metadata.set('authorization', authorization);
  return new Promise<string>((resolve) => {
    const stream = users.details(new usersPb.DetailsReq().setOptions(new usersPb.DetailsReq.Options().setLoginName('admin')), metadata);
    stream.on('data', () => {});
    stream.on('error', (error: grpc.ServiceError) => resolve(grpc.status[error.code]));
    stream.on('end', () => resolve('ok'));
  }).finally(() => users.close());
}

describe('a secured store with its local socket', () => {
  let dataDir: string;
  let server: EventStoreServer;
  let local: EventStoreDBClient;
  beforeAll(async () => {
    dataDir = newDir();
    server = await startEventStoreServer({ port: 0, dataDir, localSocket: true });
    local = connectEmbeddedEventStore(server.localEndpoint!);
  });
  afterAll(async () => {
    await local?.dispose();
    await server?.close();
  });

  it('listens in the data directory, a socket only its owner may open', () => {
    expect(server.localEndpoint).toBe(`unix:${join(dataDir, LOCAL_SOCKET_NAME)}`);
    const socket = statSync(socketPathOf(server));
    expect(socket.isSocket()).toBe(true);
    expect(socket.mode & 0o777).toBe(0o600);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
  });

  it('serves the official client without TLS or credentials, as admin (it reads $users)', async () => {
    expect(await appendAndRead(local)).toBe('ok');
    const logins = [];
    for await (const resolved of local.readStream('$users')) logins.push(resolved.event?.data);
    expect(logins).toContain('admin');
  });

  it('checks credentials sent on it as the port does, and keeps the port secured', async () => {
    const credentials = server.credentials!;
    const basic = (password: string) => `Basic ${Buffer.from(`admin:${password}`).toString('base64')}`;
    expect(await usersDetailsOnSocket(server)).toBe('ok');
    expect(await usersDetailsOnSocket(server, basic(credentials.password))).toBe('ok');
    expect(await usersDetailsOnSocket(server, basic('wrong-password'))).toBe('UNAUTHENTICATED');
    // The port: TLS and no credentials is refused, as before.
    const anonymous = EventStoreDBClient.connectionString(`esdb://localhost:${server.port}?tls=true&tlsCAFile=${encodeURIComponent(credentials.caFile)}`);
    try {
      expect(await appendAndRead(anonymous)).toBe('AccessDeniedError');
    } finally {
      await anonymous.dispose();
    }
  });

  it('shows a group connection made on it as coming from the socket, where grpc-js knows no address', async () => {
    const group = `socket-peer-${randomUUID()}`;
    await local.createPersistentSubscriptionToAll(group, persistentSubscriptionToAllSettingsFromDefaults());
    const subscription = local.subscribeToPersistentSubscriptionToAll(group);
    try {
      const port = EventStoreDBClient.connectionString(server.connectionString);
      try {
        const froms = async () => (await port.getPersistentSubscriptionToAllInfo(group)).connections.map((connection) => connection.from).join(',');
        expect(await eventually(froms, server.localEndpoint!)).toBe(server.localEndpoint);
      } finally {
        await port.dispose();
      }
    } finally {
      await subscription.unsubscribe();
    }
  });

  it('acts as admin only while admin is enabled', async () => {
    const users = adminUsersClient({ server } as Parameters<typeof adminUsersClient>[0]);
    try {
      // Another administrator, to enable admin again afterwards.
      await createUser(users, 'root2', 'root2-password', ['$admins']);
      await disableUser(users, 'admin');
      expect(await eventually(() => appendAndRead(local), 'AccessDeniedError')).toBe('AccessDeniedError');
    } finally {
      users.close();
    }
    const root2 = adminUsersClient({ server: { ...server, credentials: { ...server.credentials!, login: 'root2', password: 'root2-password' } } } as Parameters<typeof adminUsersClient>[0]);
    try {
      await enableUser(root2, 'admin');
    } finally {
      root2.close();
    }
    expect(await eventually(() => appendAndRead(local), 'ok')).toBe('ok');
  });
});

describe('the local socket over a store\'s life', () => {
  const servers: EventStoreServer[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
  });

  it('is removed when the store closes, and not offered unless asked for', async () => {
    const dataDir = newDir();
    const server = await startEventStoreServer({ port: 0, dataDir, localSocket: true });
    const path = socketPathOf(server);
    expect(existsSync(path)).toBe(true);
    await server.close();
    expect(existsSync(path)).toBe(false);
    const without = await startEventStoreServer({ port: 0, dataDir });
    servers.push(without);
    expect(without.localEndpoint).toBeUndefined();
    expect(existsSync(path)).toBe(false);
  });

  it('takes over the socket file a killed store left behind', async () => {
    const dataDir = newDir();
    const path = join(dataDir, LOCAL_SOCKET_NAME);
    // A process listening on the path, killed with SIGKILL: its socket file stays.
    const child = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((resolve) => child.stdout.once('data', resolve));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    expect(statSync(path).isSocket()).toBe(true);
    const server = await startEventStoreServer({ port: 0, dataDir, localSocket: true });
    servers.push(server);
    const client = connectEmbeddedEventStore(server.localEndpoint!);
    try {
      expect(await appendAndRead(client)).toBe('ok');
    } finally {
      await client.dispose();
    }
  });

  it('is left out, not the store, when its path is taken by a file that is no socket (which it leaves alone)', async () => {
    const dataDir = newDir();
    const path = join(dataDir, LOCAL_SOCKET_NAME);
    writeFileSync(path, 'not a socket');
    const server = await startEventStoreServer({ port: 0, dataDir, localSocket: true });
    servers.push(server);
    expect(server.localEndpoint).toBeUndefined();
    expect(readFileSync(path, 'utf8')).toBe('not a socket');
    // The port serves as ever.
    const client = EventStoreDBClient.connectionString(server.connectionString);
    try {
      expect(await appendAndRead(client)).toBe('ok');
    } finally {
      await client.dispose();
    }
  });

  it('goes to a private temporary directory when the data directory\'s path is too long for a socket, and that goes with the store', async () => {
    const dataDir = join(newDir(), 'a-data-directory-whose-path-is-longer-than-a-unix-socket-path-may-be'.repeat(2));
    mkdirSync(dataDir, { recursive: true });
    const server = await startEventStoreServer({ port: 0, dataDir, localSocket: true });
    const path = socketPathOf(server);
    expect(path.startsWith(dataDir)).toBe(false);
    expect(statSync(join(path, '..')).mode & 0o777).toBe(0o700);
    const client = connectEmbeddedEventStore(server.localEndpoint!);
    try {
      expect(await appendAndRead(client)).toBe('ok');
    } finally {
      await client.dispose();
      await server.close();
    }
    expect(existsSync(join(path, '..'))).toBe(false);
  });

  it('serves an insecure store and a store in memory too', async () => {
    const insecure = await startEventStoreServer({ port: 0, dataDir: newDir(), insecure: true, localSocket: true });
    servers.push(insecure);
    const memory = await startEventStoreServer({ port: 0, memory: true, localSocket: true });
    servers.push(memory);
    for (const server of [insecure, memory]) {
      const client = connectEmbeddedEventStore(server.localEndpoint!);
      try {
        expect(await appendAndRead(client)).toBe('ok');
      } finally {
        await client.dispose();
      }
    }
  });
});
