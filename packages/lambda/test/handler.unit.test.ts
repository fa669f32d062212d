import type { DeadLetterInfo, Plugin, ReceivedMessage } from '@glasswork/core';
import {
  createWorker,
  defineJob,
  definePlugin,
  encodeEnvelope,
  JobInterruptedError,
  PermanentJobError,
} from '@glasswork/core';
import type { SqsDriver } from '@glasswork/sqs';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { createSqsHandler, FullBatchFailureError, queueNameOf, toDelivery } from '../src/index.ts';

const ARN = 'arn:aws:sqs:eu-west-1:123456789012:jobs';
const setTimeoutOriginal = globalThis.setTimeout;
const clearTimeoutOriginal = globalThis.clearTimeout;
const FIFO_ARN = 'arn:aws-cn:sqs:cn-north-1:123456789012:ledger.fifo';

const step = defineJob<{ n: number; fail?: 'permanent' | 'transient'; ms?: number }>({ name: 'step' });

let sequence = 0;
function record(
  payload: unknown,
  overrides: Partial<SQSRecord> & { receiveCount?: number; group?: string } = {},
): SQSRecord {
  const { receiveCount = 1, group, ...rest } = overrides;
  const id = `m${++sequence}`;
  const now = new Date().toISOString();
  return {
    messageId: id,
    receiptHandle: `r-${id}`,
    body: encodeEnvelope({
      id: `job-${id}`,
      name: 'step',
      payloadJson: JSON.stringify(payload),
      enqueuedAt: now,
      firstEnqueuedAt: now,
      priorAttempts: 0,
      meta: {},
    }),
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: String(Date.now()),
      SenderId: 'x',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
      ...(group ? { MessageGroupId: group } : {}),
    },
    messageAttributes: { 'glasswork.job': { dataType: 'String', stringValue: 'step' } },
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: ARN,
    awsRegion: 'eu-west-1',
    ...rest,
  };
}

function context(remainingMs = 30_000): Context {
  const deadline = Date.now() + remainingMs;
  return { getRemainingTimeInMillis: () => deadline - Date.now() } as Context;
}

/** A driver that records what the handler asks of SQS, answering in memory. */
function fakeDriver(
  options: {
    fifo?: boolean;
    maxReceiveCount?: number;
    deadLetterFails?: boolean;
    hangRelease?: string;
    slowRelease?: { id: string; until: Promise<void> };
  } = {},
) {
  const calls: string[] = [];
  const deadLetters: DeadLetterInfo[] = [];
  const driver = {
    name: 'sqs',
    async describeQueue(queue: string) {
      calls.push(`describe ${queueNameOf(queue)}`);
      return {
        url: `https://sqs/${queueNameOf(queue)}`,
        fifo: options.fifo ?? queue.endsWith('.fifo'),
        maxReceiveCount: options.maxReceiveCount ?? 10,
      };
    },
    async deadLetterTarget() {
      return { url: 'https://sqs/dlq', fifo: false, maxMessageBytes: 1_048_576, maxReceiveCount: 10 };
    },
    async ack(_queue: string, messages: readonly ReceivedMessage[]) {
      for (const m of messages) calls.push(`delete ${m.messageId}`);
    },
    async release(_queue: string, message: ReceivedMessage, seconds: number) {
      if (message.messageId === options.hangRelease) await new Promise(() => {});
      if (message.messageId === options.slowRelease?.id) await options.slowRelease.until;
      calls.push(`visibility ${message.messageId} ${seconds}`);
    },
    async deadLetter(_queue: string, message: ReceivedMessage, info: DeadLetterInfo) {
      if (options.deadLetterFails) throw new Error('AccessDenied on the DLQ');
      calls.push(`dead ${message.messageId}`);
      deadLetters.push(info);
    },
  } as unknown as SqsDriver;
  return { driver, calls, deadLetters };
}

function workerFor(retry: object = { backoff: '30s' }, plugins: Plugin[] = []) {
  const ran: number[] = [];
  const worker = createWorker({ plugins }).handle(
    step,
    async ({ n, fail, ms }) => {
      ran.push(n);
      if (ms) await new Promise((r) => setTimeout(r, ms));
      if (fail === 'permanent') throw new PermanentJobError(`step ${n} cannot work`);
      if (fail === 'transient') throw new Error(`step ${n} failed`);
    },
    { retry },
  );
  return { worker, ran };
}

