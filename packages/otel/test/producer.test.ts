import {
  ConfigurationError,
  createClient,
  defineJob,
  EnqueueError,
  InvalidJobPayloadError,
} from '@glasswork/core';
import { mockDriver } from '@glasswork/mock';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { otelPlugin } from '../src/index.ts';
import { useTelemetry } from './telemetry.ts';

const order = defineJob({ name: 'ship-order', queue: 'orders', schema: v.object({ orderId: v.string() }) });

const t = useTelemetry();
const tracer = t.tracerProvider.getTracer('app');

function client(options: Parameters<typeof mockDriver>[0] = {}) {
  const driver = mockDriver(options);
  const plugin = otelPlugin({ tracerProvider: t.tracerProvider, meterProvider: t.meterProvider });
  return { driver, client: createClient({ driver, plugins: [plugin] }) };
}

/** Runs `fn` in an active span, as an HTTP server instrumentation would around a request. */
function inRequest<T>(fn: () => Promise<T>): Promise<T> {
  return tracer.startActiveSpan('POST /orders', async (span) => {
    try {
      return await fn();
    } finally {
      span.end();
    }
  });
}

describe('producer spans', () => {
  it('creates a create span per message and injects its context into meta', async () => {
    const { driver, client: c } = client();
    const { id } = await inRequest(() => c.enqueue(order, { orderId: 'o-1' }));

    const request = t.span('POST /orders');
    const create = t.span('create orders');
    expect(create.kind).toBe(SpanKind.PRODUCER);
    expect(create.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
    expect(create.spanContext().traceId).toBe(request.spanContext().traceId);
    expect(create.attributes).toEqual({
      'messaging.system': 'aws_sqs',
      'messaging.operation.type': 'create',
      'messaging.operation.name': 'create',
      'messaging.destination.name': 'orders',
      'glasswork.job.name': 'ship-order',
      'glasswork.job.id': id,
    });
    const { traceId, spanId } = create.spanContext();
    expect(driver.enqueued[0]?.meta).toEqual({ traceparent: `00-${traceId}-${spanId}-01` });
  });

  it('creates a send span per driver call, linked to the create span of each message it carries', async () => {
    const { driver, client: c } = client();
    const results = await inRequest(() =>
      c.enqueueMany([1, 2, 3].map((n) => ({ job: order, payload: { orderId: `o-${n}` } }))),
    );

    const creates = t.spans().filter((s) => s.name === 'create orders');
    const send = t.span('send orders');
    expect(creates).toHaveLength(3);
    expect(send.kind).toBe(SpanKind.CLIENT);
    expect(send.parentSpanContext?.spanId).toBe(t.span('POST /orders').spanContext().spanId);
    expect(send.attributes).toEqual({
      'messaging.system': 'aws_sqs',
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'send',
      'messaging.destination.name': 'orders',
      'messaging.batch.message_count': 3,
    });
    expect(send.links.map((l) => [l.context.spanId, l.attributes?.['glasswork.job.id']])).toEqual(
      creates.map((s) => [s.spanContext().spanId, s.attributes['glasswork.job.id']]),
    );
    expect(results.map((r) => r.id)).toEqual(creates.map((s) => s.attributes['glasswork.job.id']));
    expect(send.status.code).toBe(SpanStatusCode.UNSET);
    expect(driver.enqueued.map((m) => m.meta.traceparent)).toEqual(
      creates.map((s) => `00-${s.spanContext().traceId}-${s.spanContext().spanId}-01`),
    );
  });

  it('names the message on a send span of one, and keeps the batch count off it', async () => {
    const { driver, client: c } = client();
    await c.enqueue(order, { orderId: 'o-1' });
    const send = t.span('send orders');
    expect(send.attributes['messaging.message.id']).toBe(driver.enqueued[0]?.messageId);
    expect(send.attributes).not.toHaveProperty('messaging.batch.message_count');
    expect(send.links).toHaveLength(1);
  });

  it('starts a new trace for an enqueue outside any span', async () => {
    const { client: c } = client();
    await c.enqueue(order, { orderId: 'o-1' });
    expect(t.span('create orders').parentSpanContext).toBeUndefined();
    expect(t.span('send orders').parentSpanContext).toBeUndefined();
  });

  it('marks the send span failed when the queue rejects messages, and says how many', async () => {
    const { client: c } = client({
      failSend: (m) =>
        (m.payload as { orderId: string }).orderId === 'o-2' ? new Error('throttled') : undefined,
    });
    const results = await c.enqueueMany(
      [1, 2, 3].map((n) => ({ job: order, payload: { orderId: `o-${n}` } })),
    );
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);

    const send = t.span('send orders');
    expect(send.status).toEqual({
      code: SpanStatusCode.ERROR,
      message: '1 of 3 messages were not accepted: throttled',
    });
    expect(send.attributes['error.type']).toBe('Error');
    expect(send.events.map((e) => [e.name, e.attributes?.['exception.message']])).toEqual([
      ['exception', 'throttled'],
    ]);
  });

  it('marks the create span failed with the exception when the message cannot be built, and sends nothing', async () => {
    const { driver, client: c } = client();
    await expect(c.enqueue(order, { orderId: 42 } as never)).rejects.toThrow(InvalidJobPayloadError);
    const create = t.span('create orders');
    expect(create.status.code).toBe(SpanStatusCode.ERROR);
    expect(create.attributes['error.type']).toBe('InvalidJobPayloadError');
    expect(create.events[0]?.attributes?.['exception.message']).toMatch(
      /^Invalid payload for job "ship-order"/,
    );
    expect(t.spans().map((s) => s.name)).toEqual(['create orders']);
    expect(driver.enqueued).toHaveLength(0);
  });

  it('marks the send span failed when the driver call throws', async () => {
    const driver = mockDriver();
    const broken = { ...driver, send: async () => Promise.reject(new TypeError('socket hang up')) };
    const c = createClient({ driver: broken, plugins: [otelPlugin({ tracerProvider: t.tracerProvider })] });
    await expect(c.enqueue(order, { orderId: 'o-1' })).rejects.toThrow(EnqueueError);
    const send = t.span('send orders');
    expect(send.status).toEqual({ code: SpanStatusCode.ERROR, message: 'socket hang up' });
    expect(send.attributes['error.type']).toBe('TypeError');
  });

  it('keeps a creation context the message already carries (a replay), and creates no span for it', async () => {
    const { driver, client: c } = client();
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await c.enqueue(order, { orderId: 'o-1' }, { meta: { traceparent } });
    expect(driver.enqueued[0]?.meta).toEqual({ traceparent });
    expect(t.spans().map((s) => s.name)).toEqual(['send orders']);
    expect(t.span('send orders').links[0]?.context).toMatchObject({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
    });
  });

  it('rejects an unknown processParent', () => {
    expect(() => otelPlugin({ processParent: 'message' as never })).toThrow(ConfigurationError);
    expect(() => otelPlugin({ processParent: 'message' as never })).toThrow(/'auto' or 'active'/);
  });

  it('names the messaging system as configured', async () => {
    const c = createClient({
      driver: mockDriver(),
      plugins: [otelPlugin({ tracerProvider: t.tracerProvider, system: 'glasswork_mock' })],
    });
    await c.enqueue(order, { orderId: 'o-1' });
    expect(t.span('create orders').attributes['messaging.system']).toBe('glasswork_mock');
  });
});
