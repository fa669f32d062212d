import type { AnyPlugin } from '@glasswork/core';
import { createClient, createWorker, defineJob } from '@glasswork/core';
import { mockDriver } from '@glasswork/mock';
import { pinoPlugin } from '@glasswork/pino';
import { metrics, trace } from '@opentelemetry/api';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { otelPlugin } from '../src/index.ts';
import { registerContext, telemetry } from './telemetry.ts';

// With neither plugin attached, the core must do no observability work: an SDK registered globally
// (as NodeSDK or the Lambda layer does) records nothing, and no error or payload is serialised.
const job = defineJob<{ n: number }>({ name: 'count', queue: 'work' });
const t = telemetry();
let unregister: () => void;
beforeAll(() => {
  unregister = registerContext();
  trace.setGlobalTracerProvider(t.tracerProvider);
  metrics.setGlobalMeterProvider(t.meterProvider);
});
afterAll(() => {
  unregister();
  trace.disable();
  metrics.disable();
});
beforeEach(() => t.exporter.reset());

/** An error that counts every read of what a serialiser reads: its stack, cause, and JSON form. */
function watchedError() {
  const reads = { stack: 0, cause: 0, toJSON: 0 };
  const error = new Error('flaky');
  const stack = error.stack;
  const counting =
    <T>(key: keyof typeof reads, value: T) =>
    () => {
      reads[key]++;
      return value;
    };
  Object.defineProperties(error, {
    stack: { get: counting('stack', stack) },
    cause: { get: counting('cause', undefined) },
    toJSON: { value: counting('toJSON', {}) },
  });
  return { error, reads };
}

/** A payload that counts how often it is turned into JSON. */
function watchedPayload() {
  const seen = { json: 0 };
  const toJSON = () => {
    seen.json++;
    return { n: 1 };
  };
  return { payload: { n: 1, toJSON }, seen };
}

async function run(plugins: AnyPlugin[]) {
  const driver = mockDriver();
  const { error, reads } = watchedError();
  const { payload, seen } = watchedPayload();
  let active: unknown = 'not run';
  await trace.getTracer('app').startActiveSpan('POST /count', async (span) => {
    await createClient({ driver, plugins }).enqueue(job, payload);
    span.end();
  });
  const worker = createWorker({ plugins }).handle(job, () => {
    active = trace.getActiveSpan();
    throw error;
  });
  // Only the first attempt: its outcome is a retry, which no adapter needs to serialise.
  await driver.drain(worker, { for: '0s' });
  return { driver, reads, seen, active, metrics: await t.metrics() };
}

describe('without the otel and pino plugins', () => {
  it('records no span, injects no context and records no metric, though an SDK is registered', async () => {
    const { driver, active, metrics: recorded } = await run([]);
    expect(t.spans().map((s) => s.name)).toEqual(['POST /count']);
    expect(driver.enqueued[0]?.meta).toEqual({});
    expect(active).toBeUndefined();
    expect(recorded.size).toBe(0);
  });

  it('serialises no error and the payload only once, to encode it', async () => {
    const { reads, seen } = await run([]);
    expect(reads).toEqual({ stack: 0, cause: 0, toJSON: 0 });
    expect(seen.json).toBe(1);
  });

  // The same run with the plugins shows that the probes above would see the work if it happened.
  it('with them, the same run records spans and metrics and serialises the error', async () => {
    const logger = pino({ level: 'debug' }, { write: () => {} });
    const plugins = [otelPlugin(), pinoPlugin({ logger, logPayload: true })];
    const { driver, reads, seen, active, metrics: recorded } = await run(plugins);
    expect(t.spans().map((s) => s.name)).toEqual(['create work', 'send work', 'POST /count', 'process work']);
    expect(driver.enqueued[0]?.meta.traceparent).toBeDefined();
    expect(active).toBeDefined();
    expect(recorded.get('glasswork.jobs.retried')).toHaveLength(1);
    expect(reads.stack).toBeGreaterThan(0);
    expect(seen.json).toBeGreaterThan(1);
  });
});
