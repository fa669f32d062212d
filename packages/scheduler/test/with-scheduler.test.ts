import {
  ConfigurationError,
  createClient,
  createWorker,
  DelayTooLongError,
  decodeEnvelope,
  defineJob,
  EnqueueError,
  PayloadTooLargeError,
} from '@glasswork/core';
import type { MockDriverOptions } from '@glasswork/mock';
import { mockDriver } from '@glasswork/mock';
import { describe, expect, it } from 'vitest';
import type { EventBridgeSchedulerOptions, WrapperOptions } from '../src/index.ts';
import {
  isScheduled,
  localScheduler,
  oneTimeScheduleName,
  SCHEDULER_MAX_INPUT_BYTES,
  ScheduleError,
  ScheduleInputTooLargeError,
  withScheduler,
} from '../src/index.ts';
import {
  awsError,
  DLQ_ARN,
  EMAILS_ARN,
  ORDERS_ARN,
  ROLE,
  recordingClient,
  rejection,
  reminder,
  shipOrder,
} from './helpers.ts';

const START = Date.parse('2024-01-01T10:00:00.250Z');

interface Setup {
  answer?: Parameters<typeof recordingClient>[0];
  mock?: MockDriverOptions;
  wrapper?: Partial<EventBridgeSchedulerOptions & WrapperOptions>;
}

function setup(options: Setup = {}) {
  const mock = mockDriver({ startTime: START, ...options.mock });
  const client = recordingClient(options.answer);
  const driver = withScheduler(mock, {
    client,
    roleArn: ROLE,
    groupName: 'glasswork',
    queues: { emails: EMAILS_ARN, 'orders.fifo': ORDERS_ARN },
    deadLetterArn: DLQ_ARN,
    ...options.wrapper,
  });
  return { mock, client, driver, producer: createClient({ driver }) };
}

describe('withScheduler: which delays go where', () => {
  it('passes a delay SQS can hold to the inner driver, and turns a longer one into a one-time schedule', async () => {
    const { mock, client, producer } = setup();
    const short = await producer.enqueueIn(reminder, '15m', { userId: 'u1' });
    const long = await producer.enqueueIn(reminder, '20m', { userId: 'u2' }, { id: 'reminder-u2' });

    expect(mock.enqueued.map((m) => [m.id, m.delaySeconds])).toEqual([[short.id, 900]]);
    expect(isScheduled(short)).toBe(false);
    expect(client.calls.map((c) => c.command)).toEqual(['CreateScheduleCommand']);

    const [request] = client.of('CreateScheduleCommand');
    expect(request).toEqual({
      Name: 'gw-reminder-u2',
      GroupName: 'glasswork',
      // 10:00:00.250 + 20 min, in whole seconds (at() takes no milliseconds).
      ScheduleExpression: 'at(2024-01-01T10:20:00)',
      ScheduleExpressionTimezone: 'UTC',
      FlexibleTimeWindow: { Mode: 'OFF' },
      ActionAfterCompletion: 'DELETE',
      State: 'ENABLED',
      Description: 'Glasswork job "send-reminder" (reminder-u2) for queue "emails"',
      Target: {
        Arn: EMAILS_ARN,
        RoleArn: ROLE,
        Input: expect.any(String),
        RetryPolicy: { MaximumEventAgeInSeconds: 86_400, MaximumRetryAttempts: 185 },
        DeadLetterConfig: { Arn: DLQ_ARN },
      },
    });
    // The input is the full envelope the worker reads; no message attributes go with it (the templated SQS
    // target has none), so the worker relies on the envelope's name, as it always does.
    const decoded = decodeEnvelope(request.Target.Input);
    expect(decoded.ok && decoded.envelope).toMatchObject({
      v: 1,
      id: 'reminder-u2',
      name: 'send-reminder',
      payload: { userId: 'u2' },
      enqueuedAt: '2024-01-01T10:00:00.250Z',
      priorAttempts: 0,
    });

    expect(long).toEqual({
      id: 'reminder-u2',
      job: 'send-reminder',
      queue: 'emails',
      messageId: undefined,
      scheduled: {
        at: '2024-01-01T10:20:00.000Z',
        id: 'arn:aws:scheduler:eu-west-1:123456789012:schedule/glasswork/gw-reminder-u2',
      },
    });
    expect(isScheduled(long)).toBe(true);
  });

  it('schedules enqueueAt three days ahead in UTC', async () => {
    const { client, producer } = setup();
    await producer.enqueueAt(reminder, new Date('2024-01-04T09:30:00+02:00'), { userId: 'u3' });
    expect(client.of('CreateScheduleCommand')[0]).toMatchObject({
      ScheduleExpression: 'at(2024-01-04T07:30:00)',
      ScheduleExpressionTimezone: 'UTC',
    });
  });

  it('splits one enqueueMany between the queue and the scheduler, keeping each result in its place', async () => {
    const { mock, client, producer } = setup();
    const results = await producer.enqueueMany([
      { job: reminder, payload: { userId: 'a' }, options: { delay: '1h', id: 'a' } },
      { job: reminder, payload: { userId: 'b' }, options: { id: 'b' } },
      { job: reminder, payload: { userId: 'c' }, options: { delay: '2d', id: 'c' } },
    ]);
    expect(results.map((r) => r.ok && isScheduled(r))).toEqual([true, false, true]);
    expect(mock.enqueued.map((m) => m.id)).toEqual(['b']);
    expect(client.of('CreateScheduleCommand').map((i) => i.Name)).toEqual(['gw-a', 'gw-c']);
  });

  it('still reports the scheduled jobs when the inner driver fails for the others', async () => {
    const { client, producer } = setup({
      mock: { failSend: () => new Error('SQS is down') },
      wrapper: { groupName: undefined, deadLetterArn: false },
    });
    const results = await producer.enqueueMany([
      { job: reminder, payload: { userId: 'a' }, options: { delay: '1h' } },
      { job: reminder, payload: { userId: 'b' } },
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, false]);
    expect(client.of('CreateScheduleCommand')[0].GroupName).toBe('default');
    expect(client.of('CreateScheduleCommand')[0].Target.DeadLetterConfig).toBeUndefined();
  });

  it('announces long delays to the client and keeps the inner driver’s consumer side', () => {
    const { mock, driver } = setup();
    expect(driver.capabilities).toMatchObject({
      maxDelaySeconds: 3650 * 86_400,
      fifoDelay: true,
      maxBatchSize: 10,
    });
    expect(driver.now?.()).toBe(mock.now());
    expect(typeof driver.receive).toBe('function');
    expect(driver.name).toBe('mock+eventbridge');
  });

  it('leaves the core’s DelayTooLongError past maxDelay', async () => {
    const { producer } = setup({ wrapper: { maxDelay: '30d' } });
    await expect(producer.enqueueIn(reminder, '31d', { userId: 'x' })).rejects.toThrow(DelayTooLongError);
  });
});

