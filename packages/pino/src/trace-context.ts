/**
 * Reads the active OpenTelemetry context when `@opentelemetry/api` is installed, without importing
 * `@glasswork/otel`: whatever tracing the process has (our plugin, the Lambda instrumentation, an HTTP
 * server span) shows up in the log lines. Without the package, none of this does any work.
 */
type OtelApi = typeof import('@opentelemetry/api');
type OtelContext = import('@opentelemetry/api').Context;

let loading: Promise<OtelApi | undefined> | undefined;

function loadApi(): Promise<OtelApi | undefined> {
  // The `.catch` right on the import tells bundlers the package is optional (resolved if present).
  loading ??= import('@opentelemetry/api').catch(() => undefined);
  return loading;
}

/** The active span's ids, in the field names OpenTelemetry's own pino instrumentation uses. */
export interface TraceFields {
  readonly trace_id: string;
  readonly span_id: string;
  readonly trace_flags: string;
}

export interface TraceContext {
  /** The ids of the active span, if there is a valid one. */
  fields(): TraceFields | undefined;
  /** The active context, to restore later with `run` (terminal events fire outside the delivery). */
  capture(): OtelContext;
  run<T>(saved: OtelContext | undefined, fn: () => T): T;
}

/** The trace context reader, or undefined when `@opentelemetry/api` is not installed. */
export async function traceContext(): Promise<TraceContext | undefined> {
  const api = await loadApi();
  if (!api) return undefined;
  return {
    fields() {
      const spanContext = api.trace.getSpanContext(api.context.active());
      if (!spanContext || !api.isSpanContextValid(spanContext)) return undefined;
      return {
        trace_id: spanContext.traceId,
        span_id: spanContext.spanId,
        trace_flags: spanContext.traceFlags.toString(16).padStart(2, '0'),
      };
    },
    capture: () => api.context.active(),
    run: (saved, fn) => (saved ? api.context.with(saved, fn) : fn()),
  };
}
