import type { GlassworkEventName, Plugin } from '@glasswork/core';
import {
  createClient,
  createWorker,
  defineJob,
  definePlugin,
  PermanentJobError,
  RetryExhaustedError,
  TransientJobError,
} from '@glasswork/core';
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { mockDriver } from '../src/index.ts';

const EVENTS: GlassworkEventName[] = ['start', 'success', 'duplicate', 'retry', 'defer', 'dead', 'discard'];

function recorder(): Plugin & { events: string[] } {
  const events: string[] = [];
  const plugin = definePlugin({
    name: 'recorder',
    setup(hooks) {
      for (const event of EVENTS) hooks.on(event, () => void events.push(event));
    },
  });
  return Object.assign(plugin, { events });
}

/** A FIFO queue whose redrive policy allows `maxReceiveCount` receives, and a job of one group on it. */
function ledgerGroup(maxReceiveCount: number) {
  const driver = mockDriver({ maxReceiveCount });
  const client = createClient({ driver });
  const entry = defineJob<{ seq: number }>({ name: 'entry', queue: 'ledger.fifo', group: 'a' });
  return { driver, client, entry };
}

const charge = defineJob({
  name: 'charge',
  queue: 'payments',
  schema: v.object({ amount: v.number() }),
});

function harness(options: Parameters<typeof mockDriver>[0] = {}) {
  const driver = mockDriver(options);
  const client = createClient({ driver });
  const rec = recorder();
  const worker = createWorker({ plugins: [rec] });
  return { driver, client, worker, events: rec.events };
}

