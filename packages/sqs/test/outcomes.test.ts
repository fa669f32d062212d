import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { Worker } from '@glasswork/core';
import { createClient, createWorker, defineJob, definePlugin, PermanentJobError } from '@glasswork/core';
import { describe, expect, it } from 'vitest';
import { createPoller, DEAD_LETTER_ATTRIBUTE, sqsDriver } from '../src/index.ts';
import type { QueueSpec, TestQueue } from './helpers.ts';
import { eventually, useSqs } from './helpers.ts';
import { recorder } from './recorder.ts';

const sqs = useSqs();

const job = defineJob<{ n: number; group?: string }>({ name: 'work', group: (p) => p.group ?? '' });

/** A queue with a dead-letter queue, a client to enqueue, and a started poller over `worker`. */
async function setup(worker: Worker<any>, spec: QueueSpec = {}) {
  const queue = sqs.queue('outcome', { maxReceiveCount: 10, ...spec });
  const driver = sqsDriver({ client: sqs.client, endpoint: sqs.endpoint, queues: { work: queue.url } });
  const client = createClient({ driver, defaultQueue: 'work' });
  const poller = createPoller({ worker, driver, queue: 'work', waitTime: '1s', handleSignals: false });
  sqs.track(poller);
  await poller.start();
  return { queue, client, poller };
}

async function deadLetters(queue: TestQueue) {
  return (await sqs.peek(queue.dlq!.url)).map((m) => ({
    body: m.body,
    attributes: Object.keys(m.attributes),
    info: m.deadLetter,
  }));
}

