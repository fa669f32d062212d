import { describe, expect, it } from 'vitest';
import type { AnyPlugin, StandardSchemaV1 } from '../src/index.ts';
import { createWorker, defineJob, definePlugin } from '../src/index.ts';
import { deliveryOf, eventRecorder } from './helpers.ts';

// What the worker does when plugins, user callbacks or clocks misbehave: never lose the message, never
// run a handler whose outcome was already decided, say who was wrong.
const job = defineJob<{ n: number }>({ name: 'robust' });

function quietWorker(plugins: readonly AnyPlugin[], reported: string[] = []) {
  return createWorker({
    plugins,
    onObserverError: (error, info) => reported.push(`${info.plugin}: ${(error as Error).message}`),
  });
}

describe('hooks that forget to return', () => {
  it('keeps the decided outcome when a deliver hook returns nothing', async () => {
    const forgetful = definePlugin({
      name: 'forgetful',
      setup: (hooks) =>
        hooks.deliver(async (_ctx, next) => {
          await next();
          return undefined as never;
        }),
    });
    const reported: string[] = [];
    const recorder = eventRecorder();
    const worker = quietWorker([forgetful, recorder], reported).handle(job, () => 'done');
    const result = await worker.run(deliveryOf(job, { n: 1 }));
    await result.settle();
    expect(result.outcome).toEqual({ type: 'ack', result: 'done' });
    expect(reported).toEqual([
      'deliver: A deliver hook returned undefined instead of an outcome: return await next()',
    ]);
    expect(recorder.events).toEqual(['start', 'success']);
  });

  it("keeps the handler's result when an execute hook returns nothing after it ran", async () => {
    const forgetful = definePlugin({
      name: 'forgetful',
      setup: (hooks) =>
        hooks.execute(async (_ctx, next) => {
          await next();
          return undefined as never;
        }),
    });
    let runs = 0;
    const worker = quietWorker([forgetful]).handle(job, () => {
      runs++;
      return 'done';
    });
    expect((await worker.run(deliveryOf(job, { n: 1 }))).outcome).toEqual({ type: 'ack', result: 'done' });
    expect(runs).toBe(1);
  });

  it('counts a malformed deferral (no delay) as a failed attempt, not a visibility of NaN', async () => {
    const broken = definePlugin({
      name: 'broken',
      setup: (hooks) =>
        hooks.execute(async () => ({ type: 'defer', delayMs: undefined as never, reason: 'x' })),
    });
    const { outcome } = await quietWorker([broken])
      .handle(job, () => {})
      .run(deliveryOf(job, { n: 1 }));
    expect(outcome.type).toBe('retry');
    expect(outcome.type === 'retry' && outcome.delayMs).toBeGreaterThanOrEqual(1000);
  });
});

describe('never run a handler whose outcome was decided', () => {
  it('does not count a slow start observer against the job timeout', async () => {
    const slow = definePlugin({
      name: 'slow',
      setup: (hooks) => hooks.on('start', () => new Promise((r) => setTimeout(r, 80))),
    });
    const worker = createWorker({ plugins: [slow] }).handle(job, () => 'done', { timeout: 50 });
    expect((await worker.run(deliveryOf(job, { n: 1 }))).outcome).toEqual({ type: 'ack', result: 'done' });
  });

  it('does not start the handler when the adapter aborted during the hooks', async () => {
    const controller = new AbortController();
    const slow = definePlugin({
      name: 'slow',
      setup: (hooks) =>
        hooks.execute(async (_ctx, next) => {
          controller.abort(new Error('deadline'));
          return next();
        }),
    });
    let started = false;
    const worker = createWorker({ plugins: [slow] }).handle(job, () => {
      started = true;
    });
    const result = await worker.run(deliveryOf(job, { n: 1 }, { signal: controller.signal }));
    await result.finished;
    expect(result.outcome.type).toBe('retry');
    expect(started).toBe(false);
  });

  it('does not start the handler when the signal was aborted before the run', async () => {
    let started = false;
    const worker = createWorker().handle(job, () => {
      started = true;
    });
    const signal = AbortSignal.abort(new Error('too late'));
    const result = await worker.run(
      deliveryOf(job, { n: 1 }, { signal, receiveCount: 3, maxReceiveCount: 3 }),
    );
    await result.finished;
    expect(started).toBe(false);
    expect(result.outcome).toMatchObject({
      type: 'dead',
      reason: expect.stringMatching(/^too late, on receive 3 of the 3/),
    });
  });
});

