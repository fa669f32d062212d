import { GetQueueAttributesCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { LocalSqs } from '@glasswork/sqs/local';
import { startLocalSqs } from '@glasswork/sqs/local';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runEventSourceMapping } from '../src/index.ts';

let sqs: LocalSqs;
beforeAll(async () => {
  sqs = await startLocalSqs();
});
afterAll(async () => sqs?.stop());

let queues = 0;
async function queueWith(count: number) {
  const { url: queueUrl } = sqs.createQueue({
    name: `esm-${++queues}`,
    visibilityTimeout: 1,
    maxReceiveCount: false,
  });
  for (let i = 0; i < count; i += 10) {
    const entries = Array.from({ length: Math.min(10, count - i) }, (_, j) => ({
      Id: `${j}`,
      MessageBody: `m${i + j}`,
    }));
    await sqs.client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
  }
  return queueUrl;
}

async function remaining(queueUrl: string): Promise<number> {
  const { Attributes } = await sqs.client.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(Attributes?.ApproximateNumberOfMessages) +
    Number(Attributes?.ApproximateNumberOfMessagesNotVisible)
  );
}

async function until(check: () => boolean | Promise<boolean>, ms = 10_000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('runEventSourceMapping', () => {
  it('invokes with batches of records and deletes what succeeded', async () => {
    const queueUrl = await queueWith(25);
    const bodies: string[] = [];
    const events: SQSEvent[] = [];
    const esm = runEventSourceMapping({
      client: sqs.client,
      queueUrl,
      batchSize: 10,
      waitTime: '1s',
      handler: async (event, context) => {
        events.push(event);
        expect(context.getRemainingTimeInMillis()).toBeGreaterThan(25_000);
        bodies.push(...event.Records.map((r) => r.body));
        return { batchItemFailures: [] };
      },
    });
    await until(() => bodies.length === 25);
    await esm.stop();
    expect(new Set(bodies).size).toBe(25);
    expect(events.every((e) => e.Records.length <= 10)).toBe(true);
    const record = events[0]!.Records[0]!;
    expect(record.eventSource).toBe('aws:sqs');
    expect(record.eventSourceARN).toMatch(/^arn:aws:sqs:[a-z0-9-]+:\d+:esm-\d+$/);
    expect(record.attributes.ApproximateReceiveCount).toBe('1');
    expect(esm.stats).toMatchObject({ records: 25, deleted: 25, returned: 0, failedInvocations: 0 });
    expect(await remaining(queueUrl)).toBe(0);
  });

  it('leaves batchItemFailures to come back with a higher receive count', async () => {
    const queueUrl = await queueWith(4);
    const receives = new Map<string, string[]>();
    const esm = runEventSourceMapping({
      client: sqs.client,
      queueUrl,
      waitTime: '1s',
      handler: async (event) => {
        const failures = [];
        for (const r of event.Records) {
          const seen = receives.get(r.body) ?? [];
          seen.push(r.attributes.ApproximateReceiveCount);
          receives.set(r.body, seen);
          if (r.body === 'm1' && seen.length === 1) failures.push({ itemIdentifier: r.messageId });
        }
        return { batchItemFailures: failures };
      },
    });
    await until(() => (receives.get('m1')?.length ?? 0) === 2);
    await esm.stop();
    expect(receives.get('m1')).toEqual(['1', '2']);
    expect(receives.get('m0')).toEqual(['1']);
    expect(await remaining(queueUrl)).toBe(0);
  });

  it.each([
    [
      'throws',
      async () => {
        throw new Error('crash');
      },
    ],
    ['times out', () => new Promise<never>(() => {})],
    [
      'names a record that is not in the batch',
      async () => ({ batchItemFailures: [{ itemIdentifier: 'nope' }] }),
    ],
  ])('treats an invocation that %s as a failure of the whole batch', async (_label, handler) => {
    const queueUrl = await queueWith(3);
    const esm = runEventSourceMapping({
      client: sqs.client,
      queueUrl,
      waitTime: '1s',
      timeout: 300,
      handler,
    });
    await until(() => esm.stats.failedInvocations >= 1);
    await esm.stop();
    expect(esm.stats.deleted).toBe(0);
    expect(await remaining(queueUrl)).toBe(3);
  });

  it('keeps trying a queue it cannot reach, and says why in lastError and stats', async () => {
    const esm = runEventSourceMapping({
      client: sqs.client,
      queueUrl: `${sqs.endpoint}/000000000000/no-such-queue`,
      handler: async () => undefined,
    });
    await until(() => esm.stats.pollErrors >= 2);
    const started = Date.now();
    await esm.stop();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(String(esm.lastError)).toMatch(/queue/i);
    expect(() =>
      runEventSourceMapping({
        client: sqs.client,
        queueUrl: 'x',
        handler: async () => undefined,
        concurrency: 0,
      }),
    ).toThrow(/concurrency must be a whole number >= 1/);
  });

  it('stops promptly while long-polling an empty queue', async () => {
    const queueUrl = await queueWith(0);
    const esm = runEventSourceMapping({
      client: sqs.client,
      queueUrl,
      handler: async () => undefined,
      concurrency: 3,
    });
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    await esm.stop();
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
