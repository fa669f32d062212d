import { randomUUID } from 'node:crypto';
import type { Client, Outcome, Plugin, QueueDriver, RunResult, Worker } from '@glasswork/core';
import { createClient, createWorker, defineJob, definePlugin } from '@glasswork/core';
import type { IdempotencyOptions, IdempotencyStore } from '@glasswork/idempotency';
import { idempotencyPlugin, jobKey, once } from '@glasswork/idempotency';
import { mockDriver } from '@glasswork/mock';
import * as v from 'valibot';
import { expect, it } from 'vitest';

/**
 * End-to-end scenarios of the idempotency promise, written against "a way to run the worker" so that the
 * same scenario runs through the mock drain, and later through the SQS poller or the Lambda adapter on
 * fauxqs: implement a `QueueHarness` for those and call `idempotencyScenarios` with it.
 */
export interface QueueHarness {
  readonly label: string;
  /** The queue the scenarios' jobs go to. */
  readonly queue: string;
  /** Enqueues onto `queue`. */
  readonly client: Client;
  /** The consumer side of the same queue: `crash` receives one message with it and never acts on it. */
  readonly driver: QueueDriver;
  /** The clock the plugin must use (the mock's virtual clock; `Date.now` on a real queue). */
  now(): number;
  /** Runs the worker until the queue is empty; returns the outcomes applied, in order. */
  run(worker: Worker<any>): Promise<Applied[]>;
  /** How many messages of `queue` went to its dead-letter queue so far. */
  deadLetters(): Promise<number>;
  /** The lock the scenarios configure: above the queue's visibility timeout, so a redelivery meets it. */
  readonly lockTimeoutMs: number;
  /** Plugins the harness needs on every scenario's worker, e.g. an observer that records applied outcomes. */
  readonly plugins?: readonly Plugin[];
}

/** One applied outcome. */
export interface Applied {
  readonly jobId: string | undefined;
  readonly outcome: Outcome;
}

/** `success` or `duplicate` for acks, else the outcome's type. */
export function kind(applied: Applied): string {
  const { outcome } = applied;
  if (outcome.type !== 'ack') return outcome.type;
  return outcome.duplicate ? 'duplicate' : 'success';
}

/** A harness on `@glasswork/mock`: SQS semantics on a virtual clock, 30 s visibility, a 2 min lock. */
export function mockHarness(): QueueHarness {
  const driver = mockDriver({ visibilityTimeout: '30s', maxReceiveCount: 20 });
  return {
    label: 'mock drain',
    queue: 'jobs',
    client: createClient({ driver }),
    driver,
    now: () => driver.now(),
    async run(worker) {
      const report = await driver.drain(worker);
      return report.log.map((entry) => ({ jobId: entry.jobId, outcome: entry.outcome }));
    },
    deadLetters: async () => driver.deadLetters.length,
    lockTimeoutMs: 120_000,
  };
}

