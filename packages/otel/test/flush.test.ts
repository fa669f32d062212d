import { createClient, createWorker, defineJob } from '@glasswork/core';
import { mockDriver } from '@glasswork/mock';
import { metrics, trace } from '@opentelemetry/api';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, InMemorySpanExporter, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterEach, describe, expect, it } from 'vitest';
import { otelPlugin } from '../src/index.ts';

const job = defineJob<{ n: number }>({ name: 'count', queue: 'work' });
const HOUR = 3_600_000;

/** Providers that hold what they record until flushed, like a Lambda setup with batching exporters. */
function batching() {
  const spans = new InMemorySpanExporter();
  const tracerProvider = new TracerProvider({
    spanProcessors: [new BatchSpanProcessor({ exporter: spans, scheduledDelayMillis: HOUR })],
  });
  const points = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const meterProvider = new MeterProvider({
    readers: [new PeriodicExportingMetricReader({ exporter: points, exportIntervalMillis: HOUR })],
  });
  const exportedMetrics = () =>
    points
      .getMetrics()
      .flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics.map((m) => m.descriptor.name)));
  return { tracerProvider, meterProvider, spans, exportedMetrics };
}

async function runOne(plugin: ReturnType<typeof otelPlugin>) {
  const driver = mockDriver();
  await createClient({ driver, plugins: [plugin] }).enqueue(job, { n: 1 });
  const worker = createWorker({ plugins: [plugin] }).handle(job, () => {});
  await driver.drain(worker);
  return worker;
}

afterEach(() => {
  trace.disable();
  metrics.disable();
});

describe('flush', () => {
  it('exports what the providers it was given hold, when the worker flushes', async () => {
    const b = batching();
    const worker = await runOne(
      otelPlugin({ tracerProvider: b.tracerProvider, meterProvider: b.meterProvider }),
    );
    expect(b.spans.getFinishedSpans()).toHaveLength(0);
    expect(b.exportedMetrics()).toEqual([]);

    await worker.flush();
    expect(b.spans.getFinishedSpans().map((s) => s.name)).toEqual([
      'create work',
      'send work',
      'process work',
    ]);
    expect(b.exportedMetrics()).toContain('glasswork.jobs.succeeded');
  });

  it('flushes the globally registered providers when it was given none', async () => {
    const b = batching();
    trace.setGlobalTracerProvider(b.tracerProvider);
    metrics.setGlobalMeterProvider(b.meterProvider);
    const worker = await runOne(otelPlugin());
    expect(b.spans.getFinishedSpans()).toHaveLength(0);

    await worker.flush();
    expect(b.spans.getFinishedSpans()).toHaveLength(3);
    expect(b.exportedMetrics()).toContain('glasswork.job.duration');
  });

  it('does nothing, and fails nothing, when no SDK is registered', async () => {
    const errors: unknown[] = [];
    const plugin = otelPlugin();
    const worker = createWorker({ plugins: [plugin], onObserverError: (e) => errors.push(e) });
    await worker.flush();
    expect(errors).toEqual([]);
  });

  it('reports a provider that fails to flush without throwing', async () => {
    const b = batching();
    b.tracerProvider.forceFlush = () => Promise.reject(new Error('collector unreachable'));
    const errors: { error: unknown; event: string }[] = [];
    const worker = createWorker({
      plugins: [otelPlugin({ tracerProvider: b.tracerProvider })],
      onObserverError: (error, { event }) => errors.push({ error, event }),
    });
    await expect(worker.flush()).resolves.toBeUndefined();
    expect(errors).toEqual([{ error: new Error('collector unreachable'), event: 'flush' }]);
  });
});
