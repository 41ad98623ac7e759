// What tracing costs `npm start` (ROLE=all: API, every handler and projection, the embedded
// store) under the lifecycle load (create -> pay -> ship over HTTP, keep-alive connections):
//   - off: no OTEL_* variable (the default)
//   - on, always_on: every request traced, spans exported (OTLP/HTTP protobuf, the default
//     protocol) to a collector on loopback in this process
//   - on, 1%: parentbased_traceidratio 0.01 to the same collector
// Setups take turns (off, on, 1%, off, ...) for BENCH_TRACING_ROUNDS rounds so a load change on a
// shared machine weighs on all of them; the median of each is kept. Ratios are to off, same
// run; each setup's CPU per command (its process, all threads, from /proc) is printed too, the
// steadier figure on a busy machine. Target: on at 1% >= 0.95x off.
//
// Sizes (env): BENCH_TRACING_SECONDS (10), BENCH_TRACING_WARMUP (3), BENCH_TRACING_CONNECTIONS
// (50), BENCH_TRACING_ROUNDS (2), BENCH_TRACING_SETUPS (off,always,ratio), BENCH_TRACING_BIN.
// Run: `npm run bench tracing`.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/helpers/free-port.js';
import { OtlpReceiver } from '../test/integration/tracing/otlp-receiver.js';
import { cpuSecondsOf, startChild, stopChild } from './children.js';
import { orderLifecycle, percentile, postJson } from './http-load.js';
import { reportFigure } from './report.js';

const here = dirname(fileURLToPath(import.meta.url));
// Another checkout's bin/orders.js (BENCH_TRACING_BIN) measures a before/after on one machine.
const bin = process.env.BENCH_TRACING_BIN ?? join(here, '..', 'bin', 'orders.js');
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const SECONDS = env('BENCH_TRACING_SECONDS', 10);
const WARMUP_SECONDS = env('BENCH_TRACING_WARMUP', 3);
const CONNECTIONS = env('BENCH_TRACING_CONNECTIONS', 50);
const ROUNDS = env('BENCH_TRACING_ROUNDS', 2);
const API_KEY = 'bench-key-tracing-0123456789';

type Setup = 'off' | 'always' | 'ratio';
const SETUPS = (process.env.BENCH_TRACING_SETUPS ?? 'off,always,ratio').split(',').map((name) => name.trim()) as Setup[];
const LABELS: Record<Setup, string> = { off: 'tracing off', always: 'tracing on, always_on', ratio: 'tracing on, 1%' };

interface Run {
  perSecond: number;
  cpuMsPerCommand: number;
  p99: number;
}

const receiver = new OtlpReceiver();
const endpoint = await receiver.start();

function tracingEnv(setup: Setup): Record<string, string> {
  if (setup === 'off') return {};
  return {
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    OTEL_SERVICE_NAME: 'order-store-bench',
    ...(setup === 'always' ? { OTEL_TRACES_SAMPLER: 'always_on' } : { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.01' }),
  };
}

async function drive(port: number, seconds: number): Promise<{ commands: number; seconds: number; latenciesMs: number[] }> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const latenciesMs: number[] = [];
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < deadline) {
        const orderId = randomUUID();
        for (const step of orderLifecycle(orderId)) {
          const sent = performance.now();
          const reply = await postJson(agent, port, step.path, step.body, API_KEY);
          latenciesMs.push(performance.now() - sent);
          if (reply.status !== step.expect) throw new Error(`${step.path} answered ${reply.status}: ${reply.body}`);
        }
      }
    }),
  );
  agent.destroy();
  return { commands: latenciesMs.length, seconds: (performance.now() - started) / 1000, latenciesMs };
}

async function measure(setup: Setup): Promise<Run> {
  const dataDir = mkdtempSync(join(tmpdir(), 'order-store-bench-tracing-'));
  const [port, eventStorePort] = [await freePort(), await freePort()];
  const { child } = await startChild(
    [bin, 'serve'],
    {
      ORDERS_FROM_SOURCE: '1',
      PORT: String(port),
      EVENTSTORE_PORT: String(eventStorePort),
      DATA_DIR: dataDir,
      API_KEYS: `${API_KEY}:bench`,
      LOG_LEVEL: 'warn',
      OVERLOAD_MAX_QUEUE_MS: '30000',
      ...(process.env.BENCH_TRACING_INSECURE ? { EVENTSTORE_INSECURE: 'true' } : {}),
      ...tracingEnv(setup),
    },
    /listening on http:\/\/\S+/,
  );
  try {
    await drive(port, WARMUP_SECONDS);
    const cpuBefore = cpuSecondsOf(child.pid);
    const load = await drive(port, SECONDS);
    const cpu = cpuSecondsOf(child.pid) - cpuBefore;
    const sorted = load.latenciesMs.sort((a, b) => a - b);
    return { perSecond: load.commands / load.seconds, cpuMsPerCommand: (cpu * 1000) / load.commands, p99: percentile(sorted, 99) };
  } finally {
    await stopChild(child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const runs: Record<Setup, Run[]> = { off: [], always: [], ratio: [] };
for (let round = 1; round <= ROUNDS; round++) {
  for (const setup of SETUPS) {
    const before = receiver.protobufRequests;
    const run = await measure(setup);
    runs[setup].push(run);
    console.log(
      `round ${round} ${LABELS[setup].padEnd(24)} ${run.perSecond.toFixed(0).padStart(6)} commands/s  ${run.cpuMsPerCommand.toFixed(3)} ms CPU/command  p99 ${run.p99.toFixed(1)} ms  ${receiver.protobufRequests - before} OTLP exports`,
    );
  }
}
await receiver.stop();

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const round = (value: number, digits = 1) => Number(value.toFixed(digits));
const off = { perSecond: median(runs.off.map((run) => run.perSecond)), cpu: median(runs.off.map((run) => run.cpuMsPerCommand)) };
for (const setup of SETUPS) {
  if (runs[setup].length === 0) continue;
  const perSecond = median(runs[setup].map((run) => run.perSecond));
  const cpu = median(runs[setup].map((run) => run.cpuMsPerCommand));
  const baseline = setup === 'off' ? {} : { baseline: round(off.perSecond, 0), baselineName: 'tracing off' };
  reportFigure({ name: `npm start lifecycle, ${LABELS[setup]}`, value: round(perSecond, 0), unit: 'commands/s', ...baseline, ...(setup === 'ratio' ? { target: '>= 0.95x' } : {}) });
  if (setup !== 'off') reportFigure({ name: `npm start CPU per command, ${LABELS[setup]}`, value: round(cpu, 3), unit: 'ms', baseline: round(off.cpu, 3), baselineName: 'tracing off' });
}
