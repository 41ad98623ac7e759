import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { getHeapStatistics } from 'node:v8';
import { HashedApiKeys } from '../../src/api/api-keys.js';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('configuration from the environment', () => {
  it('defaults to the embedded setup', () => {
    expect(loadConfig({})).toEqual({
      port: 3000,
      host: '127.0.0.1',
      eventStorePort: 2113,
      dataDir: './data',
      esdbConnectionString: undefined,
      apiKeys: new HashedApiKeys(),
      logLevel: 'info',
      role: 'all',
      bodyLimitBytes: 65536,
      eventStoreHost: '127.0.0.1',
      eventStoreInsecure: false,
      rateLimitPerMinute: 120_000,
      overload: {
        maxEventLoopDelayMs: 500,
        maxHeapUsedBytes: Math.floor(getHeapStatistics().heap_size_limit * 0.9),
        retryAfterSeconds: 5,
        maxInFlightCommands: 64,
        maxInFlightReads: 128,
        maxQueued: 512,
        maxQueueMs: 1_000,
        targetServiceMs: 500,
        latencyBudgetMs: 2_000,
        shedPauseMs: 250,
        shedPauseMaxMs: 0,
        maxQueuedAppends: 256,
        maxAppendsPerTurn: 8,
      },
      http: { listenBacklog: 4_096, acceptListeners: 16, requestTimeoutMs: 30_000 },
      shutdownGraceMs: 8_000,
      heapGrowingPercent: 50,
    });
  });

  it('reads API_KEYS as <key>:<tenantId> pairs, keeping only each key\'s SHA-256 digest', () => {
    const config = loadConfig({ API_KEYS: 'k-one:tenant-a, k-two:tenant-b', ESDB_CONNECTION_STRING: 'esdb://db:2113?tls=false', ROLE: 'api' });
    const sha256 = (key: string) => createHash('sha256').update(key).digest('hex');
    expect([...config.apiKeys]).toEqual([
      [sha256('k-one'), 'tenant-a'],
      [sha256('k-two'), 'tenant-b'],
    ]);
    expect(config.esdbConnectionString).toBe('esdb://db:2113?tls=false');
    expect(config.role).toBe('api');
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ PORT: '', API_KEYS: '' }).port).toBe(3000);
  });

  it.each([
    [{ PORT: 'abc' }, "invalid configuration: PORT must be a port number (got 'abc')"],
    [{ EVENTSTORE_PORT: '70000' }, "invalid configuration: EVENTSTORE_PORT must be between 1 and 65535 (got '70000')"],
    [{ LOG_LEVEL: 'loud' }, "invalid configuration: LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got 'loud')"],
    [{ ROLE: 'both' }, "invalid configuration: ROLE must be one of api, workers, all (got 'both')"],
    [{ HTTP_ACCEPT_LISTENERS: '0' }, "invalid configuration: HTTP_ACCEPT_LISTENERS must be at least 1 (got '0')"],
    [{ HTTP_ACCEPT_LISTENERS: '65' }, "invalid configuration: HTTP_ACCEPT_LISTENERS must be at most 64 (got '65')"],
    [{ HEAP_GROWING_PERCENT: '-1' }, "invalid configuration: HEAP_GROWING_PERCENT must be 0 or more (got '-1')"],
    [{ HEAP_GROWING_PERCENT: '1.5' }, "invalid configuration: HEAP_GROWING_PERCENT must be a whole number (got '1.5')"],
    [{ ESDB_CONNECTION_STRING: 'http://db:2113' }, "invalid configuration: ESDB_CONNECTION_STRING must look like esdb://host:2113?tls=false (got 'http://db:2113')"],
  ])('refuses %o with one clear line', (env, message) => {
    expect(() => loadConfig(env)).toThrow(new ConfigError(message));
  });

  it('refuses a malformed or duplicated API key without echoing the key', () => {
    expect(() => loadConfig({ API_KEYS: 'secret-key-without-tenant' })).toThrow("invalid configuration: API_KEYS entry 'secr****' is not <key>:<tenantId>");
    expect(() => loadConfig({ API_KEYS: 'secret-1:a,secret-1:b' })).toThrow("invalid configuration: API_KEYS key 'secr****' is listed twice");
  });
});
