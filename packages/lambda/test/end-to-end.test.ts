import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { createClient, createWorker, defineJob, PermanentJobError } from '@glasswork/core';
import { DEAD_LETTER_ATTRIBUTE, sqsDriver } from '@glasswork/sqs';
import type { LocalSqs } from '@glasswork/sqs/local';
import { startLocalSqs } from '@glasswork/sqs/local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventSourceMapping, SqsLambdaHandler } from '../src/index.ts';
import { createSqsHandler, runEventSourceMapping } from '../src/index.ts';

let sqs: LocalSqs;
beforeAll(async () => {
  sqs = await startLocalSqs();
});
afterAll(async () => sqs?.stop());

let sequence = 0;
const mappings: EventSourceMapping[] = [];
afterAll(async () => Promise.all(mappings.map((m) => m.stop())));

type Step = { key: string; fail?: 'permanent' | number; ms?: number; group?: string };
const step = defineJob<Step>({ name: 'step', group: (p) => p.group ?? 'default' });

/** A queue with a DLQ, a client that enqueues to it, and a way to run a worker through the mapping. */
function scenario(
  options: { fifo?: boolean; visibilityTimeout?: number; maxReceiveCount?: number; timeout?: number } = {},
) {
  const name = `lambda-${++sequence}${options.fifo ? '.fifo' : ''}`;
  const queue = sqs.createQueue({
    name,
    visibilityTimeout: options.visibilityTimeout ?? 2,
    maxReceiveCount: options.maxReceiveCount ?? 10,
    ...(options.fifo ? { attributes: { ContentBasedDeduplication: 'true' } } : {}),
  });
  const client = createClient({
    driver: sqsDriver({ client: sqs.client, queues: { jobs: queue.url } }),
    defaultQueue: 'jobs',
  });
  const runs: { key: string; at: number; attempt: number }[] = [];
  const worker = createWorker().handle(
    step,
    async ({ key, fail, ms }, ctx) => {
      runs.push({ key, at: Date.now(), attempt: ctx.attempt });
      if (ms) await new Promise((r) => setTimeout(r, ms));
      if (fail === 'permanent') throw new PermanentJobError(`${key} cannot work`);
      if (typeof fail === 'number' && ctx.attempt <= fail)
        throw new Error(`${key} failed on attempt ${ctx.attempt}`);
    },
    {
      retry: { maxAttempts: 5, backoff: ['1s', '2s', '3s'] },
      ...(options.timeout ? { timeout: options.timeout } : {}),
    },
  );
  const start = (handler: SqsLambdaHandler, mapping: { timeout?: number; batchSize?: number } = {}) => {
    const esm = runEventSourceMapping({
      client: sqs.client,
      queueUrl: queue.url,
      waitTime: '1s',
      handler,
      ...mapping,
    });
    mappings.push(esm);
    return esm;
  };
  const handler = (extra: Parameters<typeof createSqsHandler>[1] = {}) =>
    createSqsHandler(worker, { client: sqs.client, endpoint: sqs.endpoint, ...extra });
  const remaining = () => sqs.count(queue.name);
  const deadLetters = async () => {
    const out = await sqs.client.send(
      new ReceiveMessageCommand({
        QueueUrl: queue.deadLetter!.url,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
      }),
    );
    return (out.Messages ?? []).map((m) => ({
      body: m.Body,
      info: JSON.parse(m.MessageAttributes?.[DEAD_LETTER_ATTRIBUTE]?.StringValue ?? 'null'),
    }));
  };
  return { queue, client, runs, worker, start, handler, remaining, deadLetters };
}

async function until(check: () => boolean, ms = 20_000) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

const keysOf = (runs: { key: string }[]) => runs.map((r) => r.key);