describe('drain: the outcome table with SQS semantics', () => {
  it('acks and deletes a job whose handler returns', async () => {
    const { driver, client, worker, events } = harness();
    worker.handle(charge, () => 'charged');
    await client.enqueue(charge, { amount: 5 });
    const report = await driver.drain(worker);
    expect(report.counts.ack).toBe(1);
    expect(driver.pending()).toBe(0);
    expect(events).toEqual(['start', 'success']);
  });

  it('retries after the backoff with the receive count going up, then succeeds', async () => {
    const { driver, client, worker, events } = harness();
    const attempts: number[] = [];
    worker.handle(
      charge,
      (_p, ctx) => {
        attempts.push(ctx.attempt);
        if (ctx.attempt < 3) throw new Error('gateway timeout');
      },
      { retry: { maxAttempts: 5, backoff: ['10s', '1m'] } },
    );
    await client.enqueue(charge, { amount: 5 });
    const report = await driver.drain(worker);
    expect(attempts).toEqual([1, 2, 3]);
    expect(report.log.map((e) => [e.outcome.type, e.receiveCount, e.at - report.log[0]!.at])).toEqual([
      ['retry', 1, 0],
      ['retry', 2, 10_000],
      ['ack', 3, 70_000],
    ]);
    expect(events).toEqual(['start', 'retry', 'start', 'retry', 'start', 'success']);
  });

  it('dead-letters a PermanentJobError on the first delivery, with its reason', async () => {
    const { driver, client, worker, events } = harness();
    worker.handle(charge, () => {
      throw new PermanentJobError('card declined');
    });
    const { id } = await client.enqueue(charge, { amount: 5 });
    await driver.drain(worker);
    expect(driver.deadLetters).toHaveLength(1);
    expect(driver.deadLetters[0]).toMatchObject({
      jobId: id,
      job: 'charge',
      source: 'worker',
      receiveCount: 1,
      reason: 'permanent failure: card declined',
      info: {
        attempts: 1,
        sourceQueue: 'payments',
        error: { name: 'PermanentJobError', message: 'card declined' },
      },
    });
    expect(driver.pending()).toBe(0);
    expect(events).toEqual(['start', 'dead']);
  });

  it('dead-letters with RetryExhaustedError after maxAttempts', async () => {
    const { driver, client, worker, events } = harness();
    worker.handle(
      charge,
      () => {
        throw new TransientJobError('busy');
      },
      { retry: 3 },
    );
    await client.enqueue(charge, { amount: 5 });
    const report = await driver.drain(worker);
    expect(report.log.map((e) => e.outcome.type)).toEqual(['retry', 'retry', 'dead']);
    expect(driver.deadLetters[0]?.reason).toBe('retries exhausted after 3 attempts: busy');
    expect(driver.deadLetters[0]?.info?.error?.name).toBe(RetryExhaustedError.name);
    expect(events).toEqual(['start', 'retry', 'start', 'retry', 'start', 'dead']);
  });

  it('discards instead when the job says dead: false', async () => {
    const { driver, client, worker, events } = harness();
    worker.handle(
      charge,
      () => {
        throw new Error('x');
      },
      { retry: { maxAttempts: 2, dead: false } },
    );
    await client.enqueue(charge, { amount: 5 });
    const report = await driver.drain(worker);
    expect(report.counts).toMatchObject({ retry: 1, discard: 1, dead: 0 });
    expect(driver.deadLetters).toHaveLength(0);
    expect(driver.pending()).toBe(0);
    expect(events).toEqual(['start', 'retry', 'start', 'discard']);
  });

  it('treats retry: false as a single attempt', async () => {
    const { driver, client, worker } = harness();
    worker.handle(
      charge,
      () => {
        throw new Error('x');
      },
      { retry: false },
    );
    await client.enqueue(charge, { amount: 5 });
    const report = await driver.drain(worker);
    expect(report.log.map((e) => e.outcome.type)).toEqual(['dead']);
  });

  it('dead-letters on the last receive the redrive policy allows, before SQS would move it silently', async () => {
    const { driver, client, worker, events } = harness({ maxReceiveCount: 3 });
    worker.handle(
      charge,
      () => {
        throw new Error('flaky');
      },
      { retry: 10 },
    );
    await client.enqueue(charge, { amount: 5 });
    await driver.drain(worker);
    expect(driver.deadLetters).toHaveLength(1);
    expect(driver.deadLetters[0]?.source).toBe('worker');
    expect(driver.deadLetters[0]?.reason).toBe(
      "flaky, on receive 3 of the 3 the queue's redrive policy allows",
    );
    expect(events).toEqual(['start', 'retry', 'start', 'retry', 'start', 'dead']);
  });

  it('dead-letters a message that arrives past maxAttempts without running it', async () => {
    const { driver, client, worker, events } = harness();
    let runs = 0;
    worker.handle(charge, () => void runs++, { retry: 2 });
    // A replay that already used its attempts elsewhere.
    await client.enqueue(charge, { amount: 5 }, { priorAttempts: 2 });
    await driver.drain(worker);
    expect(runs).toBe(0);
    expect(driver.deadLetters[0]?.reason).toBe('arrived on attempt 3, past maxAttempts 2; not run');
    expect(events).toEqual(['dead']);
  });

  it('dead-letters malformed messages at once', async () => {
    const { driver, worker, events } = harness();
    worker.handle(charge, () => {});
    await driver.send('payments', [
      {
        id: 'x',
        jobName: 'charge',
        queue: 'payments',
        body: '{"v":1,"id":"x","name":"charge","enqueuedAt":"2026-01-01T00:00:00Z","payload":{"amount":1}}',
        attributes: {},
        bytes: 10,
        delaySeconds: 0,
      },
    ]);
    // Bypass the client to put a body no producer of ours would write.
    const stored = driver.enqueued[0]!;
    (stored as { body: string }).body = 'not json';
    await expect(driver.drain(worker)).resolves.toBeTruthy();
    expect(driver.deadLetters.map((d) => d.reason)).toEqual(['malformed: the body is not JSON']);
    expect(events).toEqual(['dead']);
  });

  it('retries an unknown job within the compatibility window, then dead-letters it', async () => {
    const driver = mockDriver({ maxReceiveCount: 100 });
    const client = createClient({ driver });
    const rec = recorder();
    const worker = createWorker({ plugins: [rec], incompatibleFor: '10m' });
    const future = defineJob<{ n: number }>({ name: 'added-in-next-release', queue: 'payments' });
    await client.enqueue(future, { n: 1 });
    const report = await driver.drain(worker);
    const types = report.log.map((e) => e.outcome.type);
    expect(types.at(-1)).toBe('dead');
    expect(types.slice(0, -1).every((t) => t === 'retry')).toBe(true);
    expect(report.elapsedMs).toBeGreaterThanOrEqual(10 * 60_000);
    expect(driver.deadLetters[0]?.reason).toMatch(
      /^incompatible for \d+s \(limit 600s\): this worker has no handler/,
    );
    expect(rec.events).toEqual([...types.slice(0, -1).map(() => 'retry'), 'dead']);
  });

  it("retries a payload the worker's schema rejects (a producer deployed ahead), then dead-letters it", async () => {
    const driver = mockDriver({ maxReceiveCount: 100 });
    const producerSide = defineJob({
      name: 'charge',
      queue: 'payments',
      schema: v.object({ cents: v.number() }),
    });
    await createClient({ driver }).enqueue(producerSide, { cents: 500 });
    const rec = recorder();
    const worker = createWorker({ plugins: [rec], incompatibleFor: '5m' }).handle(charge, () => {});
    const report = await driver.drain(worker);
    expect(report.log.at(-1)?.outcome.type).toBe('dead');
    expect(report.counts.retry).toBeGreaterThan(0);
    expect(rec.events).not.toContain('start');
    expect(driver.deadLetters[0]?.reason).toMatch(/the payload does not match the schema/);
    expect(driver.deadLetters[0]?.info?.error?.name).toBe('InvalidJobPayloadError');
  });

  it('runs an incompatible message once the handler is deployed within the window', async () => {
    const driver = mockDriver();
    const client = createClient({ driver });
    const future = defineJob<{ n: number }>({ name: 'added-later', queue: 'payments' });
    await client.enqueue(future, { n: 1 });
    const old = createWorker();
    const first = await driver.drain(old, { for: 0 });
    expect(first.log.map((e) => e.outcome.type)).toEqual(['retry']);
    const deployed = createWorker().handle(future, () => 'ran');
    const second = await driver.drain(deployed);
    expect(second.log.map((e) => e.outcome.type)).toEqual(['ack']);
  });

  it('defers when an execute hook says it is not our turn, without counting a failure', async () => {
    let held = 2;
    const lock = definePlugin({
      name: 'lock',
      setup(hooks) {
        hooks.execute(async (_ctx, next) =>
          held-- > 0 ? { type: 'defer', delayMs: 5000, reason: 'lock held' } : next(),
        );
      },
    });
    const driver = mockDriver();
    const rec = recorder();
    // Deferrals are receives too, so they count towards maxAttempts (DESIGN.md, Attempts).
    const worker = createWorker({ plugins: [lock, rec] }).handle(charge, () => {}, { retry: 3 });
    await createClient({ driver }).enqueue(charge, { amount: 1 });
    const report = await driver.drain(worker);
    expect(report.log.map((e) => [e.outcome.type, e.at - report.log[0]!.at])).toEqual([
      ['defer', 0],
      ['defer', 5000],
      ['ack', 10_000],
    ]);
    expect(rec.events).toEqual(['defer', 'defer', 'start', 'success']);
  });

  it('reports duplicates from an idempotency-style execute hook', async () => {
    const done = new Set<string>();
    const idem = definePlugin({
      name: 'idem',
      setup(hooks) {
        hooks.execute(async (ctx, next) => {
          if (done.has(ctx.jobId)) return { type: 'duplicate', value: 'cached' };
          const result = await next();
          done.add(ctx.jobId);
          return result;
        });
      },
    });
    // One message per receive, so the second delivery starts after the first completed.
    const driver = mockDriver({ batchSize: 1 });
    const rec = recorder();
    const worker = createWorker({ plugins: [idem, rec] }).handle(charge, () => 'fresh');
    const client = createClient({ driver });
    await client.enqueue(charge, { amount: 1 }, { id: 'same' });
    await client.enqueue(charge, { amount: 1 }, { id: 'same' });
    const report = await driver.drain(worker);
    expect(report.counts).toMatchObject({ ack: 2, duplicate: 1 });
    expect(rec.events).toEqual(['start', 'success', 'duplicate']);
  });

  it('retries a job that times out, after aborting its signal', async () => {
    const { driver, client, worker, events } = harness();
    let aborts = 0;
    worker.handle(
      charge,
      (_p, ctx) =>
        new Promise((_, reject) => {
          ctx.signal.addEventListener('abort', () => {
            aborts++;
            reject(ctx.signal.reason);
          });
        }),
      { timeout: 5, retry: 2 },
    );
    await client.enqueue(charge, { amount: 1 });
    const report = await driver.drain(worker);
    expect(aborts).toBe(2);
    expect(report.log.map((e) => e.outcome.type)).toEqual(['retry', 'dead']);
    expect(driver.deadLetters[0]?.reason).toMatch(/timed out after 5ms/);
    expect(events).toEqual(['start', 'retry', 'start', 'dead']);
  });
});

