import type { Outcome, OutgoingMessage } from '@glasswork/core';
import {
  ConfigurationError,
  createClient,
  createWorker,
  DEFAULT_MAX_MESSAGE_BYTES,
  DelayTooLongError,
  decodeEnvelope,
  defineJob,
  definePlugin,
  JOB_NAME_ATTRIBUTE,
  messageBytes,
  PayloadTooLargeError,
  PermanentJobError,
} from '@glasswork/core';
import { Harness } from './harness.ts';
import type { DriverFixture, SuiteOptions, TestApi } from './types.ts';

const task = defineJob<{ n: number; group?: string }>({ name: 'suite-task', group: (p) => p.group ?? '' });

/** A message built by hand, for sending through `driver.send` directly. */
function handMade(queue: string, n: number, extra: Partial<OutgoingMessage> = {}): OutgoingMessage {
  const id = `hand-${n}-${Math.random().toString(36).slice(2)}`;
  const body = JSON.stringify({
    v: 1,
    id,
    name: task.name,
    payload: { n },
    enqueuedAt: new Date().toISOString(),
    meta: {},
  });
  const attributes = { [JOB_NAME_ATTRIBUTE]: task.name };
  return {
    id,
    jobName: task.name,
    queue,
    body,
    attributes,
    bytes: messageBytes(body, attributes),
    delaySeconds: 0,
    ...extra,
  };
}

const typeOf = (items: readonly { outcome: Outcome }[]) => items.map((i) => i.outcome.type);

/**
 * Registers the conformance tests of a queue driver: enqueue and per-entry batch results, delays within
 * the declared limit, FIFO order, retry, defer, ack, discard and dead-letter through a real worker (with
 * core's `processBatch` and `applyOutcome`), and the error types of the client. `factory` is called once per
 * test and must give fresh queues.
 */
