// A secured EventStoreDB (TLS + credentials in the connection string) is configured by
// ESDB_CONNECTION_STRING alone: the service hands the string to the client unchanged, and the
// embedded store, used only without it, listens on loopback unless told otherwise.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';

describe('connecting to a secured EventStoreDB', () => {
  it.each([
    'esdb://admin:changeit@db.example.com:2113?tls=true',
    'esdb://admin:changeit@db.example.com:2113?tls=true&tlsVerifyCert=true&tlsCAFile=/etc/eventstore/certs/ca/ca.crt',
    'esdb+discover://ops%40example:p%40ss%3Aw0rd@cluster.example.com:2113?tls=true&nodePreference=leader',
    'esdb://admin:changeit@node1:2113,node2:2113,node3:2113?tls=true&keepAliveInterval=10000',
  ])('takes %s as it is, credentials and TLS options included', (connectionString) => {
    expect(loadConfig({ ESDB_CONNECTION_STRING: connectionString, API_KEYS: 'k:t' }).esdbConnectionString).toBe(connectionString);
  });

  it('never echoes the credentials of a connection string it refuses', () => {
    expect(() => loadConfig({ ESDB_CONNECTION_STRING: 'esdb://admin:s3cret@db.example.com:2113 ?tls=true' })).toThrow(
      "invalid configuration: ESDB_CONNECTION_STRING must look like esdb://host:2113?tls=false (got 'esdb://***@db.example.com:2113 ?tls=true')",
    );
  });

  it('listens with the embedded store on 127.0.0.1 unless EVENTSTORE_HOST says otherwise', () => {
    expect(loadConfig({}).eventStoreHost).toBe('127.0.0.1');
    expect(loadConfig({ EVENTSTORE_HOST: '0.0.0.0' }).eventStoreHost).toBe('0.0.0.0');
  });
});
