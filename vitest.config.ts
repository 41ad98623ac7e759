import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

/**
 * The suites over read models, handlers, replay, the CLI and tenancy, run again on PostgreSQL
 * (READ_MODEL_BACKEND=postgres: test/helpers/read-models.ts gives them their stores; one server
 * for the run from test/helpers/postgres-server.ts). `--project sqlite` / `--project postgres`
 * runs one backend.
 */
const ON_BOTH_BACKENDS = [
  'test/unit/projections/**/*.test.ts',
  'test/unit/readmodels/**/*.test.ts',
  'test/unit/subscriptions/shared-commit.unit.test.ts',
  'test/unit/subscriptions/projection-batcher.unit.test.ts',
  'test/unit/readmodels-postgres/**/*.test.ts',
  'test/unit/handlers/whatsapp-outbox-view.unit.test.ts',
  'test/integration/hardening/tenan*.int.test.ts',
  'test/integration/hardening/bad-http-input.int.test.ts',
  'test/integration/api/openapi-contract.int.test.ts',
  'test/integration/workers/**/*.int.test.ts',
  // The CLI (orders children get READ_MODEL_URL from test/helpers/read-models.ts, readModelEnv).
  'test/e2e/cli/replay.e2e.test.ts',
  'test/e2e/cli/replay-swap.int.test.ts',
  'test/e2e/cli/replay-until-kill.e2e.test.ts',
  'test/e2e/cli/projection-parked.e2e.test.ts',
  'test/e2e/cli/projections.e2e.test.ts',
  'test/e2e/cli/lag-idle.e2e.test.ts',
  'test/e2e/cli/history-trace.e2e.test.ts',
  'test/e2e/cli/shutdown.e2e.test.ts',
  'test/e2e/faults/whatsapp-ledger.e2e.test.ts',
];
// On SQLite only, and why:
// - test/e2e/cli/parked.e2e: `orders parked <group>` of a handler group reads the event store's parked stream, no read model.
// - test/e2e/faults/read-model-damage.e2e, test/integration/faults/watched-read-model.int: a deleted or corrupted readmodels.db (PostgreSQL has no file).
// - test/e2e/faults/disk-full.e2e: the SQLite file's disk filling up.
// - test/integration/api/legacy-stock-counts.int: an upgrade of the inventory_stock table versions before PostgreSQL support left in SQLite.
// - test/unit/handlers/* but whatsapp-outbox-view: pure functions (deciders, config, message building), no store.
// Inside suites that run on both, tests that touch no read model run once, on SQLite (it.skipIf(onPostgres)).
/** Several hosts on one PostgreSQL, and its connections lost: meaningful on PostgreSQL only. */
const ON_POSTGRES_ONLY = ['test/e2e/multi-host*.test.ts', 'test/integration/workers/connection-loss.int.test.ts'];

// Generous: two files at a time on 2 cores (and a machine busy with other work) slow each test.
const common = {
  testTimeout: 60_000,
  hookTimeout: 60_000,
  pool: 'forks' as const,
};
/** `orders` children spawned by tests run a build of the sources compiled for this run (ORDERS_DIST_DIR, set by this global setup), else the sources through tsx: never a stale dist/. */
const BUILD = 'test/helpers/global-build.ts';
/**
 * The environment of the test processes and of every `orders` child they spawn. The service sheds
 * load on a 2 s latency budget and 500 ms of event-loop delay by default: on a machine running two
 * test files and their children, a starved child answered a test's command 503. A test about
 * shedding sets its own OVERLOAD_* (test/e2e/overload.e2e.test.ts).
 */
const env = { ORDERS_FROM_SOURCE: '1', OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0', OVERLOAD_LATENCY_BUDGET_MS: '0' };

export default defineConfig({
  test: {
    // Most test files wait on child processes and servers rather than compute: on 2 cores, two
    // files at a time (vitest's default there is 1).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    reporters: process.env.CI ? ['default'] : ['default'],
    projects: [
      {
        test: {
          ...common,
          name: 'sqlite',
          include: ['test/**/*.test.ts'],
          exclude: ['test/unit/readmodels-postgres/**', ...ON_POSTGRES_ONLY, '**/node_modules/**'],
          globalSetup: [BUILD],
          env,
        },
      },
      {
        test: {
          ...common,
          name: 'postgres',
          include: [...ON_BOTH_BACKENDS, ...ON_POSTGRES_ONLY],
          env: { ...env, READ_MODEL_BACKEND: 'postgres' },
          globalSetup: [BUILD, 'test/helpers/postgres-server.ts'],
        },
      },
    ],
  },
});
