// Where the store is reachable and how the service reaches a secured one: the embedded store
// binds loopback unless told otherwise, and a `tls=true` connection string with credentials
// makes the client speak TLS and authenticate, checked against a local TLS gRPC endpoint.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type AddressInfo } from 'node:net';
import { createSecureServer, type Http2SecureServer } from 'node:http2';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { startEventStoreServer } from '../../../src/esdb-server/index.js';
import { connectEventStore } from '../../../src/eventstore/connection.js';

/** The first IPv4 address of this machine that is not loopback, if it has one. */
function externalAddress(): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((entry) => entry && entry.family === 'IPv4' && !entry.internal)?.address;
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('the embedded store on the network', () => {
  it('listens on 127.0.0.1 by default: reachable on loopback, not on the machine\'s other addresses', async () => {
    const server = await startEventStoreServer({ port: 0, memory: true, insecure: true });
    try {
      expect(server.host).toBe('127.0.0.1');
      expect(server.connectionString).toBe(`esdb://127.0.0.1:${server.port}?tls=false`);
      expect(await canConnect('127.0.0.1', server.port)).toBe(true);
      const external = externalAddress();
      if (external) expect(await canConnect(external, server.port)).toBe(false);
    } finally {
      await server.close();
    }
  });

  it('listens on every interface only when told to', async () => {
    const server = await startEventStoreServer({ port: 0, memory: true, host: '0.0.0.0', insecure: true });
    try {
      expect(server.host).toBe('0.0.0.0');
      const external = externalAddress() ?? '127.0.0.1';
      expect(await canConnect(external, server.port)).toBe(true);
    } finally {
      await server.close();
    }
  });
});

describe('a secured EventStoreDB', () => {
  let dir: string;
  let server: Http2SecureServer;
  const seen: Array<{ path: string; authorization: string | undefined; encrypted: boolean }> = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'order-store-tls-'));
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
      { stdio: 'ignore' },
    );
    // Stands in for EventStoreDB's TLS gRPC endpoint: records each call, answers UNAVAILABLE.
    server = createSecureServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')), allowHTTP1: false }, (request, response) => {
      seen.push({ path: request.url, authorization: request.headers.authorization, encrypted: request.socket instanceof TLSSocket });
      response.writeHead(200, { 'content-type': 'application/grpc' });
      response.addTrailers({ 'grpc-status': '14', 'grpc-message': 'test endpoint' });
      response.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('connects over TLS with the credentials of a tls=true connection string, taken from the configuration unchanged', async () => {
    const { port } = server.address() as AddressInfo;
    const connectionString = `esdb://admin:changeit@localhost:${port}?tls=true&tlsCAFile=${encodeURIComponent(join(dir, 'cert.pem'))}`;
    const config = loadConfig({ ESDB_CONNECTION_STRING: connectionString, API_KEYS: 'k:t' });
    expect(config.esdbConnectionString).toBe(connectionString);
    const client = connectEventStore(config.esdbConnectionString!);
    try {
      await expect(async () => {
        for await (const _event of client.readStream('order-anything', { maxCount: 1, deadline: 5_000 })) break;
      }).rejects.toThrow();
    } finally {
      await client.dispose();
    }
    expect(seen).toContainEqual({
      path: '/event_store.client.streams.Streams/Read',
      authorization: `Basic ${Buffer.from('admin:changeit').toString('base64')}`,
      encrypted: true,
    });
  });
});
