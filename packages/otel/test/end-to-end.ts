/**
 * One job from an HTTP request to its completion, retry included, checked as one trace: the scenario
 * takes the transport (a client on it, and a way to run the worker until the queue is empty), so the
 * same assertions run over the mock drain and over the real SQS protocol.
 */
import type { AnyPlugin, Client, Worker } from '@glasswork/core';
import { createWorker, defineJob } from '@glasswork/core';
import { pinoPlugin } from '@glasswork/pino';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { pino } from 'pino';
import * as v from 'valibot';
import { expect } from 'vitest';
import { otelPlugin } from '../src/index.ts';
import type { Telemetry } from './telemetry.ts';

export interface Transport {
  /** An existing queue to use. */
  readonly queue: string;
  /** A client that sends through the transport, with these plugins. */
  client(plugins: readonly AnyPlugin[]): Client;
  /** Runs the worker until the queue is empty, the retry (1 s later) included. */
  drain(worker: Worker<any>): Promise<void>;
}

type Line = Record<string, any>;

/**
 * Needs the W3C propagator and an async context manager registered globally (`registerContext`), as
 * an OpenTelemetry SDK registers them.
 */
export async function expectOneTrace(transport: Transport, t: Telemetry): Promise<void> {
  const written: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void written.push(line) });
  // Logging listed first: the order of the plugins does not matter.
  const plugins = [
    pinoPlugin({ logger }),
    otelPlugin({ tracerProvider: t.tracerProvider, meterProvider: t.meterProvider }),
  ] as const;
  const welcome = defineJob({
    name: 'welcome-email',
    queue: transport.queue,
    schema: v.object({ to: v.string() }),
  });
  const tracer = t.tracerProvider.getTracer('app');

  // The producer: an API request enqueues the job.
  const { id } = await tracer.startActiveSpan('POST /signup', async (span) => {
    try {
      return await transport.client(plugins).enqueue(welcome, { to: 'ada@example.com' });
    } finally {
      span.end();
    }
  });

  // The consumer: the first attempt fails, the retry succeeds.
  let attempts = 0;
  const worker = createWorker({ plugins }).handle(
    welcome,
    async ({ to }, ctx) => {
      ctx.log.info({ to }, 'rendering');
      await tracer.startActiveSpan('render template', async (span) => span.end());
      if (++attempts === 1) throw new Error('SMTP 421: try again later');
    },
    { retry: { maxAttempts: 3, backoff: '1s' } },
  );
  await transport.drain(worker);
  expect(attempts).toBe(2);

  // One trace: request → create → process (×2) → the handler's own span; send beside create.
  const named = (name: string) => t.spans().filter((s) => s.name === name);
  const only = (name: string): ReadableSpan => {
    const found = named(name);
    expect(found, name).toHaveLength(1);
    return found[0] as ReadableSpan;
  };
  const request = only('POST /signup');
  const create = only(`create ${transport.queue}`);
  const send = only(`send ${transport.queue}`);
  const processes = named(`process ${transport.queue}`).sort(
    (a, b) => Number(a.attributes['glasswork.job.attempt']) - Number(b.attributes['glasswork.job.attempt']),
  );
  const renders = named('render template');
  const traceId = request.spanContext().traceId;
  const idOf = (span: ReadableSpan | undefined) => span?.spanContext().spanId;

  for (const span of [create, send, ...processes, ...renders])
    expect(span.spanContext().traceId).toBe(traceId);
  expect(create.parentSpanContext?.spanId).toBe(idOf(request));
  expect(send.parentSpanContext?.spanId).toBe(idOf(request));
  expect(send.links.map((l) => l.context.spanId)).toEqual([idOf(create)]);
  expect(processes).toHaveLength(2);
  for (const process of processes) {
    expect(process.kind).toBe(SpanKind.CONSUMER);
    expect(process.parentSpanContext?.spanId).toBe(idOf(create));
    expect(process.links.map((l) => l.context.spanId)).toEqual([idOf(create)]);
    expect(process.attributes['glasswork.job.id']).toBe(id);
    expect(process.attributes['messaging.message.id']).toBe(send.attributes['messaging.message.id']);
  }
  const [first, second] = processes;
  expect(first?.attributes).toMatchObject({ 'glasswork.job.attempt': 1, 'glasswork.outcome': 'retry' });
  expect(first?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'SMTP 421: try again later' });
  expect(second?.attributes).toMatchObject({ 'glasswork.job.attempt': 2, 'glasswork.outcome': 'success' });
  expect(renders.map((s) => s.parentSpanContext?.spanId)).toEqual(processes.map(idOf));

  // The log lines carry the trace, and each the span it was written in.
  // The job's lines (a poller also logs its own stopping and stopped).
  const lines = written
    .map((line) => JSON.parse(line) as Line)
    .filter((l) => !String(l.msg).startsWith('worker '));
  const spanOfAttempt = (attempt: number) => idOf(processes[attempt - 1]);
  expect(lines.map((l) => [l.msg, l.attempt])).toEqual([
    ['job enqueued', undefined],
    ['job started', 1],
    ['rendering', 1],
    ['job failed, retrying in 1s', 1],
    ['job started', 2],
    ['rendering', 2],
    ['job succeeded', 2],
  ]);
  for (const line of lines) {
    expect(line.trace_id, line.msg).toBe(traceId);
    expect(line.span_id, line.msg).toBe(line.attempt ? spanOfAttempt(line.attempt) : idOf(create));
    if (line.attempt)
      expect(line).toMatchObject({ jobId: id, jobName: 'welcome-email', queue: expect.any(String) });
  }

  const metrics = await t.metrics();
  const total = (name: string) => (metrics.get(name) ?? []).reduce((n, p) => n + (p.value as number), 0);
  expect([
    total('glasswork.jobs.enqueued'),
    total('glasswork.jobs.retried'),
    total('glasswork.jobs.succeeded'),
  ]).toEqual([1, 1, 1]);
}