describe('createSqsHandler: outcomes to the batch response', () => {
  it('reports retries and deferrals, not acks, dead or discarded records', async () => {
    const { driver, calls, deadLetters } = fakeDriver();
    const { worker } = workerFor();
    const ok = record({ n: 1 });
    const flaky = record({ n: 2, fail: 'transient' });
    const poison = record({ n: 3 }, { body: 'not json' });
    const doomed = record({ n: 4, fail: 'permanent' });
    const handler = createSqsHandler(worker, { driver });
    const response = await handler({ Records: [ok, flaky, poison, doomed] }, context());
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: flaky.messageId }] });
    expect(calls).toContain(`visibility ${flaky.messageId} 30`);
    expect(calls.filter((c) => c.startsWith('dead')).sort()).toEqual(
      [`dead ${doomed.messageId}`, `dead ${poison.messageId}`].sort(),
    );
    expect(calls).not.toContain(`delete ${ok.messageId}`); // Lambda deletes it
    expect(deadLetters.map((d) => d.reason).sort()).toEqual([
      'malformed: the body is not JSON',
      'permanent failure: step 4 cannot work',
    ]);
  });

  it('leaves no timer behind after an invocation', async () => {
    const { driver } = fakeDriver();
    const handler = createSqsHandler(workerFor().worker, { driver });
    await handler({ Records: [record({ n: 1 })] }, context());
    const pending = new Set<unknown>();
    const set = vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void, ms?: number) => {
      const timer = setTimeoutOriginal(() => {
        pending.delete(timer);
        fn();
      }, ms);
      pending.add(timer);
      return timer;
    }) as typeof setTimeout);
    const clear = vi.spyOn(globalThis, 'clearTimeout').mockImplementation(((timer: NodeJS.Timeout) => {
      pending.delete(timer);
      clearTimeoutOriginal(timer);
    }) as typeof clearTimeout);
    try {
      for (let i = 0; i < 5; i++) await handler({ Records: [record({ n: i })] }, context());
    } finally {
      set.mockRestore();
      clear.mockRestore();
    }
    // A timer left per invocation held its closure until the deadline (12 MB per 200,000 records).
    expect(pending.size).toBe(0);
  });

  it('says once when a job can never start within the function timeout', async () => {
    const { driver } = fakeDriver();
    const errors: string[] = [];
    const observer = definePlugin({
      name: 'observer',
      setup: (hooks) => hooks.on('receiveError', ({ error }) => void errors.push((error as Error).message)),
    });
    const worker = createWorker({ plugins: [observer] }).handle(step, () => {}, { timeout: '30s' });
    const handler = createSqsHandler(worker, { driver });
    await handler({ Records: [record({ n: 1 })] }, context(20_000));
    await handler({ Records: [record({ n: 2 })] }, context(20_000));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/Jobs "step" \(timeout 30000ms\) cannot start in a 20000ms invocation/);
  });

  it('makes no call but the queue look-up for a batch that succeeds (Lambda deletes acks)', async () => {
    const { driver, calls } = fakeDriver();
    const response = await createSqsHandler(workerFor().worker, { driver })(
      { Records: [record({ n: 1 }), record({ n: 2 })] },
      context(),
    );
    expect(response.batchItemFailures).toEqual([]);
    expect(calls).toEqual(['describe jobs']);
  });

  it('keeps a record in batchItemFailures when its dead-letter copy could not be made', async () => {
    const { driver, calls } = fakeDriver({ deadLetterFails: true });
    const doomed = record({ n: 1, fail: 'permanent' });
    const response = await createSqsHandler(workerFor().worker, { driver })({ Records: [doomed] }, context());
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: doomed.messageId }]);
    expect(calls).toContain(`visibility ${doomed.messageId} 60`);
  });

  it('clamps visibility to 12 hours from the receive, counting the batching window', async () => {
    const { driver, calls } = fakeDriver();
    const { worker } = workerFor({ backoff: '24h' });
    const flaky = record({ n: 1, fail: 'transient' });
    await createSqsHandler(worker, { driver, batchingWindow: '5m' })({ Records: [flaky] }, context());
    // 12 h less the 5 min window, the 5 s slack and the milliseconds the invocation has run.
    const seconds = Number(calls.find((c) => c.startsWith(`visibility ${flaky.messageId}`))?.split(' ')[2]);
    expect(seconds).toBeGreaterThanOrEqual(43_200 - 300 - 5 - 1);
    expect(seconds).toBeLessThanOrEqual(43_200 - 300 - 5);
  });

  it('on FIFO queues defers the rest of a failed group with no delay, without running it', async () => {
    const { driver, calls } = fakeDriver();
    const { worker, ran } = workerFor();
    const a1 = record({ n: 1, fail: 'transient' }, { eventSourceARN: FIFO_ARN, group: 'a' });
    const b1 = record({ n: 10 }, { eventSourceARN: FIFO_ARN, group: 'b' });
    const a2 = record({ n: 2 }, { eventSourceARN: FIFO_ARN, group: 'a' });
    const b2 = record({ n: 11 }, { eventSourceARN: FIFO_ARN, group: 'b' });
    const response = await createSqsHandler(worker, { driver })({ Records: [a1, b1, a2, b2] }, context());
    expect(ran.sort((x, y) => x - y)).toEqual([1, 10, 11]);
    expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(
      [a1.messageId, a2.messageId].sort(),
    );
    expect(calls.indexOf(`visibility ${a1.messageId} 30`)).toBeLessThan(
      calls.indexOf(`visibility ${a2.messageId} 0`),
    );
  });

  it('aborts handlers at the deadline margin, defers records that cannot start, returns by the hard deadline', async () => {
    const stuck = record({ n: 1, ms: 60_000 });
    const waiting = record({ n: 2 });
    const slow = record({ n: 3, fail: 'transient' });
    // SQS stops answering for one record: the handler still returns before Lambda's timeout.
    const { driver, calls } = fakeDriver({ hangRelease: slow.messageId });
    const retried: unknown[] = [];
    const { worker, ran } = workerFor(undefined, [
      definePlugin({
        name: 'retries',
        setup: (hooks) => hooks.on('retry', (e) => void retried.push(e.outcome.error)),
      }),
    ]);
    const handler = createSqsHandler(worker, {
      driver,
      concurrency: 2,
      deadlineMargin: 300,
      hardMargin: 100,
    });
    const started = Date.now();
    const response = await handler({ Records: [slow, stuck, waiting] }, context(600));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(ran.sort()).toEqual([1, 3]);
    expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(
      [slow.messageId, stuck.messageId, waiting.messageId].sort(),
    );
    // The stuck handler was aborted at deadline - margin and its retry applied after its backoff (a
    // handler that ignores its signal may still be running: it must not come back at once); the record
    // behind it had too little time left to start and was released at once.
    expect(calls).toContain(`visibility ${stuck.messageId} 30`);
    expect(retried).toContainEqual(expect.any(JobInterruptedError));
    expect(retried.find((e) => e instanceof JobInterruptedError)).toMatchObject({ interruption: 'deadline' });
    expect(calls).toContain(`visibility ${waiting.messageId} 0`);
  });

  it('starts nothing after it returned at the hard stop', async () => {
    let unblock!: () => void;
    const until = new Promise<void>((resolve) => {
      unblock = resolve;
    });
    const first = record({ n: 1, fail: 'transient' });
    const rest = [record({ n: 2 }), record({ n: 3 }), record({ n: 4 })];
    const { driver, calls } = fakeDriver({ slowRelease: { id: first.messageId, until } });
    const { worker, ran } = workerFor();
    const handler = createSqsHandler(worker, {
      driver,
      concurrency: 1,
      deadlineMargin: 300,
      hardMargin: 100,
    });
    const response = await handler({ Records: [first, ...rest] }, context(600));
    expect(response.batchItemFailures).toHaveLength(4);
    const afterReturn = calls.length;
    unblock(); // SQS answers after the response: the records behind must not start now
    await new Promise((r) => setTimeout(r, 200));
    expect(ran).toEqual([1]);
    expect(calls.slice(afterReturn)).toEqual([`visibility ${first.messageId} 30`]);
  });

  it('rejects a hard margin that would return before handlers are aborted', () => {
    expect(() => createSqsHandler(workerFor().worker, { hardMargin: '3s', deadlineMargin: '1s' })).toThrow(
      /hardMargin \(3000ms\) must be shorter than deadlineMargin/,
    );
  });

  it('reports records it cannot act on, and an empty or odd event, without throwing', async () => {
    const { driver } = fakeDriver();
    const handler = createSqsHandler(workerFor().worker, { driver });
    const broken = { ...record({ n: 1 }), receiptHandle: undefined } as unknown as SQSRecord;
    expect(await handler({ Records: [broken] }, context())).toEqual({
      batchItemFailures: [{ itemIdentifier: broken.messageId }],
    });
    expect(await handler({} as SQSEvent, context())).toEqual({ batchItemFailures: [] });
    expect(await handler({ Records: [null] } as unknown as SQSEvent, context())).toEqual({
      batchItemFailures: [],
    });
  });

  it('throws for a fully failed batch only when asked, after applying the outcomes', async () => {
    const { driver, calls } = fakeDriver();
    const flaky = record({ n: 1, fail: 'transient' });
    const handler = createSqsHandler(workerFor().worker, { driver, throwOnFullBatchFailure: true });
    await expect(handler({ Records: [flaky] }, context())).rejects.toBeInstanceOf(FullBatchFailureError);
    expect(calls).toContain(`visibility ${flaky.messageId} 30`);
  });
});

describe('records', () => {
  it('maps a record to a delivery', () => {
    const r = record({ n: 1 }, { receiveCount: 3, group: 'g' });
    const signal = new AbortController().signal;
    const d = toDelivery(r, {
      queueUrl: 'https://q',
      receivedAt: 5,
      maxReceiveCount: 9,
      deadline: 50,
      signal,
    });
    expect(d).toMatchObject({
      messageId: r.messageId,
      receipt: r.receiptHandle,
      receiveCount: 3,
      queue: 'jobs',
      queueUrl: 'https://q',
      groupId: 'g',
      attributes: { 'glasswork.job': 'step' },
      receivedAt: 5,
      maxReceiveCount: 9,
      deadline: 50,
    });
    expect(queueNameOf('arn:aws-us-gov:sqs:us-gov-west-1:1:orders.fifo')).toBe('orders.fifo');
  });
});