describe('withScheduler: FIFO queues', () => {
  it('schedules any delay on a FIFO queue (SQS cannot delay its messages) with the message group', async () => {
    const { mock, client, producer } = setup();
    await producer.enqueue(shipOrder, { orderId: 'o-1' }, { id: 'now' });
    await producer.enqueueIn(shipOrder, '30s', { orderId: 'o-1' }, { id: 'later' });
    expect(mock.enqueued.map((m) => m.id)).toEqual(['now']);
    expect(client.of('CreateScheduleCommand')[0].Target).toMatchObject({
      Arn: ORDERS_ARN,
      SqsParameters: { MessageGroupId: 'o-1' },
    });
  });

  it('refuses a delayed FIFO job with its own deduplication id, which the scheduler cannot pass', async () => {
    const { client, producer } = setup();
    const attempt = producer.enqueueIn(shipOrder, '1h', { orderId: 'o-2' }, { dedupeId: 'order-o-2' });
    await expect(attempt).rejects.toThrow(EnqueueError);
    const error = await rejection<EnqueueError>(attempt);
    expect(error.cause).toBeInstanceOf(ConfigurationError);
    expect(String(error.message)).toMatch(/cannot pass a deduplication id/);
    expect(client.calls).toHaveLength(0);
  });

  it('refuses a queue whose ARN does not say FIFO when the queue is', async () => {
    const { producer } = setup({ wrapper: { queues: { 'orders.fifo': EMAILS_ARN } } });
    await expect(producer.enqueueIn(shipOrder, '1h', { orderId: 'o' })).rejects.toThrow(
      /is FIFO but its ARN/,
    );
  });
});

