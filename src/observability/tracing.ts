// The OpenTelemetry SDK, set up once at the composition root (src/main.ts) from the standard
// OTEL_* variables. Off unless asked for: with no OTLP endpoint and no OTEL_TRACES_EXPORTER,
// nothing is created (no provider, no exporter, no patched client) and every span in the code
// paths stays the API's no-op one. Sampling is OTEL_TRACES_SAMPLER / _ARG (default
// parentbased_always_on); the exporters read their own OTEL_EXPORTER_OTLP_* variables
// (endpoint, headers, timeout, compression), the batch processor OTEL_BSP_*.
import { ROOT_CONTEXT, SpanKind, context, propagation, trace } from '@opentelemetry/api';
import { EventStoreDBClient } from '@eventstore/db-client';
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  NodeTracerProvider,
  ParentBasedSampler,
  SamplingDecision,
  TraceIdRatioBasedSampler,
  type IdGenerator,
  type Sampler,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-node';
import { ConfigError } from '../config.js';
import { instrumentEventStoreClient } from './esdb-instrumentation.js';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CallContextManager, asyncContextFrameActive, newSpanId, newTraceId, setTracingEnabled, takeDrawnTraceId } from './trace-api.js';

type Env = Record<string, string | undefined>;

export interface TracingSettings {
  exporters: ('otlp' | 'console')[];
  protocol: 'http/protobuf' | 'http/json';
  sampler: string;
  /** Where OTLP goes, for the start-up line (the exporter resolves it itself). */
  endpoint: string | undefined;
  /** How the active context travels, once started: `async-local-storage`, or `call` (trace-api.ts). */
  context?: 'call' | 'async-local-storage';
}

export interface Tracing {
  readonly settings: TracingSettings;
  /** Sends what is buffered. */
  flush(): Promise<void>;
  /** Sends what is buffered, then stops (spans started after are no-ops again). */
  shutdown(): Promise<void>;
}

const SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'];

/** Undefined when tracing is not configured; throws ConfigError naming a bad variable. */
export function tracingSettings(env: Env = process.env): TracingSettings | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  const endpoint = nonEmpty(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) ?? nonEmpty(env.OTEL_EXPORTER_OTLP_ENDPOINT);
  const named = nonEmpty(env.OTEL_TRACES_EXPORTER);
  const exporters = named ? named.split(',').map((name) => name.trim().toLowerCase()).filter(Boolean) : endpoint ? ['otlp'] : [];
  for (const name of exporters) {
    if (!['otlp', 'console', 'none'].includes(name)) throw new ConfigError(`invalid configuration: OTEL_TRACES_EXPORTER: '${name}' is not one of otlp, console, none`);
  }
  const active = exporters.filter((name): name is 'otlp' | 'console' => name !== 'none');
  if (active.length === 0) return undefined;

  const protocol = (nonEmpty(env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL) ?? nonEmpty(env.OTEL_EXPORTER_OTLP_PROTOCOL) ?? 'http/protobuf').toLowerCase();
  if (protocol !== 'http/protobuf' && protocol !== 'http/json') {
    throw new ConfigError(`invalid configuration: OTEL_EXPORTER_OTLP_PROTOCOL: '${protocol}' is not supported (http/protobuf or http/json; gRPC OTLP is not bundled)`);
  }
  const sampler = (nonEmpty(env.OTEL_TRACES_SAMPLER) ?? 'parentbased_always_on').toLowerCase();
  if (!SAMPLERS.includes(sampler)) throw new ConfigError(`invalid configuration: OTEL_TRACES_SAMPLER: '${sampler}' is not one of ${SAMPLERS.join(', ')}`);
  ratioOf(env);
  return { exporters: active, protocol, sampler: sampler.endsWith('traceidratio') ? `${sampler} ${ratioOf(env)}` : sampler, endpoint: active.includes('otlp') ? (endpoint ?? 'http://localhost:4318') : undefined };
}

export interface StartOptions {
  /**
   * Carry the active context across every `await` (AsyncLocalStorage), for a one-shot command
   * whose code passes no context along (the CLI). The service leaves it off: on Node 20 it costs
   * every promise of the process something (trace-api.ts).
   */
  asyncContext?: boolean;
}

/** How long stopping waits for the last spans to be sent. */
const SHUTDOWN_FLUSH_MS = 2_000;

let running: { tracing: Tracing; users: number; flush: () => Promise<void>; stop: () => Promise<void> } | undefined;

/**
 * Starts the SDK when the environment asks for it; undefined (and nothing created) otherwise.
 * One SDK per process: a second caller shares the first one's, and the last shutdown stops it.
 */