describe('createSqsHandler through a local event source mapping on the SQS emulator', {
  timeout: 40_000,
}, () => {
  it('redelivers partial failures and deletes the rest', async () => {
    const s = scenario();
    await s.client.enqueueMany(
      ['a', 'b', 'c', 'd', 'e', 'f'].map((key) => ({
        job: step,
        payload: { key, ...(key === 'b' || key === 'e' ? { fail: 1 } : {}) },
      })),
    );
    const esm = s.start(s.handler());
    await until(() => s.runs.length === 8 && s.remaining() === 0);
    await esm.stop();
    const count = (key: string) => keysOf(s.runs).filter((k) => k === key).length;
    expect(['a', 'b', 'c', 'd', 'e', 'f'].map(count)).toEqual([1, 2, 1, 1, 2, 1]);
    expect(esm.stats.failedInvocations).toBe(0);
  });

  it('dead-letters a PermanentJobError after one delivery, and never runs it again even when the invocation fails afterwards', async () => {
    const s = scenario();
    await s.client.enqueueMany([
      { job: step, payload: { key: 'doomed', fail: 'permanent' } },
      { job: step, payload: { key: 'fine' } },
    ]);
    const inner = s.handler();
    let invocations = 0;
    // The first invocation crashes after the handler returned (as a timeout would): Lambda then retries the
    // whole batch, but the dead record was already deleted.
    const esm = s.start(async (event, context) => {
      const response = await inner(event, context);
      if (++invocations === 1) throw new Error('the function crashed after handling');
      return response;
    });
    await until(() => s.remaining() === 0 && keysOf(s.runs).filter((k) => k === 'fine').length === 2);
    await esm.stop();
    expect(keysOf(s.runs).filter((k) => k === 'doomed')).toEqual(['doomed']);
    const dead = await s.deadLetters();
    expect(dead).toHaveLength(1);
    expect(dead[0]?.info).toMatchObject({
      reason: 'permanent failure: doomed cannot work',
      attempts: 1,
      jobName: 'step',
    });
    expect(JSON.parse(dead[0]?.body ?? '{}').payload).toEqual({ key: 'doomed', fail: 'permanent' });
  });

  it('shows the backoff as growing gaps between deliveries', async () => {
    const s = scenario();
    await s.client.enqueue(step, { key: 'flaky', fail: 3 });
    const esm = s.start(s.handler());
    await until(() => s.runs.length === 4, 30_000);
    await esm.stop();
    const gaps = s.runs.slice(1).map((r, i) => r.at - (s.runs[i]?.at ?? 0));
    expect(s.runs.map((r) => r.attempt)).toEqual([1, 2, 3, 4]);
    expect(gaps[0]).toBeGreaterThanOrEqual(1000);
    expect(gaps[1]).toBeGreaterThanOrEqual(2000);
    expect(gaps[2]).toBeGreaterThanOrEqual(3000);
  });

  it('keeps FIFO order for a group whose first message fails while other groups proceed', async () => {
    const s = scenario({ fifo: true });
    await s.client.enqueueMany(
      [1, 2, 3].flatMap((n) => [
        { job: step, payload: { key: `a${n}`, group: 'a', ...(n === 1 ? { fail: 1 } : {}) } },
        { job: step, payload: { key: `b${n}`, group: 'b' } },
      ]),
    );
    const esm = s.start(s.handler());
    await until(() => s.runs.length === 7 && s.remaining() === 0);
    await esm.stop();
    const order = keysOf(s.runs);
    expect(order.filter((k) => k.startsWith('a'))).toEqual(['a1', 'a1', 'a2', 'a3']);
    expect(order.filter((k) => k.startsWith('b'))).toEqual(['b1', 'b2', 'b3']);
    // Group b did not wait for a's backoff.
    const bDone = s.runs.findLast((r) => r.key === 'b3')?.at ?? 0;
    const aRetry = s.runs.findLast((r) => r.key === 'a1')?.at ?? 0;
    expect(bDone).toBeLessThan(aRetry);
  });

  it('leaves records it cannot start before the deadline for the next invocation, none lost', async () => {
    // Jobs that may take 500 ms; a 2 s function with a 1 s margin, one record at a time: two fit per
    // invocation, the rest are released for the next one.
    const s = scenario({ visibilityTimeout: 5, timeout: 500 });
    await s.client.enqueueMany(
      ['r1', 'r2', 'r3', 'r4', 'r5', 'r6'].map((key) => ({ job: step, payload: { key, ms: 300 } })),
    );
    const esm = s.start(s.handler({ concurrency: 1, deadlineMargin: '1s', hardMargin: 200 }), {
      timeout: 2000,
    });
    await until(() => s.remaining() === 0 && s.runs.length >= 6);
    await esm.stop();
    expect(new Set(keysOf(s.runs))).toEqual(new Set(['r1', 'r2', 'r3', 'r4', 'r5', 'r6']));
    expect(s.runs).toHaveLength(6);
    expect(esm.stats.invocations).toBeGreaterThan(1);
    expect(esm.stats.failedInvocations).toBe(0);
  });

  it('refuses to run without a dead-letter queue, and loses nothing', async () => {
    const s = scenario({ maxReceiveCount: false as never });
    await s.client.enqueue(step, { key: 'kept' });
    const errors: unknown[] = [];
    const inner = s.handler();
    const esm = s.start(async (event, context) =>
      inner(event, context).catch((error) => {
        errors.push(error);
        throw error;
      }),
    );
    await until(() => errors.length > 0);
    await esm.stop();
    expect(String(errors[0])).toMatch(/has no dead-letter queue/);
    expect(s.runs).toHaveLength(0);
    expect(s.remaining()).toBe(1);
  });
});
