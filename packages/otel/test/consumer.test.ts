import type { Worker } from '@glasswork/core';
import { createClient, createWorker, defineJob, definePlugin, PermanentJobError } from '@glasswork/core';
import { mockDriver } from '@glasswork/mock';
import type { Span } from '@opentelemetry/api';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import type { OtelPluginOptions } from '../src/index.ts';
import { otelPlugin } from '../src/index.ts';
import { useTelemetry } from './telemetry.ts';

const order = defineJob({ name: 'ship-order', queue: 'orders', schema: v.object({ orderId: v.string() }) });

const t = useTelemetry();
const tracer = t.tracerProvider.getTracer('app');

function setup(options: OtelPluginOptions = {}) {
  const driver = mockDriver();
  const plugin = otelPlugin({ tracerProvider: t.tracerProvider, meterProvider: t.meterProvider, ...options });
  const client = createClient({ driver, plugins: [plugin] });
  return { driver, client, plugin };
}

const processSpans = () => t.spans().filter((s) => s.name === 'process orders');

describe('the process span', () => {
  it('is a CONSUMER span linked to the create span, and continues its trace when nothing is active', async () => {
    const { driver, client, plugin } = setup();
    const { id } = await client.enqueue(order, { orderId: 'o-1' });
    await driver.drain(createWorker({ plugins: [plugin] }).handle(order, () => {}));

    const create = t.span('create orders');
    const process = t.span('process orders');
    expect(process.kind).toBe(SpanKind.CONSUMER);
    expect(process.links.map((l) => l.context.spanId)).toEqual([create.spanContext().spanId]);
    expect(process.parentSpanContext?.spanId).toBe(create.spanContext().spanId);
    expect(process.spanContext().traceId).toBe(create.spanContext().traceId);
    expect(process.attributes).toEqual({
      'messaging.system': 'aws_sqs',
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.destination.name': 'orders',
      'messaging.message.id': driver.enqueued[0]?.messageId,
      'glasswork.job.name': 'ship-order',
      'glasswork.job.id': id,
      'glasswork.job.attempt': 1,
      'glasswork.outcome': 'success',
    });
    expect(process.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('is a child of the span active when the delivery starts (a traced invocation), still linked', async () => {
    const { driver, client, plugin } = setup();
    await client.enqueue(order, { orderId: 'o-1' });
    const worker = createWorker({ plugins: [plugin] }).handle(order, () => {});
    await tracer.startActiveSpan('lambda invocation', async (span) => {
      await driver.drain(worker);
      span.end();
    });

    const invocation = t.span('lambda invocation');
    const process = t.span('process orders');
    expect(process.parentSpanContext?.spanId).toBe(invocation.spanContext().spanId);
    expect(process.spanContext().traceId).toBe(invocation.spanContext().traceId);
    expect(process.links[0]?.context.spanId).toBe(t.span('create orders').spanContext().spanId);
  });

  it("with processParent: 'active', starts a new trace when nothing is active, still linked", async () => {
    const { driver, client, plugin } = setup({ processParent: 'active' });
    await client.enqueue(order, { orderId: 'o-1' });
    await driver.drain(createWorker({ plugins: [plugin] }).handle(order, () => {}));
    const process = t.span('process orders');
    expect(process.parentSpanContext).toBeUndefined();
    expect(process.spanContext().traceId).not.toBe(t.span('create orders').spanContext().traceId);
    expect(process.links[0]?.context.spanId).toBe(t.span('create orders').spanContext().spanId);
  });

  it('is active in the handler and in execute hooks, so their spans nest under it', async () => {
    const seen: (string | undefined)[] = [];
    const lock = definePlugin({
      name: 'lock',
      setup(hooks) {
        hooks.execute((_ctx, next) => {
          seen.push(trace.getActiveSpan()?.spanContext().spanId);
          return next();
        });
      },
    });
    const { driver, client, plugin } = setup();
    await client.enqueue(order, { orderId: 'o-1' });
    // Listed after the other plugin: the tracing plugin places itself outermost anyway.
    const worker = createWorker({ plugins: [lock, plugin] }).handle(order, async () => {
      seen.push(trace.getActiveSpan()?.spanContext().spanId);
      await tracer.startActiveSpan('charge card', async (span: Span) => span.end());
    });
    await driver.drain(worker);

    const process = t.span('process orders');
    expect(seen).toEqual([process.spanContext().spanId, process.spanContext().spanId]);
    expect(t.span('charge card').parentSpanContext?.spanId).toBe(process.spanContext().spanId);
  });

  it('records a retry as a failed attempt with the exception, and each attempt links to the same producer', async () => {
    const { driver, client, plugin } = setup();
    await client.enqueue(order, { orderId: 'o-1' });
    let calls = 0;
    const worker = createWorker({ plugins: [plugin] }).handle(
      order,
      () => {
        if (++calls === 1) throw new TypeError('carrier API down');
      },
      { retry: { maxAttempts: 3, backoff: '30s' } },
    );
    await driver.drain(worker);

    const [first, second] = processSpans();
    const create = t.span('create orders').spanContext();
    expect(first?.attributes).toMatchObject({
      'glasswork.job.attempt': 1,
      'glasswork.outcome': 'retry',
      'glasswork.delay_ms': 30_000,
      'error.type': 'TypeError',
    });
    expect(first?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'carrier API down' });
    expect(first?.events.map((e) => [e.name, e.attributes?.['exception.message']])).toEqual([
      ['exception', 'carrier API down'],
    ]);
    expect(first?.events[0]?.attributes?.['exception.stacktrace']).toContain('carrier API down');
    expect(second?.attributes).toMatchObject({ 'glasswork.job.attempt': 2, 'glasswork.outcome': 'success' });
    for (const span of [first, second]) {
      expect(span?.links.map((l) => l.context.spanId)).toEqual([create.spanId]);
      expect(span?.spanContext().traceId).toBe(create.traceId);
    }
  });

  it('records a dead-lettered job with its reason and error type', async () => {
    const { driver, client, plugin } = setup();
    await client.enqueue(order, { orderId: 'o-1' });
    await driver.drain(
      createWorker({ plugins: [plugin] }).handle(order, () => {
        throw new PermanentJobError('address does not exist');
      }),
    );
    const process = t.span('process orders');
    expect(process.attributes).toMatchObject({
      'glasswork.outcome': 'dead',
      'glasswork.outcome.reason': 'permanent failure: address does not exist',
      'error.type': 'PermanentJobError',
    });
    expect(process.status).toEqual({
      code: SpanStatusCode.ERROR,
      message: 'permanent failure: address does not exist',
    });
  });

  it('covers a poison message: a span with what is known, no link, the dead outcome', async () => {
    const { plugin } = setup();
    const worker = createWorker({ plugins: [plugin] }).handle(order, () => {});
    const run = await worker.run({ messageId: 'm-1', body: '{"v":1}', receiveCount: 1, queue: 'orders' });
    await run.settle();
    const process = t.span('process orders');
    expect(process.links).toEqual([]);
    expect(process.attributes).toMatchObject({
      'messaging.message.id': 'm-1',
      'glasswork.outcome': 'dead',
      'error.type': 'MalformedMessageError',
    });
    expect(process.attributes).not.toHaveProperty('glasswork.job.name');
  });

  it('covers an idempotency short-circuit and a deferral, which are not failures', async () => {
    let calls = 0;
    const idempotency = definePlugin({
      name: 'idempotency',
      setup(hooks) {
        hooks.execute(async () =>
          ++calls === 1
            ? { type: 'defer', delayMs: 2000, reason: 'in progress elsewhere' }
            : { type: 'duplicate', value: 'done before' },
        );
      },
    });
    const { driver, client, plugin } = setup();
    await client.enqueue(order, { orderId: 'o-1' });
    await driver.drain(createWorker({ plugins: [plugin, idempotency] }).handle(order, () => {}));

    expect(processSpans().map((s) => [s.attributes['glasswork.outcome'], s.status.code])).toEqual([
      ['defer', SpanStatusCode.UNSET],
      ['duplicate', SpanStatusCode.UNSET],
    ]);
    expect(processSpans()[0]?.attributes).toMatchObject({
      'glasswork.outcome.reason': 'in progress elsewhere',
      'glasswork.delay_ms': 2000,
    });
  });

  it('records a deliver hook that throws before an outcome as a failure of the attempt', async () => {
    const broken = definePlugin({
      name: 'broken',
      setup(hooks) {
        hooks.deliver(() => Promise.reject(new RangeError('bad hook')));
      },
    });
    const { driver, client, plugin } = setup();
    await client.enqueue(order, { orderId: 'o-1' });
    const worker: Worker = createWorker({ plugins: [plugin, broken], onObserverError: () => {} });
    worker.handle(order, () => {});
    await driver.drain(worker, { for: '1s' });
    const [process] = processSpans();
    expect(process?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'bad hook' });
    expect(process?.attributes['error.type']).toBe('RangeError');
  });

  it('ends every span, also for deliveries that run in parallel', async () => {
    const { driver, client, plugin } = setup();
    await client.enqueueMany(
      Array.from({ length: 10 }, (_, n) => ({ job: order, payload: { orderId: `o-${n}` } })),
    );
    const worker = createWorker({ plugins: [plugin] }).handle(order, async ({ orderId }) => {
      await new Promise((resolve) => setTimeout(resolve, orderId.length));
      // The active span is this delivery's own, though ten run at once.
      return trace.getActiveSpan()?.spanContext().spanId;
    });
    const report = await driver.drain(worker);
    expect(report.counts.ack).toBe(10);
    const spans = processSpans();
    expect(spans).toHaveLength(10);
    const creates = new Map(
      t
        .spans()
        .filter((s) => s.name === 'create orders')
        .map((s) => [s.attributes['glasswork.job.id'], s.spanContext().spanId]),
    );
    const processOf = new Map(spans.map((s) => [s.attributes['glasswork.job.id'], s.spanContext().spanId]));
    for (const span of spans) {
      expect(span.links[0]?.context.spanId).toBe(creates.get(span.attributes['glasswork.job.id']));
    }
    for (const entry of report.log) {
      expect(entry.outcome.type === 'ack' && entry.outcome.result).toBe(processOf.get(entry.jobId));
    }
  });
});
