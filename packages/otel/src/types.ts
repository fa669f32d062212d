import type { MeterProvider, TracerProvider } from '@opentelemetry/api';

/** Options of `otelPlugin`. */
export interface OtelPluginOptions {
  /** Where spans go. @default the globally registered tracer provider */
  tracerProvider?: TracerProvider;
  /** Where metrics go. @default the globally registered meter provider */
  meterProvider?: MeterProvider;
  /**
   * The parent of a `process` span. `auto`: the span active when the delivery starts (a Lambda
   * invocation traced by its instrumentation), else the producer's context, so a poller or the mock
   * drain continues the trace that enqueued the job. `active`: always the active span, or none (a new
   * trace). Either way the span links to the producer's context.
   * @default 'auto'
   */
  processParent?: 'auto' | 'active';
  /** `messaging.system` on every span and metric. @default 'aws_sqs' */
  system?: string;
}