export function startTracing(env: Env = process.env, options: StartOptions = {}): Tracing | undefined {
  const settings = tracingSettings(env);
  if (!settings) return undefined;
  if (running) {
    running.users++;
    return handle(running.tracing.settings);
  }
  const exporters: SpanExporter[] = settings.exporters.map((name) =>
    name === 'console' ? new ConsoleSpanExporter() : settings.protocol === 'http/json' ? new OtlpJsonExporter() : new OtlpProtobufExporter(),
  );
  // Defaults < the service's name < OTEL_RESOURCE_ATTRIBUTES / OTEL_SERVICE_NAME.
  const resource = defaultResource()
    .merge(resourceFromAttributes({ 'service.name': 'order-store' }))
    .merge(detectResources({ detectors: [envDetector] }));
  const { sampler, root } = samplerOf(env);
  const provider = new NodeTracerProvider({
    resource,
    sampler,
    idGenerator: IDS,
    spanProcessors: exporters.map((exporter) => new BatchSpanProcessor(exporter)),
  });
  // The SDK's AsyncLocalStorage where it is cheap or asked for; else the call-scoped slot that
  // costs nothing per promise (trace-api.ts says how the service's code carries its contexts).
  const asyncContext = options.asyncContext === true || asyncContextFrameActive();
  provider.register({ contextManager: asyncContext ? new AsyncLocalStorageContextManager() : new CallContextManager() });
  const unpatch = instrumentEventStoreClient(EventStoreDBClient);
  setTracingEnabled(true, {
    parentBased: samplerName(env).startsWith('parentbased_'),
    keepsRoot: rootDecisionOf(root),
    dropsRoots: root instanceof AlwaysOffSampler || (root instanceof TraceIdRatioBasedSampler && ratioOf(env) < 1),
  });
  running = {
    tracing: handle({ ...settings, context: asyncContext ? 'async-local-storage' : 'call' }),
    users: 1,
    flush: () => provider.forceFlush(),
    async stop() {
      setTracingEnabled(false);
      unpatch();
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
  return running.tracing;

  // A second caller's handle too: the running SDK's, not this call's (which made none).
  function handle(own: TracingSettings): Tracing {
    let stopped = false;
    const flush = () => (running ? running.flush() : Promise.resolve());
    return {
      settings: own,
      flush,
      async shutdown() {
        if (stopped || !running) return;
        stopped = true;
        if (--running.users > 0) {
          await flush();
          return;
        }
        const { stop } = running;
        running = undefined;
        // Bounded: an unreachable collector must not hold up the process's exit.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([stop(), new Promise<void>((resolve) => (timer = setTimeout(resolve, SHUTDOWN_FLUSH_MS)))]);
        clearTimeout(timer);
      },
    };
  }
}

/** Ids of the SDK's spans: a root's trace id the service decided to keep (trace-api.ts), else random ones from the same pool. */
const IDS: IdGenerator = { generateTraceId: () => takeDrawnTraceId() ?? newTraceId(), generateSpanId: newSpanId };

const samplerName = (env: Env) => (nonEmpty(env.OTEL_TRACES_SAMPLER) ?? 'parentbased_always_on').toLowerCase();

/** The SDK's sampler, and the one that decides its roots. */
function samplerOf(env: Env): { sampler: Sampler; root: Sampler } {
  const ratio = () => new TraceIdRatioBasedSampler(ratioOf(env));
  const parentBased = (root: Sampler) => ({ sampler: new ParentBasedSampler({ root }), root });
  const alone = (root: Sampler) => ({ sampler: root, root });
  switch (samplerName(env)) {
    case 'always_on':
      return alone(new AlwaysOnSampler());
    case 'always_off':
      return alone(new AlwaysOffSampler());
    case 'traceidratio':
      return alone(ratio());
    case 'parentbased_always_off':
      return parentBased(new AlwaysOffSampler());
    case 'parentbased_traceidratio':
      return parentBased(ratio());
    default:
      return parentBased(new AlwaysOnSampler());
  }
}

/**
 * A root sampler whose decision reads nothing but the trace id, as a test of one (the service
 * then decides its roots before asking the SDK: trace-api.ts); undefined for one that keeps every
 * root (nothing to save).
 */
function rootDecisionOf(root: Sampler): ((traceId: string) => boolean) | undefined {
  if (!(root instanceof TraceIdRatioBasedSampler || root instanceof AlwaysOffSampler)) return undefined;
  const sampler: Sampler = root;
  return (traceId) => sampler.shouldSample(ROOT_CONTEXT, traceId, '', SpanKind.INTERNAL, {}, []).decision === SamplingDecision.RECORD_AND_SAMPLED;
}

function ratioOf(env: Env): number {
  const raw = nonEmpty(env.OTEL_TRACES_SAMPLER_ARG);
  if (raw === undefined) return 1;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0 || value > 1) throw new ConfigError(`invalid configuration: OTEL_TRACES_SAMPLER_ARG: '${raw}' must be a number between 0 and 1`);
  return value;
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}