describe('the worker never loses a message to its own failures', () => {
  it('retries, then dead-letters on the last receive, when plugin setup keeps failing', async () => {
    const broken = definePlugin({
      name: 'broken',
      setup: async () => {
        throw new Error('no secrets');
      },
    });
    const worker = createWorker({ plugins: [broken] }).handle(job, () => {});
    expect(
      (await worker.run(deliveryOf(job, { n: 1 }, { receiveCount: 1, maxReceiveCount: 3 }))).outcome.type,
    ).toBe('retry');
    const last = await worker.run(deliveryOf(job, { n: 1 }, { receiveCount: 3, maxReceiveCount: 3 }));
    expect(last.outcome).toMatchObject({ type: 'dead', reason: expect.stringMatching(/no secrets/) });
  });

  it('retries when a user backoff function throws, and says it was the worker, not a plugin', async () => {
    const reported: string[] = [];
    const worker = createWorker({
      onObserverError: (e, info) => reported.push(`${info.plugin}: ${(e as Error).message}`),
    }).handle(
      job,
      () => {
        throw new Error('handler failed');
      },
      { retry: { backoff: () => -1 as never } },
    );
    const { outcome } = await worker.run(deliveryOf(job, { n: 1 }));
    expect(outcome.type).toBe('retry');
    expect(reported[0]).toMatch(/^glasswork: Invalid duration -1/);
  });

  it('awaits a validator that returns a thenable that is not a native promise', async () => {
    const thenable: StandardSchemaV1<{ n: number }> = {
      '~standard': {
        version: 1,
        vendor: 'thenable',
        validate: (value) => {
          // A thenable that is not a native promise, as some validator libraries return.
          // biome-ignore lint/suspicious/noThenProperty: being a thenable is what this test is about
          const thenable = { then: (resolve: (r: unknown) => void) => resolve({ value }) };
          return thenable as unknown as Promise<{ value: { n: number } }>;
        },
      },
    };
    const strict = defineJob({ name: 'thenable', schema: thenable });
    const seen: unknown[] = [];
    const worker = createWorker().handle(strict, (payload) => void seen.push(payload));
    expect((await worker.run(deliveryOf(strict, { n: 7 }))).outcome.type).toBe('ack');
    expect(seen).toEqual([{ n: 7 }]);
  });

  it('bounds the compatibility window by the queue time when the producer clock is in the future', async () => {
    const worker = createWorker({ incompatibleFor: '1h' });
    const now = Date.now();
    const delivery = deliveryOf(
      'unknown-job',
      {},
      {
        enqueuedAt: new Date(now + 365 * 86_400_000),
        sentAt: now - 2 * 3_600_000,
        receivedAt: now,
      },
    );
    expect((await worker.run(delivery)).outcome).toMatchObject({
      type: 'dead',
      reason: expect.stringMatching(/^incompatible for/),
    });
  });
});

describe('options that cannot work are refused up front', () => {
  it('refuses timeouts a timer cannot hold, or of zero', () => {
    expect(() => createWorker().handle(job, () => {}, { timeout: '25d' })).toThrow(
      /timeout of job "robust" must be between 1ms/,
    );
    expect(() => createWorker().handle(job, () => {}, { timeout: 0 })).toThrow(/must be between 1ms/);
    expect(() => createWorker({ observerTimeout: '30d' })).toThrow(/observerTimeout must be between/);
  });

  it('refuses an invalid firstEnqueuedAt with the option named', async () => {
    const { createClient } = await import('../src/index.ts');
    const { memoryDriver } = await import('./memory-driver.ts');
    const client = createClient({ driver: memoryDriver(), defaultQueue: 'q' });
    await expect(client.enqueue(job, { n: 1 }, { firstEnqueuedAt: 'yesterday' })).rejects.toThrow(
      /firstEnqueuedAt is not a valid time/,
    );
  });
});
