import { ConfigurationError, createClient, defineJob } from '@glasswork/core';
import { mockDriver } from '@glasswork/mock';
import { describe, expect, it } from 'vitest';
import type { EventBridgeSchedulerOptions } from '../src/index.ts';
import { eventBridgeScheduler, partitionOf, queueArnFromUrl, withScheduler } from '../src/index.ts';
import { DLQ_ARN, EMAILS_ARN, ROLE, recordingClient } from './helpers.ts';

const job = defineJob<{ n: number }>({ name: 'tick', queue: 'jobs' });

async function scheduleOne(options: Omit<EventBridgeSchedulerOptions, 'client'>) {
  const client = recordingClient();
  const producer = createClient({ driver: withScheduler(mockDriver(), { ...options, client }) });
  await producer.enqueueIn(job, '1h', { n: 1 });
  return client.of('CreateScheduleCommand')[0];
}

describe('partitions', () => {
  it.each([
    ['aws-cn', 'cn-north-1'],
    ['aws-us-gov', 'us-gov-west-1'],
    ['aws', 'eu-central-1'],
  ])('schedules in %s with ARNs of that partition', async (partition, region) => {
    const queue = `arn:${partition}:sqs:${region}:123456789012:jobs`;
    const dlq = `arn:${partition}:sqs:${region}:123456789012:jobs-scheduler-dlq`;
    const role = `arn:${partition}:iam::123456789012:role/scheduler`;
    const request = await scheduleOne({ roleArn: role, queues: { jobs: queue }, deadLetterArn: dlq });
    expect(request.Target).toMatchObject({ Arn: queue, RoleArn: role, DeadLetterConfig: { Arn: dlq } });
  });

  it('refuses a role and a queue of different partitions', () => {
    expect(() =>
      eventBridgeScheduler({
        roleArn: 'arn:aws-cn:iam::123456789012:role/scheduler',
        queues: { jobs: 'arn:aws:sqs:us-east-1:123456789012:jobs' },
        deadLetterArn: false,
      }),
    ).toThrow(/queues.jobs is in partition "aws" but roleArn is in "aws-cn"/);
  });

  it('derives queue ARNs from queue URLs, partition included', () => {
    expect(queueArnFromUrl('https://sqs.us-east-1.amazonaws.com/123456789012/emails')).toBe(
      'arn:aws:sqs:us-east-1:123456789012:emails',
    );
    expect(queueArnFromUrl('https://sqs.cn-north-1.amazonaws.com.cn/123456789012/jobs')).toBe(
      'arn:aws-cn:sqs:cn-north-1:123456789012:jobs',
    );
    expect(queueArnFromUrl('https://sqs.us-gov-west-1.amazonaws.com/123456789012/jobs.fifo')).toBe(
      'arn:aws-us-gov:sqs:us-gov-west-1:123456789012:jobs.fifo',
    );
    expect(queueArnFromUrl('https://eu-west-1.queue.amazonaws.com/123456789012/legacy')).toBe(
      'arn:aws:sqs:eu-west-1:123456789012:legacy',
    );
    expect(queueArnFromUrl('https://sqs-fips.us-east-2.amazonaws.com/123456789012/q')).toBe(
      'arn:aws:sqs:us-east-2:123456789012:q',
    );
    expect(() => queueArnFromUrl('http://127.0.0.1:4566/000000000000/jobs')).toThrow(/pass the ARN itself/);
    expect(() => queueArnFromUrl('not a url')).toThrow(ConfigurationError);
    expect(partitionOf('us-iso-east-1')).toBe('aws-iso');
  });
});

describe('options are checked when the scheduler is created', () => {
  const base = { roleArn: ROLE, queues: { jobs: EMAILS_ARN }, deadLetterArn: DLQ_ARN };
  const cases: [string, Partial<EventBridgeSchedulerOptions> | Record<string, unknown>, RegExp][] = [
    ['a role ARN that is not one', { roleArn: 'scheduler-role' }, /roleArn "scheduler-role" is not an ARN/],
    [
      'a queue ARN of another service',
      { queues: { jobs: 'arn:aws:sns:eu-west-1:123456789012:jobs' } },
      /not an SQS queue ARN/,
    ],
    ['no dead-letter decision', { deadLetterArn: undefined }, /needs deadLetterArn/],
    [
      'a FIFO dead-letter queue',
      { deadLetterArn: 'arn:aws:sqs:eu-west-1:123456789012:dlq.fifo' },
      /must be a standard queue/,
    ],
    ['a retry age over 24 hours', { retry: { maxEventAge: '25h' } }, /between 1 minute and 24 hours/],
    ['too many retries', { retry: { maxAttempts: 186 } }, /0 to 185/],
    ['a group name with spaces', { groupName: 'my group' }, /Invalid schedule group name/],
    ['a KMS key of another service', { kmsKeyArn: ROLE }, /KMS key ARN/],
    ['no queues', { queues: undefined }, /needs queues/],
  ];
  it.each(cases)('%s', (_label, change, message) => {
    expect(() => eventBridgeScheduler({ ...base, ...change } as EventBridgeSchedulerOptions)).toThrow(
      message,
    );
  });

  it('puts the retry policy and the KMS key on the schedule', async () => {
    const kmsKeyArn = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const request = await scheduleOne({ ...base, retry: { maxEventAge: '2h', maxAttempts: 3 }, kmsKeyArn });
    expect(request.Target.RetryPolicy).toEqual({ MaximumEventAgeInSeconds: 7200, MaximumRetryAttempts: 3 });
    expect(request.KmsKeyArn).toBe(kmsKeyArn);
  });

  it('says which queue lacks an ARN when a job goes to it', async () => {
    const producer = createClient({
      driver: withScheduler(mockDriver(), {
        ...base,
        queues: { other: EMAILS_ARN },
        client: recordingClient(),
      }),
    });
    await expect(producer.enqueueIn(job, '1h', { n: 1 })).rejects.toThrow(
      /Queue "jobs" has no ARN for EventBridge Scheduler/,
    );
  });
});