describe('withScheduler: sizes', () => {
  it('applies the scheduler’s input limit to scheduled jobs only', async () => {
    const { mock, client, producer } = setup({ mock: { maxMessageBytes: 1_048_576 } });
    const big = { userId: 'x'.repeat(300_000) };
    await producer.enqueue(reminder, big); // SQS takes 1 MiB
    expect(mock.enqueued).toHaveLength(1);

    const error = await rejection<EnqueueError>(producer.enqueueIn(reminder, '1h', big));
    expect(error).toBeInstanceOf(EnqueueError);
    expect(error.cause).toBeInstanceOf(ScheduleInputTooLargeError);
    expect(error.cause).toBeInstanceOf(PayloadTooLargeError);
    expect(error.cause).toMatchObject({ job: 'send-reminder', limit: SCHEDULER_MAX_INPUT_BYTES });
    expect(error.message).toMatch(/a scheduled job's input may hold/);
    expect(client.calls).toHaveLength(0);
  });

  it('takes a job exactly at the limit', async () => {
    const { client, producer } = setup({
      mock: { maxMessageBytes: 1_048_576 },
      wrapper: { maxInputBytes: 1000 },
    });
    const envelopeOf = (userId: string) => ({ userId });
    // Find the payload size whose envelope is exactly 1000 bytes, then one byte more.
    await producer.enqueueIn(reminder, '1h', envelopeOf(''), { id: 'probe' });
    const overhead = Buffer.byteLength(client.of('CreateScheduleCommand')[0].Target.Input);
    await expect(
      producer.enqueueIn(reminder, '1h', envelopeOf('y'.repeat(1000 - overhead)), { id: 'probe' }),
    ).resolves.toBeDefined();
    await expect(
      producer.enqueueIn(reminder, '1h', envelopeOf('y'.repeat(1001 - overhead)), { id: 'probe' }),
    ).rejects.toThrow(/1001 bytes, over the 1000 bytes/);
  });
});

describe('withScheduler: schedule names', () => {
  it('derives valid, distinct names from job ids, never by replacing characters', () => {
    const ids = [
      crypto.randomUUID(),
      'reminder:42',
      'reminder_42',
      'reminder-42',
      'a'.repeat(61),
      'a'.repeat(62),
      'émoji-😀',
      'x/y',
      'x_y',
    ];
    const names = ids.map(oneTimeScheduleName);
    for (const name of names) expect(name).toMatch(/^[0-9A-Za-z_.-]{1,64}$/);
    expect(new Set(names).size).toBe(ids.length);
    expect(names[0]).toBe(`gw-${ids[0]}`);
    expect(names[1]).toMatch(/^gw\.[0-9a-f]{40}$/); // ':' is not allowed: hashed
    expect(names[2]).toBe('gw-reminder_42');
    expect(names[4]).toBe(`gw-${'a'.repeat(61)}`); // 64 characters exactly
    expect(names[5]).toMatch(/^gw\.[0-9a-f]{40}$/); // too long: hashed
    expect(oneTimeScheduleName('reminder:42')).toBe(names[1]); // stable, so cancel finds it
  });

  it('refuses a second schedule of the same id for another job on EventBridge', async () => {
    const other = '{"v":1,"id":"dup","name":"send-survey","enqueuedAt":"2024-01-01T00:00:00.000Z","meta":{}}';
    const { producer } = setup({
      answer: (command) => {
        if (command === 'CreateScheduleCommand')
          throw awsError('ConflictException', 'Schedule gw-dup already exists.');
        if (command === 'GetScheduleCommand') {
          return {
            Arn: 'arn:aws:scheduler:eu-west-1:123456789012:schedule/glasswork/gw-dup',
            Target: { Input: other },
          };
        }
        return undefined;
      },
    });
    const error = await rejection<EnqueueError>(
      producer.enqueueIn(reminder, '1h', { userId: 'u' }, { id: 'dup' }),
    );
    expect(error.cause).toBeInstanceOf(ScheduleError);
    expect((error.cause as ScheduleError).message).toMatch(
      /already scheduled .* for job "send-survey", not "send-reminder"/,
    );
  });

  it('treats a second schedule of the same job id as the same job', async () => {
    const { client, producer } = setup({
      answer: (command) => {
        if (command === 'CreateScheduleCommand')
          throw awsError('ConflictException', 'Schedule gw-dup already exists.');
        if (command === 'GetScheduleCommand')
          return { Arn: 'arn:aws:scheduler:eu-west-1:123456789012:schedule/glasswork/gw-dup' };
        return undefined;
      },
    });
    const result = await producer.enqueueIn(reminder, '1h', { userId: 'u' }, { id: 'dup' });
    expect(result.scheduled?.id).toBe('arn:aws:scheduler:eu-west-1:123456789012:schedule/glasswork/gw-dup');
    expect(client.of('GetScheduleCommand')).toEqual([{ Name: 'gw-dup', GroupName: 'glasswork' }]);
  });

  it('reports a service error as a failed enqueue with the cause', async () => {
    const throttled = awsError('ThrottlingException', 'Rate exceeded');
    const { producer } = setup({
      answer: () => {
        throw throttled;
      },
    });
    const error = await rejection<EnqueueError>(
      producer.enqueueIn(reminder, '1h', { userId: 'u' }, { id: 'slow' }),
    );
    expect(error).toBeInstanceOf(EnqueueError);
    expect(error.cause).toBeInstanceOf(ScheduleError);
    expect((error.cause as ScheduleError).cause).toBe(throttled);
    expect(error.message).toMatch(/did not create schedule "gw-slow" in group "glasswork".*Rate exceeded/);
  });
});

describe('withScheduler: cancel', () => {
  it('deletes the job’s schedule, and says false when there is none', async () => {
    let exists = true;
    const { client, driver, producer } = setup({
      answer: (command) => {
        if (command === 'DeleteScheduleCommand' && !exists) throw awsError('ResourceNotFoundException');
        if (command === 'DeleteScheduleCommand') exists = false;
        return undefined;
      },
    });
    const { id } = await producer.enqueueIn(reminder, '3d', { userId: 'u' }, { id: 'job:7' });
    expect(await driver.cancel(id)).toBe(true);
    expect(await driver.cancel(id)).toBe(false);
    const name = client.of('CreateScheduleCommand')[0].Name;
    expect(client.of('DeleteScheduleCommand')).toEqual([
      { Name: name, GroupName: 'glasswork' },
      { Name: name, GroupName: 'glasswork' },
    ]);
  });

  it('passes other errors on', async () => {
    const { driver } = setup({
      answer: () => {
        throw awsError('AccessDeniedException');
      },
    });
    await expect(driver.cancel('x')).rejects.toThrow(ScheduleError);
  });
});

describe('withScheduler: what arrives is what the worker runs', () => {
  it('runs the scheduled envelope through a worker once it reaches the queue', async () => {
    const { mock, client, producer } = setup();
    await producer.enqueueIn(reminder, '2d', { userId: 'u9' }, { id: 'later' });
    // Deliver the schedule's input as the SQS target does: the body, nothing else.
    const { Target } = client.of('CreateScheduleCommand')[0];
    mock.advance('2d');
    await mock.send('emails', [
      {
        id: 'later',
        jobName: 'send-reminder',
        queue: 'emails',
        body: Target.Input,
        attributes: {},
        bytes: 0,
        delaySeconds: 0,
      },
    ]);
    const seen: unknown[] = [];
    const worker = createWorker().handle(
      reminder,
      (payload, ctx) => void seen.push([payload, ctx.jobId, ctx.attempt]),
    );
    const report = await mock.drain(worker);
    expect(report.counts.ack).toBe(1);
    expect(seen).toEqual([[{ userId: 'u9' }, 'later', 1]]);
  });
});

describe('one-time schedules of different jobs with the same id', () => {
  it('refuses the second instead of dropping it, on the local scheduler', async () => {
    const receipt = defineJob<{ order: string }>({ name: 'send-receipt', queue: 'emails' });
    const survey = defineJob<{ order: string }>({ name: 'send-survey', queue: 'emails' });
    const inner = mockDriver();
    const local = localScheduler({
      sqs: { send: async () => ({}) },
      queues: { emails: 'https://sqs.local/1/emails' },
    });
    const client = createClient({ driver: withScheduler(inner, { scheduler: local }) });
    await client.enqueueIn(receipt, '1d', { order: 'o-42' }, { id: 'order-o-42' });
    // The same job and id again: kept as one, like a FIFO deduplication id.
    await expect(
      client.enqueueIn(receipt, '2d', { order: 'o-42' }, { id: 'order-o-42' }),
    ).resolves.toBeTruthy();
    const error = await client
      .enqueueIn(survey, '7d', { order: 'o-42' }, { id: 'order-o-42' })
      .catch((e) => e);
    expect(error.message).toMatch(
      /Job id "order-o-42" is already scheduled .* for job "send-receipt", not "send-survey"/,
    );
    expect(local.pending()).toHaveLength(1);
  });
});
