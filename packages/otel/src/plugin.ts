import type { Plugin } from '@glasswork/core';
import { ConfigurationError, definePlugin } from '@glasswork/core';
import type { MeterProvider, TracerProvider } from '@opentelemetry/api';
import { metrics, trace } from '@opentelemetry/api';
import { recordMetrics } from './metrics.ts';
import { traceConsumer, traceProducer } from './tracing.ts';
import type { OtelPluginOptions } from './types.ts';

const SCOPE = '@glasswork/otel';

interface Flushable {
  forceFlush(): Promise<void>;
}

function flushable(provider: unknown): Flushable | undefined {
  // The global tracer provider is a proxy in front of the registered one.
  const target =
    typeof (provider as { getDelegate?: unknown })?.getDelegate === 'function'
      ? (provider as { getDelegate(): unknown }).getDelegate()
      : provider;
  return typeof (target as Partial<Flushable>)?.forceFlush === 'function' ? (target as Flushable) : undefined;
}

/**
 * Traces and measures jobs with OpenTelemetry. Attach it to the client (create and send spans, the
 * enqueued counter) and to the worker (process spans, job metrics, `flush`).
 */
export function otelPlugin(options: OtelPluginOptions = {}): Plugin {
  const system = options.system ?? 'aws_sqs';
  const processParent = options.processParent ?? 'auto';
  if (processParent !== 'auto' && processParent !== 'active') {
    throw new ConfigurationError(
      `otelPlugin: processParent must be 'auto' or 'active', got ${String(processParent)}`,
    );
  }
  return definePlugin({
    name: 'otel',
    // Outermost, so every other plugin's work (and its log lines) happens inside the spans.
    enforce: 'pre',
    setup(hooks) {
      // Resolved at setup (the first enqueue or delivery), so a provider registered after the plugin
      // was created is the one used.
      const tracerProvider: TracerProvider = options.tracerProvider ?? trace.getTracerProvider();
      const meterProvider: MeterProvider = options.meterProvider ?? metrics.getMeterProvider();
      const tracing = { tracer: tracerProvider.getTracer(SCOPE), system, processParent };
      traceProducer(hooks, tracing);
      traceConsumer(hooks, tracing);
      recordMetrics(hooks, meterProvider.getMeter(SCOPE), system);
      hooks.on('flush', async () => {
        const providers = [flushable(tracerProvider), flushable(meterProvider)];
        await Promise.all(providers.map((p) => p?.forceFlush()));
      });
    },
  });
}