// Each test has its own queues and poller, so they run concurrently (most of their time is retry delays).
describe.concurrent('the outcome table, end to end through the poller on fauxqs', () => {
  it('ack: a job whose handler returns is deleted', async () => {
    const rec = recorder();
    const worker = createWorker({ plugins: [rec.plugin] }).handle(job, () => 'done');
    const { client, queue } = await setup(worker);
    await client.enqueue(job, { n: 1 });
    await eventually(() => rec.of('success').length === 1);
    await eventually(() => sqs.count(queue.name) === 0);
    expect(rec.events()).toEqual(['start', 'success']);
  });

  it('retry: comes back after its delay with ApproximateReceiveCount + 1', async () => {
    const rec = recorder();
    const worker = createWorker({ plugins: [rec.plugin] }).handle(
      job,
      (_p, ctx) => {
        if (ctx.attempt === 1) throw new Error('flaky');
      },
      { retry: { maxAttempts: 3, backoff: '1s' } },
    );
    const { client, queue } = await setup(worker);
    await client.enqueue(job, { n: 1 });
    await eventually(() => rec.of('success').length === 1);
    const starts = rec.of('start');
    expect(starts.map((s) => s.delivery?.receiveCount)).toEqual([1, 2]);
    expect(starts[1]!.at - starts[0]!.at).toBeGreaterThanOrEqual(950);
    expect(rec.events()).toEqual(['start', 'retry', 'start', 'success']);
    await eventually(() => sqs.count(queue.name) === 0);
  });

  it('PermanentJobError: in the dead-letter queue on the first delivery with its reason, and the original is gone', async () => {
    const rec = recorder();
    const worker = createWorker({ plugins: [rec.plugin] }).handle(job, () => {
      throw new PermanentJobError('card declined');
    });
    const { client, queue } = await setup(worker);
    const { id } = await client.enqueue(job, { n: 1 });
    await eventually(() => rec.of('dead').length === 1);
    expect(sqs.count(queue.name)).toBe(0);
    const [dead] = await deadLetters(queue);
    expect(dead?.body).toBe(rec.of('dead')[0]?.delivery?.body);
    expect(dead?.attributes).toEqual([DEAD_LETTER_ATTRIBUTE]);
    expect(dead?.info).toMatchObject({
      reason: 'permanent failure: card declined',
      error: { name: 'PermanentJobError', message: 'card declined' },
      attempts: 1,
      jobId: id,
      jobName: 'work',
      sourceQueue: queue.url,
    });
    expect(rec.events()).toEqual(['start', 'dead']);
  });

  it('exhaustion: dead-lettered after maxAttempts with RetryExhaustedError', async () => {
    const rec = recorder();
    const worker = createWorker({ plugins: [rec.plugin] }).handle(
      job,
      () => {
        throw new Error('still down');
      },
      { retry: { maxAttempts: 3, backoff: '1s' } },
    );
    const { client, queue } = await setup(worker);
    await client.enqueue(job, { n: 1 });
    await eventually(() => rec.of('dead').length === 1);
    expect(rec.of('start').map((s) => s.delivery?.receiveCount)).toEqual([1, 2, 3]);
    const [dead] = await deadLetters(queue);
    expect(dead?.info).toMatchObject({
      reason: 'retries exhausted after 3 attempts: still down',
      error: { name: 'RetryExhaustedError', cause: { message: 'still down' } },
      attempts: 3,
    });
    expect(sqs.count(queue.name)).toBe(0);
  });

  it('the last receive the redrive policy allows: dead-lettered by us with a reason, not moved by SQS', async () => {
    const rec = recorder();
    const worker = createWorker({ plugins: [rec.plugin] }).handle(
      job,
      () => {
        throw new Error('flaky');
      },
      { retry: { maxAttempts: 5, backoff: '1s' } },
    );
    const { client, queue } = await setup(worker, { maxReceiveCount: 2 });
    await client.enqueue(job, { n: 1 });
    await eventually(() => rec.of('dead').length === 1);
    expect(rec.of('start').map((s) => s.delivery?.maxReceiveCount)).toEqual([2, 2]);
    const dead = await deadLetters(queue);
    // A message SQS moved on its own would carry no reason attribute.
    expect(dead).toHaveLength(1);
    expect(dead[0]?.info.reason).toBe("flaky, on receive 2 of the 2 the queue's redrive policy allows");
    expect(sqs.count(queue.name)).toBe(0);
  });

  it('discard: a job with dead: false is deleted without a dead-letter copy', async () => {
    const rec = recorder();
    const worker = createWorker({ plugins: [rec.plugin] }).handle(
      job,
      () => {
        throw new PermanentJobError('not wanted');
      },
      { retry: { maxAttempts: 2, dead: false } },
    );
    const { client, queue } = await setup(worker);
    await client.enqueue(job, { n: 1 });
    await eventually(() => rec.of('discard').length === 1);
    await eventually(() => sqs.count(queue.name) === 0);
    expect(await deadLetters(queue)).toEqual([]);
  });

  it('defer: not a failure, comes back after its delay without a retry event', async () => {
    const rec = recorder();
    let deferred = false;
    const later = definePlugin({
      name: 'later',
      setup(hooks) {
        hooks.execute(async (_ctx, next) => {
          if (deferred) return next();
          deferred = true;
          return { type: 'defer', delayMs: 1000, reason: 'lock held elsewhere' };
        });
      },
    });
    const worker = createWorker({ plugins: [rec.plugin, later] }).handle(job, () => {});
    const { client } = await setup(worker);
    await client.enqueue(job, { n: 1 });
    await eventually(() => rec.of('success').length === 1);
    expect(rec.events()).toEqual(['defer', 'start', 'success']);
    expect(rec.of('start')[0]?.delivery?.receiveCount).toBe(2);
  });

  it('malformed: dead-lettered at once; incompatible: retried with backoff, not run', async () => {
    const rec = recorder();
    const worker = createWorker({ plugins: [rec.plugin] }).handle(job, () => {});
    const { queue } = await setup(worker);
    await sqs.client.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: 'not json' }));
    await sqs.client.send(
      new SendMessageCommand({
        QueueUrl: queue.url,
        MessageBody: JSON.stringify({
          v: 1,
          id: 'j',
          name: 'from-the-future',
          enqueuedAt: new Date().toISOString(),
        }),
      }),
    );
    await eventually(() => rec.of('dead').length === 1 && rec.of('retry').length === 1);
    const [dead] = await deadLetters(queue);
    expect(dead?.body).toBe('not json');
    expect(dead?.info.reason).toBe('malformed: the body is not JSON');
    const inflight = sqs.server.inspectQueue(queue.name)?.messages.inflight ?? [];
    expect(inflight).toHaveLength(1);
    expect(inflight[0]!.visibilityDeadline - Date.now()).toBeGreaterThan(3000);
    expect(rec.of('start')).toHaveLength(0);
  });

  it('FIFO: order holds when a group’s first message fails, and the rest of the group follows promptly', async () => {
    const rec = recorder();
    const runs: string[] = [];
    let failed = false;
    const worker = createWorker({ plugins: [rec.plugin] }).handle(
      job,
      (p) => {
        runs.push(`${p.group}${p.n}`);
        if (p.group === 'g' && p.n === 1 && !failed) {
          failed = true;
          throw new Error('first try fails');
        }
      },
      { retry: { maxAttempts: 3, backoff: '1s' } },
    );
    // A long visibility timeout: a follower left to it would keep the test waiting for 30 s.
    const { client } = await setup(worker, { fifo: true, visibilityTimeout: 30 });
    const results = await client.enqueueMany([
      ...[1, 2, 3, 4].map((n) => ({ job, payload: { n, group: 'g' } })),
      ...[1, 2].map((n) => ({ job, payload: { n, group: 'h' } })),
    ]);
    expect(results.every((r) => r.ok)).toBe(true);
    await eventually(() => runs.length === 7, 8000);
    expect(runs.filter((r) => r.startsWith('g'))).toEqual(['g1', 'g1', 'g2', 'g3', 'g4']);
    expect(runs.filter((r) => r.startsWith('h'))).toEqual(['h1', 'h2']);
    const starts = rec.of('start');
    expect(starts.map((s) => s.delivery?.groupId)).toEqual(runs.map((r) => r[0]));
  });
});