export function queueDriverTestSuite(
  api: TestApi,
  factory: () => DriverFixture | Promise<DriverFixture>,
  options: SuiteOptions,
): void {
  const { expect } = api;
  const timeout = options.timeout ?? 30_000;
  const test = (name: string, body: (h: Harness) => Promise<void>) =>
    api.it(
      name,
      async () => {
        const fixture = await factory();
        try {
          await body(new Harness(fixture, options));
        } finally {
          await fixture.close?.();
        }
      },
      timeout,
    );
  const fifoTest = (name: string, body: (h: Harness, queue: string) => Promise<void>) =>
    test(name, async (h) => {
      if (!h.driver.capabilities.fifo) return;
      const queue = h.fixture.queues.fifo;
      if (queue === undefined) throw new Error('the driver supports FIFO: give the fixture a fifo queue');
      await body(h, queue);
    });

  const tests = () => {
    test('declares sane capabilities', async (h) => {
      const caps = h.driver.capabilities;
      expect(caps.maxBatchSize).toBeGreaterThanOrEqual(1);
      expect(caps.maxBatchBytes).toBeGreaterThanOrEqual(DEFAULT_MAX_MESSAGE_BYTES);
      expect(caps.maxDelaySeconds).toBeGreaterThanOrEqual(0);
      if (options.capabilities) expect(caps).toMatchObject(options.capabilities);
      expect(await h.fifo(h.fixture.queues.standard)).toBe(false);
      if (caps.fifo && h.fixture.queues.fifo) expect(await h.fifo(h.fixture.queues.fifo)).toBe(true);
    });

    test('enqueues a job and hands it to the worker once, then ack deletes it', async (h) => {
      const queue = h.fixture.queues.standard;
      const seen: { n: number; attempt: number; jobId: string }[] = [];
      const worker = createWorker().handle(
        task,
        (p, ctx) => void seen.push({ n: p.n, attempt: ctx.attempt, jobId: ctx.jobId }),
      );
      const sent = await createClient({ driver: h.driver }).enqueue(task, { n: 1 }, { queue });
      expect(typeof sent.id).toBe('string');
      const items = await h.pump(worker, queue);
      expect(typeOf(items)).toEqual(['ack']);
      expect(seen).toEqual([{ n: 1, attempt: 1, jobId: sent.id }]);
      await h.advance(h.visibilityMs + 500);
      expect(await h.receive(queue)).toHaveLength(0);
    });

    test('enqueueMany returns one result per entry in order, in batches of at most maxBatchSize', async (h) => {
      const queue = h.fixture.queues.standard;
      const sizes: number[] = [];
      const driver = h.driver;
      const counting = {
        ...driver,
        capabilities: driver.capabilities,
        send: (q: string, messages: readonly OutgoingMessage[]) => {
          sizes.push(messages.length);
          return driver.send(q, messages);
        },
      };
      const count = driver.capabilities.maxBatchSize * 2 + 3;
      const results = await createClient({ driver: counting }).enqueueMany(
        Array.from({ length: count }, (_, n) => ({ job: task, payload: { n }, options: { queue } })),
      );
      expect(results.map((r) => r.ok)).toEqual(results.map(() => true));
      for (const size of sizes) expect(size).toBeLessThanOrEqual(driver.capabilities.maxBatchSize);
      const ids = new Map<string, number>();
      const worker = createWorker().handle(
        task,
        (_p, ctx) => void ids.set(ctx.jobId, (ids.get(ctx.jobId) ?? 0) + 1),
      );
      await h.runUntil(worker, queue, () => ids.size === count);
      expect([...ids.keys()].sort()).toEqual(results.map((r) => r.id).sort());
      expect([...ids.values()].every((n) => n === 1)).toBe(true);
    });

    test('reports a rejected message per entry without failing the rest of its batch', async (h) => {
      const queue = h.fixture.queues.standard;
      const limit = (await h.driver.describeQueue?.(queue))?.maxMessageBytes;
      const good = [handMade(queue, 1), handMade(queue, 3)];
      const fifo = h.fixture.queues.fifo;
      if (limit !== undefined && limit + 2000 <= h.driver.capabilities.maxBatchBytes) {
        const big = handMade(queue, 2);
        const body = big.body.replace('"meta":{}', `"meta":{"pad":"${'x'.repeat(limit)}"}`);
        const oversized = { ...big, body, bytes: messageBytes(body, big.attributes) };
        const results = await h.driver.send(queue, [good[0]!, oversized, good[1]!]);
        expect(results.map((r) => r.ok)).toEqual([true, false, true]);
        expect(results[1]?.ok === false && results[1].error).toBeInstanceOf(Error);
        const received = await h.receive(queue);
        expect(received.map((m) => decodeEnvelope(m.body).ok && JSON.parse(m.body).payload.n).sort()).toEqual(
          [1, 3],
        );
      }
      if (fifo && h.driver.capabilities.fifo) {
        const results = await h.driver.send(fifo, [
          handMade(fifo, 1, { groupId: 'g', dedupeId: 'd1' }),
          handMade(fifo, 2, { groupId: undefined, dedupeId: 'd2' }),
          handMade(fifo, 3, { groupId: 'h', dedupeId: 'd3' }),
        ]);
        expect(results.map((r) => r.ok)).toEqual([true, false, true]);
      }
    });

    test('holds a delayed job back for its delay, and refuses one past maxDelaySeconds', async (h) => {
      const queue = h.fixture.queues.standard;
      const client = createClient({ driver: h.driver });
      const max = h.driver.capabilities.maxDelaySeconds;
      if (max >= 1) {
        await client.enqueueIn(task, '1s', { n: 1 }, { queue });
        expect(await h.receive(queue)).toHaveLength(0);
        await h.advance(1200);
        const received = await h.receive(queue);
        expect(received).toHaveLength(1);
      }
      const error = await client
        .enqueueIn(task, (max + 1) * 1000, { n: 2 }, { queue })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DelayTooLongError);
    });

    test('a message neither acked nor released comes back after its visibility timeout, receive count up', async (h) => {
      const queue = h.fixture.queues.standard;
      await createClient({ driver: h.driver }).enqueue(task, { n: 1 }, { queue });
      const [first] = await h.receive(queue);
      expect(first?.receiveCount).toBe(1);
      expect(await h.receive(queue)).toHaveLength(0);
      await h.advance(h.visibilityMs + 500);
      const [again] = await h.receive(queue);
      expect(again?.messageId).toBe(first?.messageId);
      expect(again?.receiveCount).toBe(2);
      await h.driver.release?.(queue, again!, 0);
      const [third] = await h.receive(queue);
      expect(third?.receiveCount).toBe(3);
    });

    test('retry: a failed job comes back after its delay with the receive count up by one', async (h) => {
      const queue = h.fixture.queues.standard;
      const attempts: number[] = [];
      const worker = createWorker().handle(
        task,
        (_p, ctx) => {
          attempts.push(ctx.attempt);
          if (ctx.attempt === 1) throw new Error('flaky');
        },
        { retry: { maxAttempts: 3, backoff: '1s' } },
      );
      await createClient({ driver: h.driver }).enqueue(task, { n: 1 }, { queue });
      const first = await h.pump(worker, queue);
      expect(typeOf(first)).toEqual(['retry']);
      expect(first[0]?.delivery.receiveCount).toBe(1);
      const later = await h.runUntil(worker, queue, () => attempts.length === 2);
      expect(typeOf(later)).toEqual(['ack']);
      expect(later[0]?.delivery.receiveCount).toBe(2);
      expect(attempts).toEqual([1, 2]);
    });

    test('defer: comes back after its delay without a retry event', async (h) => {
      const queue = h.fixture.queues.standard;
      const events: string[] = [];
      let deferred = false;
      const plugin = definePlugin({
        name: 'suite-defer',
        setup(hooks) {
          hooks.execute(async (_ctx, next) => {
            if (deferred) return next();
            deferred = true;
            return { type: 'defer', delayMs: 1000, reason: 'not yet' };
          });
          for (const event of ['retry', 'defer', 'success'] as const)
            hooks.on(event, () => void events.push(event));
        },
      });
      const worker = createWorker({ plugins: [plugin] }).handle(task, () => {});
      await createClient({ driver: h.driver }).enqueue(task, { n: 1 }, { queue });
      expect(typeOf(await h.pump(worker, queue))).toEqual(['defer']);
      const later = await h.runUntil(worker, queue, () => events.includes('success'));
      expect(typeOf(later)).toEqual(['ack']);
      expect(events).toEqual(['defer', 'success']);
    });

    test('dead-letter: a PermanentJobError goes to the dead-letter queue at once, body unchanged, with its reason', async (h) => {
      const queue = h.fixture.queues.standard;
      let body = '';
      const worker = createWorker().handle(task, () => {
        throw new PermanentJobError('card declined');
      });
      await createClient({ driver: h.driver }).enqueue(task, { n: 1 }, { queue });
      const items = await h.pump(worker, queue);
      expect(typeOf(items)).toEqual(['dead']);
      body = items[0]?.delivery.body ?? '';
      const dead = await h.fixture.deadLetters(queue);
      expect(dead).toHaveLength(1);
      expect(dead[0]?.body).toBe(body);
      expect(dead[0]?.reason).toContain('card declined');
      await h.advance(h.visibilityMs + 500);
      expect(await h.receive(queue)).toHaveLength(0);
    });

    test('retries exhausted: dead-lettered after maxAttempts; with dead: false, discarded without a copy', async (h) => {
      const queue = h.fixture.queues.standard;
      const failing = defineJob<{ n: number }>({ name: 'suite-failing' });
      const dropped = defineJob<{ n: number }>({ name: 'suite-dropped' });
      const worker = createWorker()
        .handle(failing, () => Promise.reject(new Error('still broken')), {
          retry: { maxAttempts: 2, backoff: '1s' },
        })
        .handle(dropped, () => Promise.reject(new Error('gone')), { retry: { maxAttempts: 1, dead: false } });
      const client = createClient({ driver: h.driver });
      await client.enqueue(failing, { n: 1 }, { queue });
      await client.enqueue(dropped, { n: 2 }, { queue });
      const outcomes: string[] = [];
      const done = () => outcomes.filter((o) => o !== 'retry').length === 2;
      for (let round = 0; round < 10 && !done(); round++) {
        outcomes.push(...typeOf(await h.pump(worker, queue)));
        if (!done()) await h.advance(500);
      }
      expect(outcomes.sort()).toEqual(['dead', 'discard', 'retry']);
      const dead = await h.fixture.deadLetters(queue);
      expect(dead).toHaveLength(1);
      expect(dead[0]?.reason).toContain('retries exhausted after 2 attempts');
    });

    fifoTest(
      'FIFO: a group runs in order and a failing head holds back only its own group',
      async (h, queue) => {
        const order: string[] = [];
        let failed = false;
        const worker = createWorker().handle(
          task,
          (p) => {
            const key = `${p.group}${p.n}`;
            order.push(key);
            if (key === 'a1' && !failed) {
              failed = true;
              throw new Error('first try fails');
            }
          },
          { retry: { maxAttempts: 3, backoff: '1s' } },
        );
        const entries = [1, 2, 3, 4].flatMap((n) => [
          { job: task, payload: { n, group: 'a' }, options: { queue } },
          ...(n < 4 ? [{ job: task, payload: { n, group: 'b' }, options: { queue } }] : []),
        ]);
        const results = await createClient({ driver: h.driver }).enqueueMany(entries);
        expect(results.every((r) => r.ok)).toBe(true);
        await h.runUntil(worker, queue, () => order.length === 8);
        expect(order.filter((k) => k.startsWith('a'))).toEqual(['a1', 'a1', 'a2', 'a3', 'a4']);
        expect(order.filter((k) => k.startsWith('b'))).toEqual(['b1', 'b2', 'b3']);
        // Group b did not wait for a's retry.
        expect(order.indexOf('b3')).toBeLessThanOrEqual(order.lastIndexOf('a1'));
      },
    );

    test('the client throws typed errors: no group on FIFO, a delay on FIFO, too large', async (h) => {
      const client = createClient({ driver: h.driver });
      const queue = h.fixture.queues.standard;
      const limit = (await h.driver.describeQueue?.(queue))?.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
      const big = defineJob<{ text: string }>({ name: 'suite-big' });
      const tooBig = await client
        .enqueue(big, { text: 'x'.repeat(limit) }, { queue })
        .catch((e: unknown) => e);
      expect(tooBig).toBeInstanceOf(PayloadTooLargeError);
      const fifo = h.fixture.queues.fifo;
      if (fifo && h.driver.capabilities.fifo) {
        const plain = defineJob<{ n: number }>({ name: 'suite-plain' });
        expect(
          await client.enqueue(plain, { n: 1 }, { queue: fifo }).catch((e: unknown) => e),
        ).toBeInstanceOf(ConfigurationError);
        if (!h.driver.capabilities.fifoDelay) {
          const delayed = await client
            .enqueueIn(task, '1s', { n: 1, group: 'g' }, { queue: fifo })
            .catch((e: unknown) => e);
          expect(delayed).toBeInstanceOf(DelayTooLongError);
        }
      }
    });
  };

  if (api.describe) api.describe(`queue driver conformance${options.name ? `: ${options.name}` : ''}`, tests);
  else tests();
}
