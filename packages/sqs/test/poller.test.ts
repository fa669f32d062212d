import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Client, Worker } from '@glasswork/core';
import {
  ConfigurationError,
  createClient,
  createWorker,
  defineJob,
  JobInterruptedError,
  MAX_VISIBILITY_SECONDS,
  PermanentJobError,
} from '@glasswork/core';
import { describe, expect, it } from 'vitest';
import type { PollerOptions } from '../src/index.ts';
import { createPoller, sqsDriver } from '../src/index.ts';
import { eventually, sleep, sqsFault, useSqs, wrapClient } from './helpers.ts';
import { recorder } from './recorder.ts';

const sqs = useSqs();

const job = defineJob<{ n: number; ms?: number }>({ name: 'work' });

function poll(
  worker: Worker<any>,
  {
    maxReceiveCount = 10,
    client: sqsClient = sqs.client,
    ...options
  }: Partial<PollerOptions> & { maxReceiveCount?: number } = {},
) {
  const queue = sqs.queue('poller', { maxReceiveCount });
  const driver = sqsDriver({ client: sqsClient, endpoint: sqs.endpoint, queues: { work: queue.url } });
  const client = createClient({ driver, defaultQueue: 'work' });
  const poller = createPoller({
    waitTime: '1s',
    handleSignals: false,
    ...options,
    worker,
    driver,
    queue: 'work',
  });
  sqs.track(poller);
  return { queue, client, poller, driver };
}

/** Polls one job through `client` (visibility 3 s, heartbeats every 300 ms) until it is acknowledged. */
async function runOneJob(worker: Worker<any>, client: ReturnType<typeof wrapClient>) {
  const { client: producer, poller } = poll(worker, { client, visibilityTimeout: '3s', heartbeat: '300ms' });
  await producer.enqueue(job, { n: 1 });
  await poller.start();
  await eventually(() => poller.stats.outcomes.ack === 1, 6000);
  return poller;
}

/**
 * Two queues sharing one slot: both receive loops fetch a message whenever the slot frees, so one message
 * waits for the slot while the other runs.
 */
async function twoQueuesOneSlot(worker: Worker<any>, fill: (client: Client) => Promise<unknown>) {
  const a = sqs.queue('two-a', { maxReceiveCount: 10 });
  const b = sqs.queue('two-b', { maxReceiveCount: 10 });
  const driver = sqsDriver({ client: sqs.client, endpoint: sqs.endpoint, queues: { a: a.url, b: b.url } });
  await fill(createClient({ driver }));
  const poller = sqs.track(
    createPoller({
      worker,
      driver,
      queues: ['a', 'b'],
      concurrency: 1,
      waitTime: '1s',
      handleSignals: false,
    }),
  );
  await poller.start();
  return { a, b, poller };
}

/** A promise with its resolve function outside. */
function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** A handler that tracks how many run at once. */
function gauge() {
  let running = 0;
  let max = 0;
  const done: number[] = [];
  return {
    handler: async (p: { n: number; ms?: number }) => {
      running++;
      max = Math.max(max, running);
      await sleep(p.ms ?? 100);
      running--;
      done.push(p.n);
    },
    get max() {
      return max;
    },
    done,
  };
}

