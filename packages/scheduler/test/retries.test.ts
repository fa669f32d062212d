import type { OutgoingMessage } from '@glasswork/core';
import { createClient, createWorker, decodeEnvelope, definePlugin, TransientJobError } from '@glasswork/core';
import { mockDriver } from '@glasswork/mock';
import { describe, expect, it } from 'vitest';
import type { ScheduleBackend, ScheduleRequest } from '../src/index.ts';
import { schedulerRetries } from '../src/index.ts';
import { reminder, shipOrder } from './helpers.ts';

const T0 = Date.parse('2024-03-01T09:00:00Z');

/** A scheduler that keeps what it is given; the test delivers it to the queue when it is due. */
function holdingScheduler(fail?: Error): ScheduleBackend & { readonly held: ScheduleRequest[] } {
  const held: ScheduleRequest[] = [];
  return {
    name: 'test',
    maxInputBytes: 262_144,
    held,
    async schedule(request) {
      if (fail) throw fail;
      held.push(request);
      return `arn:aws:scheduler:local:000000000000:schedule/test/${request.message.id}`;
    },
    cancel: async () => false,
  };
}

function setup(scheduler: ScheduleBackend, maxAttempts = 3) {
  const mock = mockDriver({ startTime: T0 });
  const events: string[] = [];
  const seen: { attempt: number; jobId: string; firstEnqueuedAt: string }[] = [];
  const observer = definePlugin({
    name: 'observer',
    setup(hooks) {
      hooks.on(
        'retry',
        ({ outcome }) =>
          void events.push(`retry ${outcome.delayMs}${outcome.handedOff ? ' handed off' : ''}`),
      );
      hooks.on('discard', ({ outcome }) => void events.push(`discard ${outcome.reason}`));
      hooks.on('dead', ({ outcome }) => void events.push(`dead ${outcome.reason}`));
      hooks.on('success', ({ ctx }) => void events.push(`success ${ctx.attempt}`));
    },
  });
  const worker = createWorker({
    plugins: [
      observer,
      schedulerRetries({ scheduler, now: () => mock.now(), onError: (e) => events.push(`error ${e}`) }),
    ],
  })
    .handle(
      reminder,
      (_payload, ctx) => {
        seen.push({
          attempt: ctx.attempt,
          jobId: ctx.jobId,
          firstEnqueuedAt: ctx.firstEnqueuedAt.toISOString(),
        });
        if (ctx.attempt < 3)
          throw new TransientJobError('the mail provider is down for maintenance', { retryAfter: '2d' });
      },
      { retry: { maxAttempts } },
    )
    .handle(shipOrder, () => {
      throw new TransientJobError('warehouse closed', { retryAfter: '2d' });
    });
  return { mock, worker, events, seen, producer: createClient({ driver: mock }) };
}

/** Delivers a held schedule to the mock queue, as the scheduler's SQS target would. */
async function fire(mock: ReturnType<typeof mockDriver>, request: ScheduleRequest) {
  const message: OutgoingMessage = { ...request.message, delaySeconds: 0 };
  await mock.send(request.queue, [message]);
}

describe('schedulerRetries', () => {
  it('hands a retry longer than SQS visibility to the scheduler, with the attempts made so far', async () => {
    const scheduler = holdingScheduler();
    const { mock, worker, events, seen, producer } = setup(scheduler);
    await producer.enqueue(reminder, { userId: 'u1' }, { id: 'job-1' });

    const first = await mock.drain(worker);
    expect(first.counts).toMatchObject({ discard: 0, retry: 1, dead: 0 });
    // The received message is deleted: the scheduler holds the retry.
    expect(mock.pending()).toBe(0);
    expect(mock.deadLetters).toEqual([]);
    expect(events).toEqual([`retry ${2 * 86_400_000} handed off`]);

    const [request] = scheduler.held;
    expect(request).toMatchObject({ queue: 'emails', fifo: false, at: T0 + 2 * 86_400_000 });
    expect(request?.message.id).toBe('job-1#attempt-2');
    const decoded = decodeEnvelope(request?.message.body as string);
    expect(decoded.ok && decoded.envelope).toMatchObject({
      id: 'job-1',
      name: 'send-reminder',
      payload: { userId: 'u1' },
      priorAttempts: 1,
      firstEnqueuedAt: new Date(T0).toISOString(),
    });

    // Two days later the scheduler sends it; it fails again and goes back, then the third attempt works.
    mock.advance('2d');
    await fire(mock, request as ScheduleRequest);
    await mock.drain(worker);
    expect(scheduler.held[1]?.message.id).toBe('job-1#attempt-3');
    mock.advance('2d');
    await fire(mock, scheduler.held[1] as ScheduleRequest);
    expect((await mock.drain(worker)).counts.ack).toBe(1);

    expect(seen).toEqual([
      { attempt: 1, jobId: 'job-1', firstEnqueuedAt: '2024-03-01T09:00:00.000Z' },
      { attempt: 2, jobId: 'job-1', firstEnqueuedAt: '2024-03-01T09:00:00.000Z' },
      { attempt: 3, jobId: 'job-1', firstEnqueuedAt: '2024-03-01T09:00:00.000Z' },
    ]);
    expect(events.at(-1)).toBe('success 3');
  });

  it('counts the carried attempts against maxAttempts', async () => {
    const scheduler = holdingScheduler();
    const { mock, worker, events } = setup(scheduler, 2);
    await createClient({ driver: mock }).enqueue(reminder, { userId: 'u2' }, { id: 'job-2' });
    await mock.drain(worker);
    mock.advance('2d');
    await fire(mock, scheduler.held[0] as ScheduleRequest);
    await mock.drain(worker);
    expect(scheduler.held).toHaveLength(1);
    expect(mock.deadLetters.map((d) => [d.jobId, d.info?.attempts])).toEqual([['job-2', 2]]);
    expect(events.at(-1)).toMatch(/^dead retries exhausted after 2 attempts/);
  });

  it('leaves retries that SQS can hold, and FIFO retries, to the queue', async () => {
    const scheduler = holdingScheduler();
    const { mock, worker, producer } = setup(scheduler);
    const short = createWorker({ plugins: [schedulerRetries({ scheduler, now: () => mock.now() })] }).handle(
      reminder,
      () => {
        throw new TransientJobError('busy', { retryAfter: '11h' });
      },
    );
    await producer.enqueue(reminder, { userId: 'u3' });
    expect((await mock.drain(short, { for: '1h' })).counts.retry).toBe(1);
    mock.clear();
    await producer.enqueue(shipOrder, { orderId: 'o-1' });
    expect((await mock.drain(worker, { for: '1h' })).counts.retry).toBe(1);
    expect(scheduler.held).toEqual([]);
  });

  it('falls back to the longest SQS retry when the scheduler fails', async () => {
    const { mock, worker, events, producer } = setup(holdingScheduler(new Error('AccessDenied')));
    await producer.enqueue(reminder, { userId: 'u4' });
    const report = await mock.drain(worker, { for: '1h' });
    expect(report.counts.retry).toBe(1);
    expect(events).toEqual(['error Error: AccessDenied', 'retry 172800000']);
    expect(mock.pending()).toBe(1);
  });
});
