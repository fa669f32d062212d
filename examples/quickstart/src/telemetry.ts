import { context, propagation } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';

/** The OpenTelemetry SDK as a service would register it, exporting to memory so the demo can summarise. */
export function startTelemetry(): {
  tracerProvider: TracerProvider;
  spans(): ReadableSpan[];
  shutdown(): Promise<void>;
} {
  // What NodeSDK registers: an async context manager (spans nest) and the W3C propagator (the trace
  // context travels in each message's envelope).
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  return {
    tracerProvider,
    spans: () => exporter.getFinishedSpans(),
    async shutdown() {
      await tracerProvider.shutdown();
      context.disable();
      propagation.disable();
    },
  };
}

/** Counts of the spans the demo produced. */
export interface SpanSummary {
  readonly spans: number;
  readonly traces: number;
  /** By operation: `create`, `send`, `process`. */
  readonly byOperation: Readonly<Record<string, number>>;
}

export function summariseSpans(spans: readonly ReadableSpan[]): SpanSummary {
  const byOperation: Record<string, number> = {};
  for (const span of spans) {
    const operation = String(span.attributes['messaging.operation.name'] ?? span.name.split(' ')[0]);
    byOperation[operation] = (byOperation[operation] ?? 0) + 1;
  }
  return {
    spans: spans.length,
    traces: new Set(spans.map((s) => s.spanContext().traceId)).size,
    byOperation,
  };
}

/** The trace of the first job named `jobName`, as an indented tree, one line per span. */
export function traceTree(spans: readonly ReadableSpan[], jobName: string): string[] {
  const first = spans.find((s) => s.attributes['glasswork.job.name'] === jobName);
  if (!first) return [];
  const traceId = first.spanContext().traceId;
  const inTrace = spans
    .filter((s) => s.spanContext().traceId === traceId)
    .sort((a, b) => toMs(a.startTime) - toMs(b.startTime));
  const ids = new Set(inTrace.map((s) => s.spanContext().spanId));
  const children = new Map<string | undefined, ReadableSpan[]>();
  for (const span of inTrace) {
    const parent = span.parentSpanContext?.spanId;
    const key = parent && ids.has(parent) ? parent : undefined;
    children.set(key, [...(children.get(key) ?? []), span]);
  }
  const lines = [`trace ${traceId}`];
  const walk = (parent: string | undefined, depth: number) => {
    for (const span of children.get(parent) ?? []) {
      const attempt = span.attributes['glasswork.job.attempt'];
      const outcome = span.attributes['glasswork.outcome'];
      const details = [
        attempt === undefined ? '' : `attempt ${attempt}`,
        outcome === undefined ? '' : String(outcome).padEnd(7),
        `${(toMs(span.endTime) - toMs(span.startTime)).toFixed(1)} ms`,
      ].filter(Boolean);
      lines.push(`${'  '.repeat(depth + 1)}${span.name.padEnd(24 - depth * 2)} ${details.join('  ')}`);
      walk(span.spanContext().spanId, depth + 1);
    }
  };
  walk(undefined, 0);
  return lines;
}

function toMs([seconds, nanos]: readonly [number, number]): number {
  return seconds * 1000 + nanos / 1e6;
}
