import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createClient } from '@glasswork/core';
import { otelPlugin } from '@glasswork/otel';
import { pinoPlugin } from '@glasswork/pino';
import { createPoller, sqsDriver } from '@glasswork/sqs';
import { startLocalSqs } from '@glasswork/sqs/local';
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import type { Logger } from 'pino';
import { createApi } from './api.ts';
import { setupTelemetry, shutdownTelemetry } from './telemetry.ts';
import type { Mailer } from './worker.ts';
import { createMailWorker } from './worker.ts';

/** The running example: the API's URL, and `stop` to end it all in order. */
export interface RunningExample {
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * Starts the whole example in this process: the SQS emulator, the OpenTelemetry SDK with `exporter`, the API
 * on a free loopback port and a poller running the worker. In production the API and the worker are two
 * services; they share only the job contract and the plugins' configuration.
 */
export async function startExample(options: {
  exporter: SpanExporter;
  mailer: Mailer;
  logger: Logger;
}): Promise<RunningExample> {
  const sqs = await startLocalSqs({ queues: ['emails'] });
  const tracerProvider = setupTelemetry(options.exporter);
  const tracer = tracerProvider.getTracer('example-observability');
  const tracing = otelPlugin({ tracerProvider });
  const logging = pinoPlugin({ logger: options.logger });
  const driver = sqsDriver({
    client: sqs.client,
    endpoint: sqs.endpoint,
    queues: { emails: sqs.queues.emails?.url ?? 'emails' },
  });

  // The API service: a client with the same plugins, so the enqueue is traced and logged.
  const api = createApi({ client: createClient({ driver, plugins: [tracing, logging] }), tracer });
  api.listen(0, '127.0.0.1');
  await once(api, 'listening');

  // The worker service: a long-running poller (on Lambda it would be createSqsHandler(worker)).
  const worker = createMailWorker({ tracing, logging, tracer, mailer: options.mailer });
  const poller = createPoller({ worker, driver, queue: 'emails', waitTime: '1s', handleSignals: false });
  await poller.start();

  return {
    url: `http://127.0.0.1:${(api.address() as AddressInfo).port}`,
    async stop() {
      await poller.stop();
      api.close();
      await once(api, 'close');
      await shutdownTelemetry(tracerProvider);
      await sqs.stop();
    },
  };
}
