import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import type { Outcome } from '../src/index.ts';
import {
  createWorker,
  defineJob,
  definePlugin,
  IncompatibleMessageError,
  InvalidJobPayloadError,
  JobTimeoutError,
  MalformedMessageError,
  PermanentJobError,
  RetryExhaustedError,
  TransientJobError,
} from '../src/index.ts';
import { deliveryOf, eventRecorder, rawDelivery } from './helpers.ts';

const sendEmail = defineJob({
  name: 'send-email',
  schema: v.object({ userId: v.string(), tries: v.optional(v.number(), 0) }),
});

function setup(handler: (payload: { userId: string; tries: number }) => unknown, options = {}) {
  const recorder = eventRecorder();
  const worker = createWorker({ plugins: [recorder] }).handle(sendEmail, handler, options);
  const run = async (delivery = deliveryOf(sendEmail, { userId: 'u1' })) => {
    const result = await worker.run(delivery);
    await result.settle();
    return result.outcome;
  };
  return { worker, run, events: recorder.events };
}

function expectType<T extends Outcome['type']>(outcome: Outcome, type: T): Extract<Outcome, { type: T }> {
  expect(outcome.type).toBe(type);
  return outcome as Extract<Outcome, { type: T }>;
}

describe('worker outcomes', () => {
  it('acks when the handler returns, with its value, and passes the schema output', async () => {
    const seen: unknown[] = [];
    const { run, events } = setup((payload) => {
      seen.push(payload);
      return 'sent';
    });
    const outcome = expectType(await run(), 'ack');
    expect(outcome.result).toBe('sent');
    expect(outcome.duplicate).toBeUndefined();
    expect(seen).toEqual([{ userId: 'u1', tries: 0 }]); // default applied by the schema
    expect(events).toEqual(['start', 'success']);
  });

  it.each([
    ['not JSON', 'hello'],
    ['truncated JSON', '{"v":1,"id":"a"'],
    ['a JSON array', '[1,2]'],
    ['a JSON number', '42'],
    ['not an envelope', '{"hello":"world"}'],
    ['no job name', '{"v":1,"id":"a","enqueuedAt":"2026-01-01T00:00:00Z","payload":{}}'],
    ['a non-string name', '{"v":1,"id":"a","name":7,"enqueuedAt":"2026-01-01T00:00:00Z"}'],
  ])('dead-letters a malformed message at once: %s', async (_label, body) => {
    let ran = false;
    const { run, events } = setup(() => {
      ran = true;
    });
    const outcome = expectType(await run(rawDelivery(body)), 'dead');
    expect(outcome.reason).toMatch(/^malformed: /);
    expect(outcome.error).toBeInstanceOf(MalformedMessageError);
    expect(ran).toBe(false);
    expect(events).toEqual(['dead']);
  });

  describe('incompatible messages are retried within the budget, then dead-lettered', () => {
    const cases = [
      ['a payload failing the schema', deliveryOf(sendEmail, { userId: 42 }), InvalidJobPayloadError],
      ['an unknown job name', deliveryOf('resize-image', {}), IncompatibleMessageError],
      [
        'an unknown envelope version',
        rawDelivery('{"v":2,"id":"a","name":"send-email"}', { sentAt: Date.now() }),
        IncompatibleMessageError,
      ],
    ] as const;

    it.each(cases)('%s: retry while young', async (_label, delivery, errorClass) => {
      const { run, events } = setup(() => {});
      const outcome = expectType(await run(delivery), 'retry');
      expect(outcome.error).toBeInstanceOf(errorClass);
      expect(outcome.delayMs).toBeGreaterThanOrEqual(1000);
      expect(events).toEqual(['retry']);
    });

    it.each(cases)('%s: dead once older than incompatibleFor', async (_label, delivery, errorClass) => {
      const { run, events } = setup(() => {});
      const later = { ...delivery, receivedAt: Date.now() + 2 * 3_600_000 };
      const outcome = expectType(await run(later), 'dead');
      expect(outcome.reason).toMatch(/^incompatible for \d+s/);
      expect(outcome.error).toBeInstanceOf(errorClass);
      expect(events).toEqual(['dead']);
    });
  });

  it('dead-letters a PermanentJobError at once, without retrying', async () => {
    const { run, events } = setup(() => {
      throw new PermanentJobError('user deleted');
    });
    const outcome = expectType(await run(), 'dead');
    expect(outcome.reason).toBe('permanent failure: user deleted');
    expect(outcome.error).toBeInstanceOf(PermanentJobError);
    expect(events).toEqual(['start', 'dead']);
  });

  it('retries other errors after the backoff delay, never 0', async () => {
    const { run, events } = setup(
      () => {
        throw new Error('smtp down');
      },
      { retry: { maxAttempts: 3, backoff: 0 } },
    );
    const outcome = expectType(await run(), 'retry');
    expect(outcome.delayMs).toBe(1000);
    expect((outcome.error as Error).message).toBe('smtp down');
    expect(events).toEqual(['start', 'retry']);
  });

  it('uses the backoff of the attempt that failed', async () => {
    const { run } = setup(
      () => {
        throw new Error('x');
      },
      { retry: { maxAttempts: 5, backoff: ['10s', '1m', '10m'] } },
    );
    const delays = [];
    for (const receiveCount of [1, 2, 3, 4]) {
      delays.push(
        expectType(await run(deliveryOf(sendEmail, { userId: 'u' }, { receiveCount })), 'retry').delayMs,
      );
    }
    expect(delays).toEqual([10_000, 60_000, 600_000, 600_000]);
  });

  it('lets TransientJobError.retryAfter win over the backoff', async () => {
    const { run } = setup(
      () => {
        throw new TransientJobError('rate limited', { retryAfter: '45s' });
      },
      { retry: { backoff: '1s' } },
    );
    expect(expectType(await run(), 'retry').delayMs).toBe(45_000);
  });

  it('dead-letters with RetryExhaustedError when attempts run out', async () => {
    const cause = new Error('still down');
    const { run, events } = setup(
      () => {
        throw cause;
      },
      { retry: 3 },
    );
    const outcome = expectType(
      await run(deliveryOf(sendEmail, { userId: 'u' }, { receiveCount: 3 })),
      'dead',
    );
    expect(outcome.error).toBeInstanceOf(RetryExhaustedError);
    expect((outcome.error as RetryExhaustedError).attempts).toBe(3);
    expect((outcome.error as RetryExhaustedError).cause).toBe(cause);
    expect(outcome.reason).toBe('retries exhausted after 3 attempts: still down');
    expect(events).toEqual(['start', 'dead']);
  });

  it('counts priorAttempts from the envelope towards maxAttempts', async () => {
    const { run } = setup(
      () => {
        throw new Error('x');
      },
      { retry: 3 },
    );
    const outcome = await run(deliveryOf(sendEmail, { userId: 'u' }, { receiveCount: 1, priorAttempts: 2 }));
    expect(outcome.type).toBe('dead');
  });

  it('discards instead of dead-lettering when the job says dead: false', async () => {
    const { run, events } = setup(
      () => {
        throw new Error('x');
      },
      { retry: { maxAttempts: 1, dead: false } },
    );
    const outcome = expectType(await run(), 'discard');
    expect(outcome.error).toBeInstanceOf(RetryExhaustedError);
    expect(events).toEqual(['start', 'discard']);

    const permanent = setup(
      () => {
        throw new PermanentJobError('no');
      },
      { retry: { dead: false } },
    );
    expect((await permanent.run()).type).toBe('discard');
  });

  it('treats retry: false as one attempt', async () => {
    const { run } = setup(
      () => {
        throw new Error('x');
      },
      { retry: false },
    );
    expect(expectType(await run(), 'dead').error).toBeInstanceOf(RetryExhaustedError);
  });

  it('dead-letters without running a message that arrives past maxAttempts', async () => {
    let ran = false;
    const { run, events } = setup(
      () => {
        ran = true;
      },
      { retry: 3 },
    );
    const outcome = expectType(
      await run(deliveryOf(sendEmail, { userId: 'u' }, { receiveCount: 4 })),
      'dead',
    );
    expect(outcome.reason).toBe('arrived on attempt 4, past maxAttempts 3; not run');
    expect(ran).toBe(false);
    expect(events).toEqual(['dead']);
  });

  it('lets an execute hook answer for a late duplicate before the attempt check', async () => {
    const idem = definePlugin({
      name: 'idem',
      setup: (hooks) => hooks.execute(async () => ({ type: 'duplicate', value: 'done before' })),
    });
    const worker = createWorker({ plugins: [idem] }).handle(sendEmail, () => {}, { retry: 2 });
    const { outcome } = await worker.run(deliveryOf(sendEmail, { userId: 'u' }, { receiveCount: 5 }));
    expect(outcome).toEqual({ type: 'ack', result: 'done before', duplicate: true });
  });

  it("gives handlers the job's timeout and the adapter's clock", async () => {
    const seen: unknown[] = [];
    const worker = createWorker().handle(
      sendEmail,
      (_payload, ctx) => {
        seen.push(ctx.timeout, ctx.now());
      },
      { timeout: '2s' },
    );
    await worker.run(deliveryOf(sendEmail, { userId: 'u' }, { now: () => 42 }));
    expect(seen).toEqual([2000, 42]);
  });

  it('runs a FIFO message whose receives went to waiting behind its group, whatever its count', async () => {
    let ran = 0;
    const { worker } = setup(
      () => {
        ran++;
      },
      { retry: 3 },
    );
    const follower = deliveryOf(
      sendEmail,
      { userId: 'u' },
      { receiveCount: 7, groupId: 'order-1', maxReceiveCount: 10 },
    );
    expect((await worker.run(follower)).outcome.type).toBe('ack');
    expect(ran).toBe(1);
  });

  it('blockGroup holds a FIFO group with retries; a standard queue still dead-letters at once', async () => {
    const { worker } = setup(
      () => {
        throw new PermanentJobError('rejected');
      },
      { retry: { maxAttempts: 2, backoff: '10s', blockGroup: true } },
    );
    const fifo = await worker.run(
      deliveryOf(sendEmail, { userId: 'u' }, { receiveCount: 4, groupId: 'g', maxReceiveCount: 10 }),
    );
    expect(fifo.outcome).toMatchObject({
      type: 'retry',
      delayMs: 10_000,
      blocksGroup: 'permanent failure: rejected; holding group "g" (retry.blockGroup)',
    });
    const standard = await worker.run(deliveryOf(sendEmail, { userId: 'u' }, { maxReceiveCount: 10 }));
    expect(standard.outcome).toMatchObject({ type: 'dead', reason: 'permanent failure: rejected' });
    expect(() => createWorker({ retry: { blockGroup: 'yes' as never } })).toThrow(/retry.blockGroup must be/);
  });

  it('blockGroup holds a head out of attempts too, after its retryAfter, and needs a maxReceiveCount', async () => {
    const { worker } = setup(
      () => {
        throw new TransientJobError('rate limited', { retryAfter: '2h' });
      },
      { retry: { maxAttempts: 2, backoff: '5s', blockGroup: true } },
    );
    const fifo = (extra: object) =>
      deliveryOf(sendEmail, { userId: 'u' }, { receiveCount: 3, groupId: 'g', ...extra });
    const held = await worker.run(fifo({ maxReceiveCount: 10 }));
    expect(held.outcome).toMatchObject({
      type: 'retry',
      delayMs: 7_200_000,
      error: expect.any(RetryExhaustedError),
      blocksGroup: expect.stringMatching(
        /^retries exhausted after 3 attempts: rate limited; holding group "g"/,
      ),
    });
    // No redrive policy: nothing would end the hold but the retention period, so it is dead-lettered.
    const unbounded = await worker.run(fifo({}));
    expect(unbounded.outcome).toMatchObject({
      type: 'dead',
      reason: expect.stringContaining('retry.blockGroup needs a redrive policy'),
    });
  });

  it('takes blockGroup from the worker, and retry: false still means one attempt, then dead', async () => {
    const other = defineJob<{ n: number }>({ name: 'other' });
    const worker = createWorker({ retry: { blockGroup: true } })
      .handle(sendEmail, () => {
        throw new PermanentJobError('no');
      })
      .handle(
        other,
        () => {
          throw new Error('once');
        },
        { retry: false },
      );
    const at = { groupId: 'g', maxReceiveCount: 10 };
    expect((await worker.run(deliveryOf(sendEmail, { userId: 'u' }, at))).outcome.type).toBe('retry');
    expect((await worker.run(deliveryOf(other, { n: 1 }, at))).outcome.type).toBe('dead');
  });

  it('dead-letters a failure on the last receive the redrive policy allows, with the reason', async () => {
    const { run, events } = setup(
      () => {
        throw new Error('flaky');
      },
      { retry: 10 },
    );
    const delivery = deliveryOf(sendEmail, { userId: 'u' }, { receiveCount: 6, maxReceiveCount: 6 });
    const outcome = expectType(await run(delivery), 'dead');
    expect(outcome.reason).toBe("flaky, on receive 6 of the 6 the queue's redrive policy allows");
    expect(events).toEqual(['start', 'dead']);
  });

  it('defers when the execute stage says it is not our turn, without a retry event', async () => {
    const lock = definePlugin({
      name: 'lock',
      setup(hooks) {
        hooks.execute(async () => ({ type: 'defer', delayMs: 30_000, reason: 'lock held elsewhere' }));
      },
    });
    const recorder = eventRecorder();
    let ran = false;
    const worker = createWorker({ plugins: [lock, recorder] }).handle(sendEmail, () => {
      ran = true;
    });
    const result = await worker.run(deliveryOf(sendEmail, { userId: 'u' }));
    await result.settle();
    expect(result.outcome).toEqual({ type: 'defer', delayMs: 30_000, reason: 'lock held elsewhere' });
    expect(ran).toBe(false);
    expect(recorder.events).toEqual(['defer']);
  });

  it('turns a deferral on the last receive into dead, so SQS never moves it silently', async () => {
    const { worker, events } = setup(() => {});
    const delivery = deliveryOf(sendEmail, { userId: 'u' }, { receiveCount: 10, maxReceiveCount: 10 });
    const result = await worker.run(delivery, { defer: { delayMs: 0, reason: 'group blocked' } });
    await result.settle();
    const outcome = expectType(result.outcome, 'dead');
    expect(outcome.reason).toMatch(/^deferred \(group blocked\), on receive 10 of the 10/);
    expect(events).toEqual(['dead']);
  });

  it('defers a FIFO follower without running it', async () => {
    let ran = false;
    const { worker, events } = setup(() => {
      ran = true;
    });
    const result = await worker.run(deliveryOf(sendEmail, { userId: 'u' }), {
      defer: { delayMs: 0, reason: 'an earlier message of group "g" failed' },
    });
    await result.settle();
    expect(result.outcome).toEqual({
      type: 'defer',
      delayMs: 0,
      reason: 'an earlier message of group "g" failed',
    });
    expect(ran).toBe(false);
    expect(events).toEqual(['defer']);
  });

  it('defers instead of starting when the deadline is too close for the job timeout', async () => {
    let ran = false;
    const { worker, events } = setup(
      () => {
        ran = true;
      },
      { timeout: '10s' },
    );
    const delivery = deliveryOf(sendEmail, { userId: 'u' }, { deadline: Date.now() + 5000 });
    const result = await worker.run(delivery, { startMargin: 1000 });
    await result.settle();
    expect(expectType(result.outcome, 'defer').reason).toMatch(/left before the deadline/);
    expect(ran).toBe(false);
    expect(events).toEqual(['defer']);

    const roomy = await worker.run(
      deliveryOf(sendEmail, { userId: 'u' }, { deadline: Date.now() + 60_000 }),
      {
        startMargin: 1000,
      },
    );
    expect(roomy.outcome.type).toBe('ack');
  });

  it('runs a job on the last receive the queue allows even when the deadline is close, instead of dead-lettering it unrun', async () => {
    // Found by the fault suite: a second copy of a job that had completed (a producer retry after a lost
    // answer) was deferred by a Lambda invocation's deadline on every receive, then dead-lettered on the
    // last one without the idempotency plugin ever being asked.
    const answered = definePlugin({
      name: 'answers-duplicates',
      setup: (hooks) => hooks.execute(async () => ({ type: 'duplicate', value: 'done before' })),
    });
    const worker = createWorker({ plugins: [answered] }).handle(sendEmail, () => {}, { timeout: '10s' });
    const last = deliveryOf(
      sendEmail,
      { userId: 'u' },
      { deadline: Date.now() + 5000, receiveCount: 10, maxReceiveCount: 10 },
    );
    const result = await worker.run(last, { startMargin: 1000 });
    expect(result.outcome).toEqual({ type: 'ack', result: 'done before', duplicate: true });
    const earlier = await worker.run({ ...last, receiveCount: 9 }, { startMargin: 1000 });
    expect(earlier.outcome.type).toBe('defer');
  });

  it('times a job out like a transient failure, aborting its signal first', async () => {
    let aborted: unknown;
    const { worker, events } = setup(
      (_payload) =>
        new Promise(() => {
          /* never settles */
        }),
      { timeout: 20 },
    );
    worker.handle(
      defineJob({ name: 'watch-signal' }),
      (_p, ctx) => {
        return new Promise((_, reject) => {
          ctx.signal.addEventListener('abort', () => {
            aborted = ctx.signal.reason;
            reject(new Error('aborted by signal'));
          });
        });
      },
      { timeout: 20 },
    );
    const result = await worker.run(deliveryOf(sendEmail, { userId: 'u' }));
    await result.settle();
    const outcome = expectType(result.outcome, 'retry');
    expect(outcome.error).toBeInstanceOf(JobTimeoutError);
    expect(events).toEqual(['start', 'retry']);

    const watched = await worker.run(deliveryOf('watch-signal', {}));
    expect(expectType(watched.outcome, 'retry').error).toBeInstanceOf(JobTimeoutError);
    expect(aborted).toBeInstanceOf(JobTimeoutError);
  });

  it('reports when a handler that ignored its timeout finally settles', async () => {
    let release!: () => void;
    const { worker } = setup(() => new Promise<void>((resolve) => (release = resolve)), { timeout: 10 });
    const result = await worker.run(deliveryOf(sendEmail, { userId: 'u' }));
    expect(result.outcome.type).toBe('retry');
    let finished = false;
    void result.finished.then(() => (finished = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(finished).toBe(false);
    release();
    await result.finished;
    expect(finished).toBe(true);
  });

  it('aborts the handler when the adapter aborts the delivery', async () => {
    const { worker } = setup(() => new Promise(() => {}));
    const controller = new AbortController();
    const pending = worker.run(deliveryOf(sendEmail, { userId: 'u' }, { signal: controller.signal }));
    setTimeout(() => controller.abort(new Error('deadline')), 5);
    const result = await pending;
    expect(expectType(result.outcome, 'retry').error).toEqual(new Error('deadline'));
  });

  it('fires the terminal event of the outcome the adapter actually applied', async () => {
    const { worker, events } = setup(() => {
      throw new PermanentJobError('no');
    });
    const result = await worker.run(deliveryOf(sendEmail, { userId: 'u' }));
    expect(result.outcome.type).toBe('dead');
    await result.settle({ type: 'retry', delayMs: 60_000, error: new Error('DLQ unreachable') });
    await result.settle(); // a second settle is ignored
    expect(events).toEqual(['start', 'retry']);
  });
});