describe('drain: delays, clock and FIFO', () => {
  it('holds delayed jobs until the clock reaches them', async () => {
    const driver = mockDriver();
    const client = createClient({ driver });
    const ran: number[] = [];
    const worker = createWorker().handle(charge, (p) => void ran.push(p.amount));
    await client.enqueueIn(charge, '10m', { amount: 2 });
    await client.enqueue(charge, { amount: 1 });
    await driver.drain(worker, { for: '5m' });
    expect(ran).toEqual([1]);
    driver.advance('5m');
    await driver.drain(worker, { for: 0 });
    expect(ran).toEqual([1, 2]);
  });

  it('runs jobs that handlers enqueue (fan-out) in the same drain', async () => {
    const driver = mockDriver();
    const client = createClient({ driver });
    const fanOut = defineJob<{ n: number }>({ name: 'fan-out', queue: 'work' });
    const leaf = defineJob<{ i: number }>({ name: 'leaf', queue: 'work' });
    const seen: number[] = [];
    const worker = createWorker()
      .handle(fanOut, async ({ n }) => {
        await client.enqueueMany(Array.from({ length: n }, (_, i) => ({ job: leaf, payload: { i } })));
      })
      .handle(leaf, ({ i }) => void seen.push(i));
    await client.enqueue(fanOut, { n: 25 });
    const report = await driver.drain(worker);
    expect(report.counts.ack).toBe(26);
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => i));
  });

  it('keeps FIFO order per group when a head fails, and other groups proceed', async () => {
    const driver = mockDriver();
    const client = createClient({ driver });
    const entry = defineJob<{ account: string; seq: number }>({
      name: 'entry',
      queue: 'ledger.fifo',
      group: (p) => p.account,
    });
    const ran: string[] = [];
    let failOnce = true;
    const rec = recorder();
    const worker = createWorker({ plugins: [rec] }).handle(
      entry,
      ({ account, seq }) => {
        ran.push(`${account}${seq}`);
        if (account === 'a' && seq === 1 && failOnce) {
          failOnce = false;
          throw new Error('lock timeout');
        }
      },
      { retry: { backoff: '30s' } },
    );
    await client.enqueueMany(
      [1, 2, 3].flatMap((seq) => [
        { job: entry, payload: { account: 'a', seq } },
        { job: entry, payload: { account: 'b', seq } },
      ]),
    );
    const report = await driver.drain(worker);
    expect(ran.filter((r) => r.startsWith('b'))).toEqual(['b1', 'b2', 'b3']);
    expect(ran.filter((r) => r.startsWith('a'))).toEqual(['a1', 'a1', 'a2', 'a3']);
    // Followers of the failed head come back at once, but the group waits for the head's backoff.
    expect(report.log.filter((e) => e.outcome.type === 'defer')).toHaveLength(2);
    expect(report.elapsedMs).toBe(30_000);
    expect(driver.deadLetters).toHaveLength(0);
    // a1 fails; a2 and a3 are deferred without starting; then a1, a2, a3 succeed.
    expect(rec.events.filter((e) => e === 'defer')).toHaveLength(2);
    expect(rec.events.filter((e) => e === 'start')).toHaveLength(7);
    expect(rec.events.filter((e) => e === 'retry')).toHaveLength(1);
  });

  it.each([
    [false, ['a1', 'a2', 'a3'], ['a1']],
    [true, ['a1', 'a1', 'a1', 'a1', 'a1', 'a2', 'a3'], []],
  ])(
    'with blockGroup %s, a head that fails for good is dead-lettered, or holds its group until it is fixed',
    async (blockGroup, order, dead) => {
      const driver = mockDriver({ maxReceiveCount: 20 });
      const client = createClient({ driver });
      const entry = defineJob<{ account: string; seq: number }>({
        name: 'entry',
        queue: 'ledger.fifo',
        group: (p) => p.account,
      });
      const ran: string[] = [];
      const retries: { blocksGroup?: string }[] = [];
      const plugin = definePlugin({
        name: 'retries',
        setup: (hooks) => hooks.on('retry', ({ outcome }) => void retries.push(outcome)),
      });
      // a1 is refused for good (a bug) on its first four runs; a fix is deployed before the fifth.
      const worker = createWorker({ plugins: [plugin] }).handle(
        entry,
        ({ account, seq }) => {
          ran.push(`${account}${seq}`);
          if (seq === 1 && ran.length <= 4) throw new PermanentJobError('ledger rejects the entry');
        },
        { retry: { maxAttempts: 2, backoff: '1m', blockGroup } },
      );
      await client.enqueueMany([1, 2, 3].map((seq) => ({ job: entry, payload: { account: 'a', seq } })));
      await driver.drain(worker);
      // Without blockGroup, a1 is dead-lettered at once and a2, a3 run out of order (a1 is in the DLQ).
      expect(ran).toEqual(order);
      expect(driver.deadLetters.map((d) => `a${JSON.parse(d.body).payload.seq}`)).toEqual(dead);
      if (blockGroup) {
        expect(retries).toHaveLength(4);
        expect(retries[0]?.blocksGroup).toMatch(
          /^permanent failure: ledger rejects the entry; holding group "a"/,
        );
      }
    },
  );

  it('with blockGroup, the messages behind a held head keep their own retries while receives are left', async () => {
    // Followers are received and released with the head each time, so their receive counts rise in step:
    // after the hold, a follower's first failure is already past maxAttempts. blockGroup holds it too.
    const { driver, client, entry } = ledgerGroup(20);
    const ran: string[] = [];
    const worker = createWorker().handle(
      entry,
      ({ seq }) => {
        ran.push(`a${seq}`);
        if (seq === 1 && ran.length <= 4) throw new PermanentJobError('ledger closed');
        if (seq === 2 && ran.filter((r) => r === 'a2').length === 1) throw new Error('blip');
      },
      { retry: { maxAttempts: 2, backoff: '1m', blockGroup: true } },
    );
    await client.enqueueMany([1, 2, 3].map((seq) => ({ job: entry, payload: { seq } })));
    await driver.drain(worker);
    expect(ran).toEqual(['a1', 'a1', 'a1', 'a1', 'a1', 'a2', 'a2', 'a3']);
    expect(driver.deadLetters).toHaveLength(0);
  });

  it('dead-letters a blocking head on the last receive the queue allows, and the group moves on', async () => {
    const { driver, client, entry } = ledgerGroup(3);
    const ran: number[] = [];
    const worker = createWorker().handle(
      entry,
      ({ seq }) => {
        ran.push(seq);
        if (seq === 1) throw new PermanentJobError('never');
      },
      { retry: { backoff: '1m', blockGroup: true } },
    );
    await client.enqueueMany([1, 2].map((seq) => ({ job: entry, payload: { seq } })));
    await driver.drain(worker);
    expect(ran).toEqual([1, 1, 1, 2]);
    expect(driver.deadLetters).toHaveLength(1);
    expect(driver.deadLetters[0]?.reason).toMatch(
      /^permanent failure: never; held group "a", on receive 3 of the 3/,
    );
  });

  it('does not send the rest of a FIFO group in a call after one of its messages failed', async () => {
    const driver = mockDriver({
      failSend: (m) => ((m.payload as { n: number }).n === 1 ? new Error('throttled') : undefined),
    });
    const entry = defineJob<{ g: string; n: number }>({
      name: 'entry',
      queue: 'ledger.fifo',
      group: (p) => p.g,
    });
    const results = await createClient({ driver }).enqueueMany([
      { job: entry, payload: { g: 'a', n: 1 } },
      { job: entry, payload: { g: 'a', n: 2 } },
      { job: entry, payload: { g: 'b', n: 3 } },
    ]);
    expect(results.map((r) => r.ok)).toEqual([false, false, true]);
    expect(driver.enqueued.map((m) => (m.payload as { n: number }).n)).toEqual([3]);
  });

  it('deduplicates FIFO messages with the same dedup id within five minutes', async () => {
    const driver = mockDriver();
    const client = createClient({ driver });
    const job = defineJob<{ id: string }>({ name: 'once', queue: 'q.fifo', group: 'g', dedupe: (p) => p.id });
    await client.enqueue(job, { id: 'a' });
    await client.enqueue(job, { id: 'a' });
    expect(driver.enqueued).toHaveLength(1);
    driver.advance('6m');
    await client.enqueue(job, { id: 'a' });
    expect(driver.enqueued).toHaveLength(2);
  });

  it('moves a message silently when no worker acts on its last receive, and says so', async () => {
    const driver = mockDriver({ maxReceiveCount: 2 });
    const client = createClient({ driver });
    await client.enqueue(charge, { amount: 1 });
    // A consumer that receives and never answers, like a crashed worker.
    await driver.receive?.('payments', { maxMessages: 10 });
    driver.advance('31s');
    await driver.receive?.('payments', { maxMessages: 10 });
    driver.advance('31s');
    await driver.receive?.('payments', { maxMessages: 10 });
    expect(driver.deadLetters).toMatchObject([{ source: 'redrive', receiveCount: 2 }]);
  });

  it('stamps enqueuedAt with the virtual clock', async () => {
    const driver = mockDriver({ startTime: Date.parse('2030-01-01T00:00:00Z') });
    await createClient({ driver }).enqueue(charge, { amount: 1 });
    expect(driver.enqueued[0]?.envelope.enqueuedAt).toBe('2030-01-01T00:00:00.000Z');
  });

  it('gives up on a job that defers forever, with an error that says so', async () => {
    const forever = definePlugin({
      name: 'forever',
      setup(hooks) {
        hooks.execute(async () => ({ type: 'defer', delayMs: 3_600_000, reason: 'never' }));
      },
    });
    const driver = mockDriver({ maxReceiveCount: false });
    const worker = createWorker({ plugins: [forever] }).handle(charge, () => {}, { retry: 1000 });
    await createClient({ driver }).enqueue(charge, { amount: 1 });
    await expect(driver.drain(worker, { limit: '1d' })).rejects.toThrow(/still pending after/);
  });

  it('gives up on jobs that enqueue each other forever', async () => {
    const driver = mockDriver();
    const client = createClient({ driver });
    const ping = defineJob<{ n: number }>({ name: 'ping', queue: 'q' });
    const worker = createWorker().handle(ping, async ({ n }) => {
      await client.enqueue(ping, { n: n + 1 });
    });
    await client.enqueue(ping, { n: 0 });
    await expect(driver.drain(worker, { maxDeliveries: 50 })).rejects.toThrow(/more than 50 deliveries/);
  });
});