describe('createPoller', () => {
  it('keeps `concurrency` jobs running, beyond the 10 messages one receive can return', async () => {
    const g = gauge();
    const worker = createWorker().handle(job, g.handler);
    const { client, poller } = poll(worker, { concurrency: 25 });
    await client.enqueueMany(Array.from({ length: 60 }, (_, n) => ({ job, payload: { n, ms: 300 } })));
    await poller.start();
    await eventually(() => poller.stats.outcomes.ack === 60);
    expect(g.max).toBe(25);
    expect(g.done).toHaveLength(60);
  });

  it('never runs or receives more than `concurrency`, even when a receive could return more', async () => {
    const g = gauge();
    const worker = createWorker().handle(job, g.handler);
    const counting = wrapClient(sqs.client);
    const { client, poller } = poll(worker, { concurrency: 3, client: counting });
    await client.enqueueMany(Array.from({ length: 12 }, (_, n) => ({ job, payload: { n, ms: 100 } })));
    await poller.start();
    await eventually(() => g.done.length === 12);
    expect(g.max).toBe(3);
    const asked = counting.calls
      .filter((c) => c.command === 'ReceiveMessage')
      .map((c) => c.input.MaxNumberOfMessages);
    expect(Math.max(...asked)).toBeLessThanOrEqual(3);
  });

  it('a job that outlives its timeout keeps its slot until its promise settles', async () => {
    const rec = recorder();
    const timeline: string[] = [];
    const slow = defineJob<{ n: number }>({ name: 'slow' });
    const worker = createWorker({ plugins: [rec.plugin] })
      .handle(
        slow,
        async (_p, ctx) => {
          timeline.push(`slow-start-${ctx.attempt}`);
          if (ctx.attempt === 1) await sleep(800); // ignores its signal
          timeline.push(`slow-end-${ctx.attempt}`);
        },
        { timeout: '200ms', retry: { maxAttempts: 3, backoff: '1s' } },
      )
      .handle(job, () => void timeline.push('other'));
    const { client, poller } = poll(worker, { concurrency: 1 });
    await client.enqueue(slow, { n: 1 });
    await poller.start();
    await eventually(() => timeline.includes('slow-start-1'));
    await client.enqueue(job, { n: 2 });
    await eventually(() => timeline.includes('slow-end-2'));
    // The retry was decided at the timeout, but the other job waited for the slow handler to return.
    expect(rec.of('retry')[0]?.detail.error.name).toBe('JobTimeoutError');
    expect(timeline.indexOf('other')).toBeGreaterThan(timeline.indexOf('slow-end-1'));
  });

  it('counts a handler that outlived its timeout against concurrency while messages wait for a slot', async () => {
    // A message always waits for the slot while a timed-out handler is still running.
    let running = 0;
    let max = 0;
    const slow = defineJob<{ n: number }>({ name: 'slow' });
    const worker = createWorker().handle(
      slow,
      async () => {
        running++;
        max = Math.max(max, running);
        await sleep(300); // ignores its signal
        running--;
      },
      { timeout: '50ms', retry: { maxAttempts: 1, dead: false } },
    );
    const { poller } = await twoQueuesOneSlot(worker, async (client) => {
      for (const queue of ['a', 'b']) {
        await client.enqueueMany([1, 2, 3].map((n) => ({ job: slow, payload: { n }, options: { queue } })));
      }
    });
    await eventually(() => poller.stats.outcomes.discard === 6);
    expect(max).toBe(1);
  });

  it('heartbeats: extends the visibility of a job that runs longer than the visibility timeout', async () => {
    const rec = recorder();
    const counting = wrapClient(sqs.client);
    const worker = createWorker({ plugins: [rec.plugin] }).handle(job, () => sleep(2500));
    const { client, poller } = poll(worker, {
      client: counting,
      visibilityTimeout: '1s',
      heartbeat: '300ms',
    });
    await client.enqueue(job, { n: 1 });
    await poller.start();
    await eventually(() => rec.of('success').length === 1);
    expect(rec.of('start').map((s) => s.delivery?.receiveCount)).toEqual([1]);
    expect(counting.count('ChangeMessageVisibilityBatch')).toBeGreaterThanOrEqual(3);
    expect(rec.of('receiveError')).toEqual([]);
  });

  it('lets a heartbeat in flight land before it applies an outcome, so the heartbeat cannot undo a retry delay', async () => {
    const rec = recorder();
    // Heartbeats reach SQS 400 ms after they are sent; the job fails while one is on its way.
    const slowBeats = wrapClient(sqs.client, (call, forward) =>
      call.command === 'ChangeMessageVisibilityBatch' ? sleep(400).then(() => forward()) : undefined,
    );
    const worker = createWorker({ plugins: [rec.plugin] }).handle(
      job,
      async (_p, ctx) => {
        if (ctx.attempt > 1) return;
        await sleep(500);
        throw new Error('fails after a heartbeat was sent');
      },
      { retry: { maxAttempts: 3, backoff: '1s' } },
    );
    const { client, poller, queue } = poll(worker, {
      client: slowBeats,
      visibilityTimeout: '5s',
      heartbeat: '200ms',
    });
    await client.enqueue(job, { n: 1 });
    await poller.start();
    await eventually(() => rec.of('retry').length === 1);
    const retriedAt = rec.of('retry')[0]!.at;
    await sleep(500); // a heartbeat that was not waited for would land now and set 5 s again
    const [inflight] = sqs.server.inspectQueue(queue.name)?.messages.inflight ?? [];
    expect(slowBeats.count('ChangeMessageVisibilityBatch')).toBeGreaterThanOrEqual(1);
    expect(inflight!.visibilityDeadline).toBeLessThanOrEqual(retriedAt + 1000);
    await eventually(() => rec.of('success').length === 1);
  });

  it.each([
    ['a delete', 'DeleteMessageBatch', 'ack', 'request'],
    ['the answer to a delete', 'DeleteMessageBatch', 'ack', 'answer'],
    ['a dead-letter send', 'SendMessage', 'dead', 'request'],
  ] as const)(
    'keeps the heartbeat going while %s outlasts the visibility timeout, so the job does not run twice',
    async (_what, slowCommand, outcome, slowPart) => {
      const rec = recorder();
      // The call that applies the outcome takes 2.5 s (before SQS sees it, or after, when the heartbeats
      // that follow meet a deleted message); messages are invisible for only 1 s at a time.
      const slowApply = wrapClient(sqs.client, (call, forward) => {
        if (call.command !== slowCommand) return undefined;
        if (slowPart === 'request') return sleep(2500).then(() => forward());
        return forward().then(async (answer) => {
          await sleep(2500);
          return answer;
        });
      });
      let runs = 0;
      const worker = createWorker({ plugins: [rec.plugin] }).handle(job, () => {
        runs++;
        if (outcome === 'dead') throw new PermanentJobError('refused for good');
      });
      const { client, poller, queue } = poll(worker, {
        client: slowApply,
        visibilityTimeout: '1s',
        heartbeat: '300ms',
      });
      await client.enqueue(job, { n: 1 });
      await poller.start();
      await eventually(() => poller.stats.outcomes[outcome] === 1, 6000);
      await sleep(1500); // a message that had come back would be received and run again by now
      expect(runs).toBe(1);
      expect(rec.of('start').length).toBe(1);
      expect(slowApply.count('ChangeMessageVisibilityBatch')).toBeGreaterThanOrEqual(3);
      expect(rec.of('receiveError')).toEqual([]);
      expect(sqs.count(queue.name)).toBe(0);
      expect(sqs.count(queue.dlq!.name)).toBe(outcome === 'dead' ? 1 : 0);
    },
  );

  it('waits on stop for heartbeats still on their way before it closes its client', async () => {
    let beatsLanded = 0;
    const client = wrapClient(sqs.client, (call, forward) =>
      call.command === 'ChangeMessageVisibilityBatch'
        ? sleep(3000)
            .then(() => forward())
            .finally(() => void beatsLanded++)
        : undefined,
    );
    const worker = createWorker().handle(job, () => sleep(500));
    const poller = await runOneJob(worker, client);
    expect(client.count('ChangeMessageVisibilityBatch')).toBeGreaterThanOrEqual(1);
    await poller.stop();
    expect(beatsLanded).toBe(client.count('ChangeMessageVisibilityBatch'));
  });

  it('reports a heartbeat that fails during a slow delete for another reason than the message being gone', async () => {
    const rec = recorder();
    let applying = false;
    const client = wrapClient(sqs.client, (call, forward) => {
      if (call.command === 'DeleteMessageBatch') {
        applying = true;
        return sleep(1500).then(() => forward());
      }
      // While the delete waits, SQS refuses every heartbeat entry with an internal error.
      if (call.command === 'ChangeMessageVisibilityBatch' && applying) {
        const entries = (call.input as { Entries: { Id: string }[] }).Entries;
        return Promise.resolve({
          Successful: [],
          Failed: entries.map((e) => ({
            Id: e.Id,
            Code: 'InternalError',
            SenderFault: false,
            Message: 'try again',
          })),
          $metadata: {},
        });
      }
      return undefined;
    });
    const worker = createWorker({ plugins: [rec.plugin] }).handle(job, () => {});
    const poller = await runOneJob(worker, client);
    const errors = rec.of('receiveError').map((r) => r.detail);
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect(errors.every((e) => e.sqsCode === 'InternalError')).toBe(true);
  });

  it('passes the delivery facts the worker’s rules read', async () => {
    const rec = recorder();
    const worker = createWorker({ plugins: [rec.plugin] }).handle(job, () => {});
    const { client, poller } = poll(worker, {
      maxReceiveCount: 8,
      visibilityTimeout: '5s',
      heartbeat: false,
    });
    const before = Date.now();
    await client.enqueue(job, { n: 1 });
    await poller.start();
    await eventually(() => rec.of('success').length === 1);
    const delivery = rec.of('start')[0]?.delivery;
    expect(delivery).toMatchObject({ receiveCount: 1, maxReceiveCount: 8, queue: 'work' });
    expect(delivery?.sentAt).toBeGreaterThanOrEqual(before - 1000);
    expect(delivery?.receivedAt).toBeGreaterThanOrEqual(delivery?.sentAt ?? 0);
    expect(delivery?.deadline).toBe((delivery?.receivedAt ?? 0) + 5000);
    expect(delivery?.signal).toBeInstanceOf(AbortSignal);

    const rec2 = recorder();
    const beating = poll(
      createWorker({ plugins: [rec2.plugin] }).handle(job, () => {}),
      { visibilityTimeout: '5s' },
    );
    await beating.client.enqueue(job, { n: 1 });
    await beating.poller.start();
    await eventually(() => rec2.of('success').length === 1);
    const d = rec2.of('start')[0]?.delivery;
    // With heartbeats the visibility keeps moving; the hard limit is SQS's 12 hours from the receive.
    expect(d?.deadline).toBe((d?.receivedAt ?? 0) + (MAX_VISIBILITY_SECONDS - 5) * 1000);
  });

  it('refuses to start without a dead-letter queue, or when a job may outlast the visibility without heartbeats', async () => {
    const worker = createWorker().handle(job, () => {}, { timeout: '10s' });
    const lonely = sqs.queue('lonely');
    const bare = createPoller({
      worker,
      client: sqs.client,
      endpoint: sqs.endpoint,
      queue: lonely.url,
      handleSignals: false,
    });
    await expect(bare.start()).rejects.toBeInstanceOf(ConfigurationError);
    const dropping = createPoller({
      worker,
      client: sqs.client,
      endpoint: sqs.endpoint,
      queue: lonely.url,
      deadLetter: false,
      handleSignals: false,
      waitTime: '1s',
    });
    await dropping.start();
    await dropping.stop();

    const { poller } = poll(worker, { visibilityTimeout: '5s', heartbeat: false });
    const error = await poller.start().catch((e) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toContain('Job "work" may run 10000ms');
    // Too short to start anything without heartbeats: refused, rather than deferring every message forever.
    const tight = poll(
      createWorker().handle(job, () => {}),
      { visibilityTimeout: '1s', heartbeat: false },
    );
    await expect(tight.poller.start()).rejects.toThrow(/too short to start any job with heartbeat off/);
    expect(() => createPoller({ worker, queue: 'q', batchSize: 11 })).toThrow(ConfigurationError);
    expect(() => createPoller({ worker, queue: 'q', concurrency: 0 })).toThrow(ConfigurationError);
  });

  it('backs off and carries on after receive errors, reporting them as receiveError', async () => {
    const rec = recorder();
    const flaky = wrapClient(sqs.client, (call, _forward, index) =>
      call.command === 'ReceiveMessage' && index <= 2
        ? Promise.reject(sqsFault('ThrottlingException', 400))
        : undefined,
    );
    const worker = createWorker({ plugins: [rec.plugin] }).handle(job, () => {});
    const { client, poller } = poll(worker, { client: flaky });
    await client.enqueue(job, { n: 1 });
    await poller.start();
    await eventually(() => rec.of('success').length === 1);
    expect(rec.of('receiveError').map((r) => r.detail.name)).toEqual([
      'ThrottlingException',
      'ThrottlingException',
    ]);
  });

  it('retries a failed delete without running the job again', async () => {
    const rec = recorder();
    const flaky = wrapClient(sqs.client, (call, _forward, index) =>
      call.command === 'DeleteMessageBatch' && index === 1
        ? Promise.reject(sqsFault('InternalError', 500))
        : undefined,
    );
    const worker = createWorker({ plugins: [rec.plugin] }).handle(job, () => {});
    const { client, poller, queue } = poll(worker, { client: flaky });
    await client.enqueueMany(Array.from({ length: 5 }, (_, n) => ({ job, payload: { n } })));
    await poller.start();
    await eventually(() => sqs.count(queue.name) === 0);
    expect(rec.of('start')).toHaveLength(5);
    expect(flaky.count('DeleteMessageBatch')).toBeGreaterThanOrEqual(2);
    expect(rec.of('receiveError')).toEqual([]);
  });
});

describe('stopping', () => {
  it('stops receiving, lets running jobs finish and acks them, then resolves', async () => {
    const rec = recorder();
    const worker = createWorker({ plugins: [rec.plugin] }).handle(job, (p) => sleep(p.ms ?? 0));
    const { client, poller, queue } = poll(worker, { gracePeriod: '10s' });
    await client.enqueue(job, { n: 1, ms: 700 });
    await poller.start();
    await eventually(() => rec.of('start').length === 1);
    await poller.stop();
    expect(rec.events()).toEqual(['start', 'stopping', 'success', 'stopped']);
    expect(sqs.count(queue.name)).toBe(0);
    await client.enqueue(job, { n: 2 });
    await sleep(300);
    expect(sqs.count(queue.name)).toBe(1);
    expect(rec.of('start')).toHaveLength(1);
  });

  it('aborts jobs still running when the grace period is over, and retries them soon', async () => {
    const rec = recorder();
    const worker = createWorker({ plugins: [rec.plugin] }).handle(
      job,
      (_p, ctx) =>
        new Promise<void>((_resolve, reject) => {
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
        }),
    );
    const { client, poller, queue } = poll(worker, { gracePeriod: '300ms' });
    await client.enqueue(job, { n: 1 });
    await poller.start();
    await eventually(() => rec.of('start').length === 1);
    // Without the abort the handler never settles, and stop() would wait past the test's timeout.
    await poller.stop();
    const error = rec.of('retry')[0]?.detail.error;
    expect(error).toBeInstanceOf(JobInterruptedError);
    expect(error).toMatchObject({
      interruption: 'shutdown',
      message: expect.stringContaining('grace period'),
    });
    const inflight = sqs.server.inspectQueue(queue.name)?.messages.inflight ?? [];
    expect(inflight).toHaveLength(1);
    expect(inflight[0]!.visibilityDeadline - Date.now()).toBeLessThanOrEqual(1000);
  });

  it('hands back messages that had not started, visible again at once', async () => {
    const rec = recorder();
    // A receive that brings its message only after stop() began: the message must not run.
    const received = gate();
    const stopCalled = gate();
    const late = wrapClient(sqs.client, (call, forward) =>
      call.command === 'ReceiveMessage'
        ? (async () => {
            const out = await forward();
            if ((out.Messages ?? []).length > 0) {
              received.open();
              await stopCalled.promise;
            }
            return out;
          })()
        : undefined,
    );
    const worker = createWorker({ plugins: [rec.plugin] }).handle(job, () => {});
    const { queue, client, poller } = poll(worker, { client: late });
    await client.enqueue(job, { n: 1 });
    await poller.start();
    await received.promise;
    const stopping = poller.stop();
    stopCalled.open();
    await stopping;
    expect(rec.of('start')).toHaveLength(0);
    expect(rec.of('defer').map((d) => d.detail.reason)).toEqual(['the poller is stopping']);
    const out = await sqs.client.send(
      new ReceiveMessageCommand({ QueueUrl: queue.url, MaxNumberOfMessages: 1 }),
    );
    expect(out.Messages).toHaveLength(1);
  });

  it('lets receives in flight finish on stop, so a message they are handed is not stranded', async () => {
    const rec = recorder();
    const worker = createWorker({ plugins: [rec.plugin] }).handle(job, () => {});
    const { queue, client, poller } = poll(worker, { waitTime: '2s', visibilityTimeout: '30s' });
    await poller.start();
    await sleep(100); // the receives are long-polling an empty queue
    const stopping = poller.stop();
    await client.enqueue(job, { n: 1 }); // handed to a receive the poller is still waiting on
    await stopping;
    expect(rec.of('start')).toHaveLength(0);
    // Handed back at once, not invisible for the 30 s visibility timeout.
    const out = await sqs.client.send(new ReceiveMessageCommand({ QueueUrl: queue.url, WaitTimeSeconds: 1 }));
    expect(out.Messages).toHaveLength(1);
  });

  it('never takes more messages than free slots, however many receivers', async () => {
    const g = gauge();
    const counting = wrapClient(sqs.client);
    const worker = createWorker().handle(job, g.handler);
    const { client, poller } = poll(worker, { client: counting, concurrency: 3, batchSize: 2, receivers: 4 });
    await client.enqueueMany(Array.from({ length: 12 }, (_, n) => ({ job, payload: { n, ms: 50 } })));
    await poller.start();
    await eventually(() => poller.stats.outcomes.ack === 12);
    expect(g.max).toBeLessThanOrEqual(3);
    const asked = counting.calls
      .filter((c) => c.command === 'ReceiveMessage')
      .map((c) => c.input.MaxNumberOfMessages);
    expect(Math.max(...asked)).toBeLessThanOrEqual(2);
    expect(poller.stats.inFlight).toBe(0);
  });

  it('stops on SIGTERM and removes its signal handlers', async () => {
    const rec = recorder();
    const worker = createWorker({ plugins: [rec.plugin] }).handle(job, () => {});
    const listeners = process.listenerCount('SIGTERM');
    const { poller } = poll(worker, { handleSignals: true });
    await poller.start();
    expect(process.listenerCount('SIGTERM')).toBe(listeners + 1);
    process.emit('SIGTERM');
    await poller.stopped;
    expect(process.listenerCount('SIGTERM')).toBe(listeners);
    expect(rec.log.find((r) => r.event === 'stopping')?.detail).toBe('received SIGTERM');
    expect(rec.events().at(-1)).toBe('stopped');
  });
});
