import type { Plugin } from '@glasswork/core';
import { createWorker } from '@glasswork/core';
import type { PinoContext } from '@glasswork/pino';
import type { Tracer } from '@opentelemetry/api';
import { sendWelcomeEmail } from './jobs.ts';

/** Stands in for your mail provider; the test swaps in its own. */
export interface Mailer {
  send(to: string, subject: string): Promise<void>;
}

/**
 * The worker. `@glasswork/otel` wraps each delivery in a `process` span that continues the producer's trace;
 * the handler's own spans (here one made by hand, in production your HTTP or database instrumentation)
 * nest under it, and `ctx.log` lines carry its trace id.
 */
export function createMailWorker(options: {
  tracing: Plugin;
  logging: Plugin<PinoContext>;
  tracer: Tracer;
  mailer: Mailer;
}) {
  return createWorker({ plugins: [options.tracing, options.logging], timeout: '10s' }).handle(
    sendWelcomeEmail,
    async ({ email }, ctx) => {
      await options.tracer.startActiveSpan('render welcome email', async (span) => {
        ctx.log.info({ email }, 'rendering the welcome email');
        span.end();
      });
      await options.mailer.send(email, 'Welcome!');
    },
  );
}
