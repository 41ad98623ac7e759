// A probe, not a benchmark (issue #16, docs/benchmarks.md "Tracing"): preloaded into the service
// by `BENCH_TRACING_COUNTS=1 npm run bench tracing` (`--import tsx --import <this file>`), it counts
// on the service's main thread what batches the work: read-model transactions (BEGIN/COMMIT),
// savepoints and statements (and the time its COMMITs and checkpoints take), appends to the store and their events and metadata bytes, the
// persistent subscriptions' deliveries, ack messages and acked ids, nacks, setImmediate calls and
// HTTP requests. The bench divides them by the commands of its window, so a setup that breaks a
// batch (a commit alone, an ack per event, an append split) shows as a count per command, which a
// loaded machine does not blur as it blurs times. The counts go to TRACING_COUNT_PROBE_OUT (JSON,
// rewritten every 250 ms and at exit). The store's own threads (its eval'd workers) do not load
// preloads: the bench counts their system calls with `perf` instead (BENCH_TRACING_SYSCALLS=1).
import { renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import http from 'node:http';
import { isMainThread } from 'node:worker_threads';

export type ProbeCounts = Record<string, number>;

const out = process.env.TRACING_COUNT_PROBE_OUT;
/** BENCH_TRACING_COUNTS=sql: each statement counted by its SQL too. */
const bySql = process.env.BENCH_TRACING_COUNTS === 'sql';
if (isMainThread && out) install(out);

function install(file: string): void {
  const counts: ProbeCounts = {};
  const inc = (key: string, by = 1) => void (counts[key] = (counts[key] ?? 0) + by);
  // The CommonJS modules the service imports: the same instances through require.
  const require = createRequire(import.meta.url);
  type Method = (this: unknown, ...args: unknown[]) => unknown;
  const wrap = (target: Record<string, unknown>, name: string, count: (self: unknown, args: unknown[]) => void) => {
    const original = target[name] as Method;
    target[name] = function (this: unknown, ...args: unknown[]) {
      count(this, args);
      return original.apply(this, args);
    };
  };

  const Database = require('better-sqlite3') as { prototype: Record<string, unknown> };
  const dbName = (db: unknown) => String((db as { name?: string }).name ?? '').split('/').pop() || 'memory';
  wrap(Database.prototype, 'exec', (db, [sql]) => {
    const word = String(sql).trim().split(/\s/)[0]!.toUpperCase();
    inc(`sqlite.${dbName(db)}.${['BEGIN', 'COMMIT', 'SAVEPOINT', 'RELEASE', 'ROLLBACK'].includes(word) ? word : 'exec'}`);
  });
  // Times too, of what may run a checkpoint on this thread (SQLite's automatic one runs in a
  // COMMIT; the checkpoint thread's writer catches up with a pragma): µs, and those over 2 ms.
  const timed = (name: string, key: (args: unknown[]) => string | undefined) => {
    const original = Database.prototype[name] as Method;
    Database.prototype[name] = function (this: unknown, ...args: unknown[]) {
      const counted = key(args);
      if (!counted) return original.apply(this, args);
      const started = process.hrtime.bigint();
      try {
        return original.apply(this, args);
      } finally {
        const us = Number(process.hrtime.bigint() - started) / 1000;
        const prefix = `sqlite.${dbName(this)}.${counted}`;
        inc(`${prefix}_us`, us);
        if (us > 2000) inc(`${prefix}_over_2ms`);
      }
    };
  };
  timed('exec', ([sql]) => (sql === 'COMMIT' ? 'COMMIT' : undefined));
  timed('pragma', ([sql]) => (String(sql).startsWith('wal_checkpoint') ? 'wal_checkpoint' : undefined));
  let statementsWrapped = false;
  const prepare = Database.prototype.prepare as Method;
  Database.prototype.prepare = function (this: unknown, ...args: unknown[]) {
    const statement = prepare.apply(this, args) as object;
    if (!statementsWrapped) {
      statementsWrapped = true;
      const proto = Object.getPrototypeOf(statement) as Record<string, unknown>;
      // Savepoints are prepared statements too (read-model-store.ts): counted apart, as exec's are.
      for (const method of ['run', 'get', 'all', 'iterate'])
        wrap(proto, method, (self) => {
          const { database, source } = self as { database: unknown; source: string };
          const word = /^(SAVEPOINT|RELEASE|ROLLBACK)\b/.exec(source)?.[1];
          inc(`sqlite.${dbName(database)}.${word ?? 'statements'}`);
          if (bySql) inc(`sql.${dbName(database)}.${source.replace(/\s+/g, ' ').slice(0, 90)}`);
        });
    }
    return statement;
  };

  const { EventStoreDBClient } = require('@eventstore/db-client') as { EventStoreDBClient: { prototype: Record<string, unknown> } };
  wrap(EventStoreDBClient.prototype, 'appendToStream', (_client, [, events]) => {
    const list = (Array.isArray(events) ? events : [events]) as { metadata?: unknown }[];
    inc('store.appends');
    inc('store.appendedEvents', list.length);
    for (const { metadata } of list) inc('store.metadataBytes', metadata instanceof Uint8Array ? metadata.length : metadata === undefined ? 0 : Buffer.byteLength(JSON.stringify(metadata)));
  });
  // By the stream's category (what reads it: an order's load, a WhatsApp message's ledger, ...).
  wrap(EventStoreDBClient.prototype, 'readStream', (_client, [stream]) => inc(`store.reads.${String(stream).split('-')[0]}`));
  const { PersistentSubscriptionImpl } = require('@eventstore/db-client/dist/persistentSubscription/utils/PersistentSubscriptionImpl.js') as { PersistentSubscriptionImpl: { prototype: Record<string, unknown> } };
  const subscription = PersistentSubscriptionImpl.prototype;
  wrap(subscription, 'ack', (_self, events) => {
    inc('subscriptions.ackMessages');
    inc('subscriptions.ackedIds', events.length);
  });
  wrap(subscription, 'nack', (_self, [action, , ...events]) => inc(`subscriptions.nacked.${String(action)}`, events.length));
  wrap(subscription, 'emit', (_self, [event]) => event === 'data' && inc('subscriptions.deliveries'));

  wrap(http.Server.prototype as unknown as Record<string, unknown>, 'emit', (_self, [event]) => event === 'request' && inc('http.requests'));
  wrap(globalThis as unknown as Record<string, unknown>, 'setImmediate', () => inc('setImmediate'));

  // Whole or not at all: the bench reads the file while the service runs.
  const dump = () => {
    writeFileSync(`${file}.tmp`, JSON.stringify(counts));
    renameSync(`${file}.tmp`, file);
  };
  setInterval(dump, 250).unref();
  process.on('exit', dump);
}