/** A promise with its resolve function outside. */
export function gate<T = void>(): { promise: Promise<T>; open(value: T): void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/**
 * Receives the next message of the harness's queue and runs the worker on it without ever applying the
 * outcome, as a worker that dies mid-job would. The message comes back when its visibility ends.
 */
export async function crash(h: QueueHarness, worker: Worker<any>): Promise<{ run: Promise<RunResult> }> {
  const [message] = (await h.driver.receive?.(h.queue, { maxMessages: 1 })) ?? [];
  if (!message) throw new Error(`${h.label}: no message to crash on`);
  return { run: worker.run(message) };
}

/** Sets up a worker with the plugin on the harness's clock, collecting what the plugin reports. */
export function setup(h: QueueHarness, store: IdempotencyStore, options: Partial<IdempotencyOptions> = {}) {
  const reported: unknown[] = [];
  const deferred = gate();
  const plugin = idempotencyPlugin({
    store,
    now: () => h.now(),
    lockTimeout: h.lockTimeoutMs,
    onError: (error) => void reported.push(error),
    ...options,
  });
  // Lets a handler wait until the other delivery of its job was deferred, so both really overlap.
  const watcher = definePlugin({
    name: 'watcher',
    setup: (hooks) => hooks.on('defer', () => deferred.open()),
  });
  const worker = createWorker({
    plugins: [plugin, watcher, ...(h.plugins ?? [])],
    retry: { maxAttempts: 5, backoff: '1s' },
  });
  const untilDeferred = () => Promise.race([deferred.promise, sleep(2000)]);
  return { worker, reported, untilDeferred };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const schema = v.object({ orderId: v.string(), cents: v.number() });

/** Registers the scenarios for one harness and one store. */
export function idempotencyScenarios(
  makeHarness: () => QueueHarness | Promise<QueueHarness>,
  makeStore: () => IdempotencyStore | Promise<IdempotencyStore>,
): void {
  const start = async () => {
    const h = await makeHarness();
    const job = defineJob({ name: 'charge', queue: h.queue, schema });
    return { h, job, store: await makeStore(), id: randomUUID(), orderId: `o-${randomUUID()}` };
  };

  it('runs a job delivered twice in sequence once; the second delivery is a duplicate with the result', async () => {
    const { h, job, store, id, orderId } = await start();
    const { worker } = setup(h, store);
    const effects: string[] = [];
    worker.handle(job, (p) => {
      effects.push(p.orderId);
      return { receipt: `r-${p.orderId}` };
    });
    await h.client.enqueue(job, { orderId, cents: 5 }, { id });
    expect((await h.run(worker)).map(kind)).toEqual(['success']);
    await h.client.enqueue(job, { orderId, cents: 5 }, { id });
    const second = await h.run(worker);
    expect(second.map(kind)).toEqual(['duplicate']);
    expect(second[0]?.outcome).toMatchObject({ result: { receipt: `r-${orderId}` } });
    expect(effects).toEqual([orderId]);
    expect(await h.deadLetters()).toBe(0);
  });

  it('runs a job delivered twice concurrently once; the other delivery is deferred, then a duplicate', async () => {
    const { h, job, store, id, orderId } = await start();
    const { worker, untilDeferred } = setup(h, store);
    const effects: string[] = [];
    worker.handle(job, async (p) => {
      await untilDeferred();
      effects.push(p.orderId);
    });
    const entry = { job, payload: { orderId, cents: 5 }, options: { id } };
    await h.client.enqueueMany([entry, entry]);
    const log = await h.run(worker);
    expect(effects).toEqual([orderId]);
    expect(log.map(kind).sort()).toEqual(['defer', 'duplicate', 'success']);
    const defer = log.find((a) => a.outcome.type === 'defer')?.outcome as Extract<Outcome, { type: 'defer' }>;
    expect(defer.delayMs).toBeGreaterThan(0);
    expect(defer.delayMs).toBeLessThanOrEqual(h.lockTimeoutMs);
    expect(defer.reason).toMatch(/is locked by another delivery/);
    expect(await h.deadLetters()).toBe(0);
  });

  it('recovers a job whose worker died mid-job once the lock expires', async () => {
    const { h, job, store, id, orderId } = await start();
    const { worker } = setup(h, store);
    const started = gate();
    const effects: number[] = [];
    let dies = true;
    worker.handle(job, async (_p, ctx) => {
      if (dies) {
        dies = false;
        started.open();
        await new Promise(() => {}); // dies: never returns, never acks
      }
      effects.push(ctx.attempt);
      return 'recovered';
    });
    await h.client.enqueue(job, { orderId, cents: 5 }, { id });
    await crash(h, worker);
    await started.promise;
    const log = await h.run(worker);
    // The redelivery meets the dead worker's lock and waits for it (not a failure); then it runs.
    expect(log.map(kind).at(-1)).toBe('success');
    expect(log.slice(0, -1).every((a) => kind(a) === 'defer')).toBe(true);
    expect(effects).toHaveLength(1);
    expect(await store.get(`charge:${id}`, { now: h.now() })).toMatchObject({
      status: 'completed',
      result: 'recovered',
    });
    expect(await h.deadLetters()).toBe(0);
  });

  it("refuses a zombie's stale completion; the step key makes the downstream apply the charge once", async () => {
    const { h, job, store, id, orderId } = await start();
    const { worker, reported } = setup(h, store);
    // A downstream API with its own idempotency keys (like Stripe's): a repeated key is not charged again.
    const charges = new Map<string, number>();
    const charge = (key: string, cents: number) => {
      if (!charges.has(key)) charges.set(key, cents);
      return `ch-${charges.size}`;
    };
    const inStep = gate();
    const resume = gate();
    let stalls = true;
    worker.handle(job, async (p, ctx) => {
      const first = stalls;
      stalls = false;
      return ctx.idempotency.once('charge', async (key) => {
        if (first) {
          inStep.open();
          await resume.promise; // stalls past its lock, then wakes up
        }
        return charge(key, p.cents);
      });
    });
    await h.client.enqueue(job, { orderId, cents: 5 }, { id });
    const zombie = await crash(h, worker);
    await inStep.promise;
    expect((await h.run(worker)).map(kind).at(-1)).toBe('success');
    resume.open();
    const late = await zombie.run;
    // The zombie's step completion is refused; the plugin answers with the winner's record.
    expect(late.outcome).toMatchObject({ type: 'ack', duplicate: true, result: 'ch-1' });
    expect(late.ctx.state.idempotency).toMatchObject({ status: 'lock-lost' });
    expect([...charges]).toEqual([[`charge:${id}:charge`, 5]]);
    expect(await store.get(`charge:${id}`, { now: h.now() })).toMatchObject({ result: 'ch-1' });
    expect(reported).toEqual([]);
    expect(await h.deadLetters()).toBe(0);
  });

  it('releases the key when the handler fails, so the retry runs after its backoff without waiting', async () => {
    const { h, job, store, id, orderId } = await start();
    const { worker } = setup(h, store);
    const attempts: number[] = [];
    worker.handle(job, (_p, ctx) => {
      attempts.push(ctx.attempt);
      if (ctx.attempt === 1) throw new Error('gateway timeout');
    });
    await h.client.enqueue(job, { orderId, cents: 5 }, { id });
    expect((await h.run(worker)).map(kind)).toEqual(['retry', 'success']);
    expect(attempts).toEqual([1, 2]);
  });

  it('dead-letters the same key with a different payload as IdempotencyKeyMismatchError', async () => {
    const { h, job, store, orderId } = await start();
    const { worker } = setup(h, store, { jobs: [jobKey(job, (p) => p.orderId)] });
    const effects: number[] = [];
    worker.handle(job, (p) => void effects.push(p.cents));
    await h.client.enqueue(job, { orderId, cents: 5 });
    expect((await h.run(worker)).map(kind)).toEqual(['success']);
    // Another job id, the same key and payload: a duplicate. The same key with another payload: a mismatch.
    await h.client.enqueue(job, { orderId, cents: 5 });
    expect((await h.run(worker)).map(kind)).toEqual(['duplicate']);
    await h.client.enqueue(job, { orderId, cents: 7 });
    const log = await h.run(worker);
    expect(log.map(kind)).toEqual(['dead']);
    expect(log[0]?.outcome).toMatchObject({ reason: expect.stringMatching(/different payload/) });
    expect(effects).toEqual([5]);
    expect(await h.deadLetters()).toBe(1);
  });

  it('once: a retry after a failed step skips the steps that completed, with stable keys', async () => {
    const { h, job, store, id, orderId } = await start();
    const { worker } = setup(h, store);
    const charged: string[] = [];
    const emailed: string[] = [];
    worker.handle(job, async (_p, ctx) => {
      const charge = await once(ctx, 'charge', (key) => {
        charged.push(key);
        return { charge: 'ch_1' };
      });
      await ctx.idempotency.once('email', (key) => {
        if (ctx.attempt === 1) throw new Error('SMTP down');
        emailed.push(key);
      });
      return charge;
    });
    await h.client.enqueue(job, { orderId, cents: 5 }, { id });
    const log = await h.run(worker);
    expect(log.map(kind)).toEqual(['retry', 'success']);
    expect(charged).toEqual([`charge:${id}:charge`]);
    expect(emailed).toEqual([`charge:${id}:email`]);
    expect(log[1]?.outcome).toMatchObject({ result: { charge: 'ch_1' } });
  });

  it('acknowledges a duplicate that comes back past maxAttempts after its deferral', async () => {
    const { h, job, store, id, orderId } = await start();
    const { worker, untilDeferred } = setup(h, store);
    worker.handle(job, () => untilDeferred(), { retry: false });
    const entry = { job, payload: { orderId, cents: 5 }, options: { id } };
    await h.client.enqueueMany([entry, entry]);
    const log = await h.run(worker);
    expect(log.map(kind).sort()).toEqual(['defer', 'duplicate', 'success']);
    expect(await h.deadLetters()).toBe(0);
  });
}
