import { createClient, createWorker, defineJob, definePlugin } from '@glasswork/core';
import { mockDriver } from '@glasswork/mock';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pinoPlugin } from '../src/index.ts';
import { capture } from './capture.ts';

const job = defineJob<{ n: number }>({ name: 'count', queue: 'work' });
const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
const tracer = provider.getTracer('test');

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
});
afterAll(() => {
  context.disable();
});

/** Runs one job through a worker with the plugin, inside an active span. */
async function runOneInSpan(logger: Logger) {
  const driver = mockDriver();
  await createClient({ driver }).enqueue(job, { n: 1 });
  const worker = createWorker({ plugins: [pinoPlugin({ logger })] }).handle(job, () => {});
  await tracer.startActiveSpan('invocation', async (span) => {
    await driver.drain(worker);
    span.end();
  });
}

describe('pinoPlugin: trace ids from the active OpenTelemetry context', () => {
  it('adds the ids of the span active when a line is written, whichever plugin started it', async () => {
    const { logger, lines } = capture();
    const log = pinoPlugin({ logger });
    const driver = mockDriver();
    await createClient({ driver, plugins: [log] }).enqueue(job, { n: 1 });

    // A span started by some other instrumentation (here: around the whole drain, as a Lambda
    // instrumentation would), and one the handler starts itself.
    const worker = createWorker({ plugins: [log] }).handle(job, async (_payload, ctx) => {
      ctx.log.info('outside my span');
      await tracer.startActiveSpan('my-work', async (span) => {
        ctx.log.info('inside my span');
        span.end();
      });
    });
    const invocation = tracer.startSpan('invocation');
    await context.with(trace.setSpan(context.active(), invocation), () => driver.drain(worker));
    invocation.end();

    const [enqueued, start, outside, inside, success] = lines();
    const { traceId, spanId } = invocation.spanContext();
    const mine = exporter.getFinishedSpans().find((s) => s.name === 'my-work')!;
    expect(enqueued).not.toHaveProperty('trace_id');
    for (const line of [start, outside, success]) {
      expect(line).toMatchObject({ trace_id: traceId, span_id: spanId, trace_flags: '01' });
    }
    expect(inside).toMatchObject({ trace_id: traceId, span_id: mine.spanContext().spanId });
  });

  it('writes terminal lines in the context of the delivery, though they fire after it', async () => {
    const { logger, lines } = capture();
    const log = pinoPlugin({ logger });
    // Starts a span per delivery in the deliver stage, as a tracing plugin does.
    const spans = definePlugin({
      name: 'spans',
      enforce: 'pre',
      setup(hooks) {
        hooks.deliver((_ctx, next) =>
          tracer.startActiveSpan('process', async (span) => {
            try {
              return await next();
            } finally {
              span.end();
            }
          }),
        );
      },
    });
    const driver = mockDriver();
    await createClient({ driver }).enqueue(job, { n: 1 });
    await driver.drain(createWorker({ plugins: [log, spans] }).handle(job, () => {}));

    const process = exporter.getFinishedSpans().findLast((s) => s.name === 'process')!;
    expect(lines().map((l) => [l.msg, l.span_id])).toEqual([
      ['job started', process.spanContext().spanId],
      ['job succeeded', process.spanContext().spanId],
    ]);
  });

  it("does not replace trace ids the logger's own mixin wrote", async () => {
    const { logger, lines } = capture({ level: 'info', mixin: () => ({ trace_id: 'from-mixin' }) });
    await runOneInSpan(logger);
    expect(lines()[0]).toMatchObject({ msg: 'job succeeded', trace_id: 'from-mixin' });
    expect(lines()[0]).not.toHaveProperty('span_id');
  });

  it("keeps the logger's own log formatter", async () => {
    const { logger, lines } = capture({
      level: 'info',
      formatters: { log: (object) => ({ ...object, service: 'billing' }) },
    });
    await runOneInSpan(logger);
    expect(lines()[0]).toMatchObject({
      msg: 'job succeeded',
      service: 'billing',
      trace_id: expect.any(String),
    });
  });
});
