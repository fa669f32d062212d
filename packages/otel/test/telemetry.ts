import type { Attributes } from '@opentelemetry/api';
import { context, propagation } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { DataPoint, Histogram } from '@opentelemetry/sdk-metrics';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, beforeEach } from 'vitest';

/** A reader that only collects when asked: the in-memory reader of the metrics SDK's own tests. */
class CollectingReader extends MetricReader {
  protected override async onShutdown() {}
  protected override async onForceFlush() {}
}

/** One data point of a metric, by name: a sum's value, or a histogram's count, sum and min/max. */
export interface Point {
  readonly attributes: Attributes;
  readonly value: number | Histogram;
}

/** A tracer and a meter provider of the real SDK, exporting to memory. */
export function telemetry() {
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const reader = new CollectingReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  return {
    tracerProvider,
    meterProvider,
    exporter,
    spans: (): ReadableSpan[] => exporter.getFinishedSpans(),
    span(name: string): ReadableSpan {
      const found = exporter.getFinishedSpans().filter((s) => s.name === name);
      if (found.length !== 1) throw new Error(`expected one span "${name}", found ${found.length}`);
      return found[0] as ReadableSpan;
    },
    /** Every metric collected now, by name. */
    async metrics(): Promise<Map<string, Point[]>> {
      const { resourceMetrics, errors } = await reader.collect();
      if (errors.length > 0) throw errors[0];
      const out = new Map<string, Point[]>();
      for (const scope of resourceMetrics.scopeMetrics) {
        for (const metric of scope.metrics) {
          const points = metric.dataPoints as DataPoint<number | Histogram>[];
          out.set(
            metric.descriptor.name,
            points.map((p) => ({ attributes: p.attributes, value: p.value })),
          );
        }
      }
      return out;
    },
  };
}

export type Telemetry = ReturnType<typeof telemetry>;

/** What an OpenTelemetry SDK registers globally: an async context manager and the W3C propagator. */
export function registerContext(): () => void {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  return () => {
    context.disable();
    propagation.disable();
  };
}

/** Telemetry for one test file: the context registered around it, the spans cleared before each test. */
export function useTelemetry(): Telemetry {
  const t = telemetry();
  let unregister: () => void;
  beforeAll(() => {
    unregister = registerContext();
  });
  afterAll(() => unregister());
  beforeEach(() => t.exporter.reset());
  return t;
}
