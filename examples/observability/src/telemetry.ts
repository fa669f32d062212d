import { context, propagation } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import { SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';

/**
 * The OpenTelemetry SDK, set up as a service sets it up (NodeSDK does the same three things): an async
 * context manager so spans nest across awaits, the W3C propagator so the trace context travels in HTTP
 * headers and in each job's envelope, and a tracer provider with your exporter (OTLP in production; the
 * test uses an in-memory one, `main.ts` the console).
 */
export function setupTelemetry(exporter: SpanExporter): TracerProvider {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  return new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
}

/** Unregisters what `setupTelemetry` registered, after the provider has exported everything. */
export async function shutdownTelemetry(tracerProvider: TracerProvider): Promise<void> {
  await tracerProvider.shutdown();
  context.disable();
  propagation.disable();
}
