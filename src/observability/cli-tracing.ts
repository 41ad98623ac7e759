// A CLI command that talks to the store (`orders replay`, `orders trace`, ...) as one trace: a
// root span named by the subcommand, with the client's reads and appends under it. Only when the
// OTEL_* variables ask for traces (src/cli/store-connection.ts starts the SDK then).
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { tracer, tracingEnabled } from './trace-api.js';

export function traceCliCommand<T>(subcommand: string | undefined, run: () => Promise<T>): Promise<T> {
  if (!tracingEnabled()) return run();
  return tracer().startActiveSpan(subcommand ? `orders ${subcommand}` : 'orders', { kind: SpanKind.INTERNAL }, async (span) => {
    try {
      return await run();
    } catch (error) {
      span.setAttribute('error.type', error instanceof Error ? error.name : 'Error');
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      throw error;
    } finally {
      span.end();
    }
  });
}
