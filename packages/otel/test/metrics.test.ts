import { createClient, createWorker, defineJob, definePlugin, PermanentJobError } from '@glasswork/core';
import { mockDriver } from '@glasswork/mock';
import type { Histogram } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { otelPlugin } from '../src/index.ts';
import type { Point } from './telemetry.ts';
import { telemetry } from './telemetry.ts';

const ship = defineJob<{ order: string }>({ name: 'ship-order', queue: 'orders' });
const audit = defineJob<{ entry: string }>({ name: 'audit', queue: 'audit' });
const sync = defineJob<{ account: string }>({ name: 'sync', queue: 'orders' });

/** The sum (or histogram count) per attribute set, keyed `job@queue[/outcome]`. */
function byJob(points: Point[] | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const { attributes, value } of points ?? []) {
    const key = `${attributes['glasswork.job.name']}@${attributes['messaging.destination.name']}${
      attributes['glasswork.outcome'] ? `/${attributes['glasswork.outcome']}` : ''
    }`;
    out[key] = typeof value === 'number' ? value : value.count;
    expect(attributes['messaging.system']).toBe('aws_sqs');
  }
  return out;
}

describe('metrics', () => {
  it('counts each outcome per job and queue, and measures duration and queue lag', async () => {
    const t = telemetry();
    const plugin = otelPlugin({ tracerProvider: t.tracerProvider, meterProvider: t.meterProvider });
    const driver = mockDriver();
    const client = createClient({ driver, plugins: [plugin] });
    await client.enqueueMany([
      { job: ship, payload: { order: 'ok' } },
      { job: ship, payload: { order: 'flaky' } },
      { job: ship, payload: { order: 'gone' } },
      { job: audit, payload: { entry: 'bad' } },
      { job: sync, payload: { account: 'a-1' } },
    ]);
    // The workers fall 90 s behind.
    driver.advance('90s');

    let flaky = 0;
    let synced = 0;
    const idempotency = definePlugin({
      name: 'idempotency',
      setup(hooks) {
        hooks.execute(async (ctx, next) => {
          if (ctx.jobName !== 'sync') return next();
          return ++synced === 1
            ? { type: 'defer', delayMs: 1000, reason: 'locked' }
            : { type: 'duplicate', value: undefined };
        });
      },
    });
    const worker = createWorker({ plugins: [plugin, idempotency] })
      .handle(
        ship,
        ({ order }) => {
          if (order === 'gone') throw new PermanentJobError('no such order');
          if (order === 'flaky' && ++flaky === 1) throw new Error('timeout');
        },
        { retry: { maxAttempts: 3, backoff: '10s' } },
      )
      .handle(
        audit,
        () => {
          throw new PermanentJobError('unreadable');
        },
        { retry: { dead: false } },
      )
      .handle(sync, () => {});
    await driver.drain(worker);

    const metrics = await t.metrics();
    expect(byJob(metrics.get('glasswork.jobs.enqueued'))).toEqual({
      'ship-order@orders': 3,
      'audit@audit': 1,
      'sync@orders': 1,
    });
    expect(byJob(metrics.get('glasswork.jobs.succeeded'))).toEqual({ 'ship-order@orders': 2 });
    expect(byJob(metrics.get('glasswork.jobs.retried'))).toEqual({ 'ship-order@orders': 1 });
    expect(byJob(metrics.get('glasswork.jobs.dead_lettered'))).toEqual({ 'ship-order@orders': 1 });
    expect(byJob(metrics.get('glasswork.jobs.discarded'))).toEqual({ 'audit@audit': 1 });
    expect(byJob(metrics.get('glasswork.jobs.deferred'))).toEqual({ 'sync@orders': 1 });
    expect(byJob(metrics.get('glasswork.jobs.duplicates'))).toEqual({ 'sync@orders': 1 });

    expect(byJob(metrics.get('glasswork.job.duration'))).toEqual({
      'ship-order@orders/success': 2,
      'ship-order@orders/retry': 1,
      'ship-order@orders/dead': 1,
      'audit@audit/discard': 1,
      'sync@orders/defer': 1,
      'sync@orders/duplicate': 1,
    });

    // Lag on first receives only (a retry's backoff is not lag): the three orders and the audit entry
    // waited 90 s of virtual time; the sync job never started its handler.
    const lag = metrics.get('glasswork.job.lag') ?? [];
    expect(byJob(lag)).toEqual({ 'ship-order@orders': 3, 'audit@audit': 1 });
    const orders = lag.find((p) => p.attributes['glasswork.job.name'] === 'ship-order')?.value as Histogram;
    expect([orders.sum, orders.min, orders.max]).toEqual([270, 90, 90]);
  });

  it('counts the lag of a delayed job from when it was due, not from its enqueue', async () => {
    const t = telemetry();
    const plugin = otelPlugin({ tracerProvider: t.tracerProvider, meterProvider: t.meterProvider });
    const driver = mockDriver();
    await createClient({ driver }).enqueueIn(ship, '10m', { order: 'later' });
    driver.advance('10m');
    driver.advance('30s'); // the worker is 30 s late
    await driver.drain(createWorker({ plugins: [plugin] }).handle(ship, () => {}));
    const [point] = (await t.metrics()).get('glasswork.job.lag') ?? [];
    expect((point?.value as Histogram | undefined)?.sum).toBe(30);
  });

  it('records durations in seconds', async () => {
    const t = telemetry();
    const plugin = otelPlugin({ tracerProvider: t.tracerProvider, meterProvider: t.meterProvider });
    const driver = mockDriver();
    await createClient({ driver }).enqueue(ship, { order: 'ok' });
    const worker = createWorker({ plugins: [plugin] }).handle(
      ship,
      () => new Promise((resolve) => setTimeout(resolve, 30)),
    );
    await driver.drain(worker);
    const [point] = (await t.metrics()).get('glasswork.job.duration') ?? [];
    const value = point?.value as Histogram;
    expect(value.count).toBe(1);
    // At least the 30 ms the handler slept, and nowhere near 30 (which would be milliseconds).
    expect(value.sum).toBeGreaterThanOrEqual(0.029);
    expect(value.sum).toBeLessThan(29);
  });

  it('counts a poison message under the job name _unknown', async () => {
    const t = telemetry();
    const worker = createWorker({ plugins: [otelPlugin({ meterProvider: t.meterProvider })] });
    const run = await worker.run({ messageId: 'm-1', body: 'garbage', receiveCount: 1, queue: 'orders' });
    await run.settle();
    expect(byJob((await t.metrics()).get('glasswork.jobs.dead_lettered'))).toEqual({ '_unknown@orders': 1 });
  });
});
