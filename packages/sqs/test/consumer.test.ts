import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { DeadLetterInfo } from '@glasswork/core';
import { ConfigurationError, createClient, defineJob, JOB_NAME_ATTRIBUTE, utf8Bytes } from '@glasswork/core';
import { describe, expect, it, vi } from 'vitest';
import {
  DEAD_LETTER_ATTRIBUTE,
  DeadLetterError,
  deadLetterAttribute,
  queueUrlFromArn,
  releaseMessage,
  resolveDeadLetter,
  SqsError,
  sqsDriver,
} from '../src/index.ts';
import { sleep, sqsFault, useSqs, wrapClient } from './helpers.ts';

const sqs = useSqs();

const note = defineJob<{ n: number }>({ name: 'note' });

function info(overrides: Partial<DeadLetterInfo> = {}): DeadLetterInfo {
  return {
    reason: 'permanent failure: card declined',
    error: { name: 'PermanentJobError', message: 'card declined', code: 'PERMANENT' },
    attempts: 1,
    sourceQueue: 'payments',
    messageId: 'm-1',
    jobId: 'job-1',
    jobName: 'charge',
    deadAt: new Date(0).toISOString(),
    ...overrides,
  };
}

async function readDeadLetters(url: string) {
  return (await sqs.peek(url)).map((m) => ({
    ...m,
    attributeNames: Object.keys(m.attributes),
    info: m.deadLetter,
  }));
}

describe('queue addresses', () => {
  it('turns ARNs of every partition into queue URLs', () => {
    expect(queueUrlFromArn('arn:aws:sqs:eu-west-1:123456789012:jobs')).toBe(
      'https://sqs.eu-west-1.amazonaws.com/123456789012/jobs',
    );
    expect(queueUrlFromArn('arn:aws-cn:sqs:cn-north-1:123456789012:jobs.fifo')).toBe(
      'https://sqs.cn-north-1.amazonaws.com.cn/123456789012/jobs.fifo',
    );
    expect(queueUrlFromArn('arn:aws-us-gov:sqs:us-gov-west-1:123456789012:jobs')).toBe(
      'https://sqs.us-gov-west-1.amazonaws.com/123456789012/jobs',
    );
    expect(
      queueUrlFromArn('arn:aws:sqs:us-east-1:123456789012:jobs', { endpoint: 'http://localhost:4566/' }),
    ).toBe('http://localhost:4566/123456789012/jobs');
    expect(() => queueUrlFromArn('arn:aws:s3:::bucket')).toThrow(ConfigurationError);
    expect(() => queueUrlFromArn('arn:aws-mars:sqs:mars-1:123456789012:jobs')).toThrow(/pass endpoint/);
  });
});

describe('describeQueue', () => {
  it('reports FIFO-ness, MaximumMessageSize and maxReceiveCount, and caches them but not errors', async () => {
    const fifo = sqs.queue('described', {
      fifo: true,
      maxReceiveCount: 7,
      attributes: { MaximumMessageSize: '4096' },
    });
    const plain = sqs.queue('plain');
    let fail = true;
    const client = wrapClient(sqs.client, (call) => {
      if (call.command === 'GetQueueAttributes' && fail) {
        fail = false;
        return Promise.reject(sqsFault('AccessDenied', 403));
      }
      return undefined;
    });
    const driver = sqsDriver({ client, endpoint: sqs.endpoint, queues: { f: fifo.url, p: plain.url } });
    await expect(driver.describeQueue('f')).rejects.toThrow();
    const described = await driver.describeQueue('f');
    expect(described).toMatchObject({ fifo: true, maxMessageBytes: 4096, maxReceiveCount: 7 });
    await driver.describeQueue('f');
    expect(client.count('GetQueueAttributes')).toBe(2);
    expect(await driver.describeQueue('p')).toMatchObject({
      fifo: false,
      maxMessageBytes: 1_048_576,
      maxReceiveCount: undefined,
    });
  });

  it('asks again, within attempts, when a lookup fails in a retryable way (a poller start, a Lambda batch)', async () => {
    // Found by the fault suite: a dropped or throttled GetQueueAttributes made poller.start() reject.
    const queue = sqs.queue('described-again', { maxReceiveCount: 10 });
    // Calls 1 and 2 (describeQueue) and 4 (the dead-letter queue's lookup) fail; `attempts` is 3. The
    // source's redrive policy comes with its description: 3 + 2 calls in all.
    const client = wrapClient(sqs.client, (call, _forward, index) => {
      if (call.command !== 'GetQueueAttributes' || ![1, 2, 4].includes(index)) return undefined;
      return Promise.reject(sqsFault(index === 2 ? 'ServiceUnavailable' : 'ThrottlingException', 503));
    });
    const driver = sqsDriver({ client, endpoint: sqs.endpoint, queues: { q: queue.url } });
    expect(await driver.describeQueue('q')).toMatchObject({ fifo: false });
    expect(await driver.deadLetterTarget('q')).toMatchObject({ url: expect.stringContaining('-dlq') });
    expect(client.count('GetQueueAttributes')).toBe(5);
  });
});

describe('receive', () => {
  it('long-polls with the system and message attributes named explicitly, and keeps only those asked for', async () => {
    const queue = sqs.queue('recv', { maxReceiveCount: 9, visibilityTimeout: 7 });
    await sqs.client.send(
      new SendMessageCommand({
        QueueUrl: queue.url,
        MessageBody: 'hello',
        MessageAttributes: {
          [JOB_NAME_ATTRIBUTE]: { DataType: 'String', StringValue: 'x' },
          other: { DataType: 'String', StringValue: 'y' },
        },
      }),
    );
    const client = wrapClient(sqs.client);
    const driver = sqsDriver({ client, endpoint: sqs.endpoint, queues: { q: queue.url } });
    const before = Date.now();
    const [message] = await driver.receive('q', { maxMessages: 10, waitTimeMs: 1000 });
    const input = client.calls.find((c) => c.command === 'ReceiveMessage')?.input;
    expect(input).toMatchObject({
      WaitTimeSeconds: 1,
      MaxNumberOfMessages: 10,
      MessageAttributeNames: ['glasswork.*'],
    });
    expect(input.MessageSystemAttributeNames).toEqual(
      expect.arrayContaining(['ApproximateReceiveCount', 'SentTimestamp', 'MessageGroupId']),
    );
    expect(message).toMatchObject({
      body: 'hello',
      receiveCount: 1,
      queue: 'q',
      queueUrl: queue.url,
      attributes: { [JOB_NAME_ATTRIBUTE]: 'x' },
      maxReceiveCount: 9,
    });
    expect(message?.receivedAt).toBeGreaterThanOrEqual(before);
    expect(message?.deadline).toBe((message?.receivedAt ?? 0) + 7000);
    expect(message?.sentAt).toBeLessThanOrEqual(message?.receivedAt ?? 0);

    // An emulator may hand out every attribute when the request names none; the driver still keeps only
    // what it asked for.
    const everything = wrapClient(sqs.client, (call, forward) =>
      call.command === 'ReceiveMessage'
        ? forward({ ...call.input, MessageAttributeNames: ['All'] })
        : undefined,
    );
    const again = sqsDriver({ client: everything, endpoint: sqs.endpoint, queues: { q: queue.url } });
    await driver.release('q', message!, 0);
    const [second] = await again.receive('q', { maxMessages: 1, visibilityTimeoutMs: 2000 });
    expect(second?.attributes).toEqual({ [JOB_NAME_ATTRIBUTE]: 'x' });
    expect(second?.receiveCount).toBe(2);
    expect(second?.deadline).toBe((second?.receivedAt ?? 0) + 2000);
  });

  it('passes an abort signal to the long poll', async () => {
    const queue = sqs.queue('abort');
    const driver = sqsDriver({ client: sqs.client, endpoint: sqs.endpoint });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    await expect(
      driver.receive(queue.url, { maxMessages: 1, waitTimeMs: 20_000, signal: controller.signal }),
    ).rejects.toThrow(); // a 20 s poll: without the abort, past the test's timeout
  });
});

describe('ack and release', () => {
  it('deletes acknowledgements in batches of ten', async () => {
    const queue = sqs.queue('acks');
    const client = wrapClient(sqs.client);
    const driver = sqsDriver({ client, endpoint: sqs.endpoint, queues: { q: queue.url } });
    const glass = createClient({ driver });
    await glass.enqueueMany(
      Array.from({ length: 25 }, (_, n) => ({ job: note, payload: { n }, options: { queue: 'q' } })),
    );
    const received = [];
    while (received.length < 25) received.push(...(await driver.receive('q', { maxMessages: 10 })));
    await Promise.all(received.map((m) => driver.ack('q', [m])));
    expect(client.count('DeleteMessageBatch')).toBe(3);
    expect(sqs.count(queue.name)).toBe(0);
  });

  it('retries deletes SQS failed on its side, and rejects those it refused', async () => {
    const queue = sqs.queue('ack-faults');
    let round = 0;
    const client = wrapClient(sqs.client, (call, forward) => {
      if (call.command !== 'DeleteMessageBatch') return undefined;
      round++;
      if (round === 1) return Promise.reject(sqsFault('InternalError', 500));
      if (round > 2) return undefined;
      // fauxqs reports any receipt handle as deleted; SQS reports a bad one as refused.
      const [first, second] = call.input.Entries;
      return forward({ ...call.input, Entries: [].concat(first ?? []) }).then(() => ({
        Successful: [{ Id: first.Id }],
        Failed: second
          ? [{ Id: second.Id, SenderFault: true, Code: 'ReceiptHandleIsInvalid', Message: 'bad handle' }]
          : [],
      }));
    });
    const driver = sqsDriver({
      client,
      endpoint: sqs.endpoint,
      queues: { q: queue.url },
      deleteBatchWindow: 20,
    });
    const glass = createClient({ driver });
    await glass.enqueueMany([0, 1].map((n) => ({ job: note, payload: { n }, options: { queue: 'q' } })));
    let received: Awaited<ReturnType<typeof driver.receive>> = [];
    while (received.length < 2) received = received.concat(await driver.receive('q', { maxMessages: 10 }));
    const results = await Promise.allSettled(received.map((m) => driver.ack('q', [m])));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
    const error = (results[1] as PromiseRejectedResult).reason;
    expect(error).toBeInstanceOf(SqsError);
    expect(error.sqsCode).toBe('ReceiptHandleIsInvalid');
    expect(client.count('DeleteMessageBatch')).toBe(2);
  });

  it('releases with a visibility change, and says so when the message is no longer held', async () => {
    const queue = sqs.queue('release', { visibilityTimeout: 30 });
    const driver = sqsDriver({ client: sqs.client, endpoint: sqs.endpoint, queues: { q: queue.url } });
    await createClient({ driver }).enqueue(note, { n: 1 }, { queue: 'q' });
    const [message] = await driver.receive('q', { maxMessages: 1 });
    await driver.release('q', message!, 0);
    const [again] = await driver.receive('q', { maxMessages: 1 });
    expect(again?.receiveCount).toBe(2);
    const error = await driver.release('q', message!, 5).catch((e) => e);
    expect(error).toBeInstanceOf(SqsError);
    expect(error.sqsCode).toBe('MessageNotInflight');
    expect(error.message).toContain('no longer holds it');
  });

  it('clamps a retry delay to what is left of SQS’s 12 hours from the receive', async () => {
    const queue = sqs.queue('clamp');
    const client = wrapClient(sqs.client, (call) =>
      call.command === 'ChangeMessageVisibility' ? Promise.resolve({}) : undefined,
    );
    const receivedAt = Date.now() - 11 * 3600_000;
    const seconds = await releaseMessage(client, {
      queueUrl: queue.url,
      receiptHandle: 'r',
      delayMs: 5 * 3600_000,
      receivedAt,
    });
    expect(seconds).toBeGreaterThan(3590);
    expect(seconds).toBeLessThanOrEqual(3600 - 5);
    expect(client.calls[0]?.input.VisibilityTimeout).toBe(seconds);
    expect(
      await releaseMessage(client, {
        queueUrl: queue.url,
        receiptHandle: 'r',
        delayMs: 1500,
        receivedAt: Date.now(),
      }),
    ).toBe(2);
  });
});

describe('dead-letter queues', () => {
  it('resolves the dead-letter queue from the RedrivePolicy, from configuration, or not at all', async () => {
    const fifo = sqs.queue('redriven', {
      fifo: true,
      maxReceiveCount: 6,
      dlqAttributes: { MaximumMessageSize: '8192' },
    });
    expect(await resolveDeadLetter(sqs.client, fifo.url, { endpoint: sqs.endpoint })).toEqual({
      url: `${sqs.endpoint}/000000000000/${fifo.dlq?.name}`,
      fifo: true,
      maxMessageBytes: 8192,
      maxReceiveCount: 6,
    });
    const plain = sqs.queue('no-redrive');
    const other = sqs.queue('elsewhere');
    expect(await resolveDeadLetter(sqs.client, plain.url)).toBeUndefined();
    expect(await resolveDeadLetter(sqs.client, plain.url, { deadLetter: other.url })).toMatchObject({
      url: other.url,
      fifo: false,
      maxReceiveCount: undefined,
    });
  });

  it('refuses a configured dead-letter queue of the other kind (FIFO for standard, or the reverse)', async () => {
    const standard = sqs.queue('kind-standard');
    const fifoDlq = sqs.queue('kind-dlq', { fifo: true });
    const driver = sqsDriver({
      client: sqs.client,
      endpoint: sqs.endpoint,
      queues: { q: standard.url },
      deadLetter: { q: fifoDlq.url },
    });
    await expect(driver.deadLetterTarget('q')).rejects.toThrow(
      /is standard but its dead-letter queue .* is FIFO/,
    );
  });

  it('is a clear configuration error when a queue has none, unless deadLetter is false (then dead jobs are deleted)', async () => {
    const queue = sqs.queue('lonely');
    const driver = sqsDriver({ client: sqs.client, endpoint: sqs.endpoint, queues: { q: queue.url } });
    const error = await driver.deadLetterTarget('q').catch((e) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toContain('deadLetter: false');

    const dropping = sqsDriver({
      client: sqs.client,
      endpoint: sqs.endpoint,
      queues: { q: queue.url },
      deadLetter: { q: false },
    });
    expect(await dropping.deadLetterTarget('q')).toBeUndefined();
    await createClient({ driver: dropping }).enqueue(note, { n: 1 }, { queue: 'q' });
    const [message] = await dropping.receive('q', { maxMessages: 1 });
    await dropping.deadLetter('q', message!, info());
    expect(sqs.count(queue.name)).toBe(0);
  });

  it('sends the body byte for byte with one JSON attribute, then deletes the original', async () => {
    const queue = sqs.queue('to-dlq', { maxReceiveCount: 10 });
    const driver = sqsDriver({ client: sqs.client, endpoint: sqs.endpoint, queues: { q: queue.url } });
    const body =
      '{"v":1,"id":"x","name":"odd","enqueuedAt":"2025-01-01T00:00:00.000Z","payload":"\u00e9\u4e2d\u2603  spaces \t"}';
    await sqs.client.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: body }));
    const [message] = await driver.receive('q', { maxMessages: 1 });
    await driver.deadLetter('q', message!, info({ messageId: message!.messageId }));
    const [dead] = await readDeadLetters(queue.dlq!.url);
    expect(dead?.body).toBe(body);
    expect(dead?.attributeNames).toEqual([DEAD_LETTER_ATTRIBUTE]);
    expect(dead?.info).toMatchObject({
      reason: 'permanent failure: card declined',
      error: { name: 'PermanentJobError', message: 'card declined' },
      attempts: 1,
      sourceQueue: queue.url,
      messageId: message!.messageId,
      jobId: 'job-1',
    });
    expect(sqs.count(queue.name)).toBe(0);
  });

  it('keeps the group on a FIFO dead-letter queue and deduplicates by the original message id', async () => {
    const queue = sqs.queue('fifo-dead', { fifo: true, maxReceiveCount: 10 });
    const driver = sqsDriver({ client: sqs.client, endpoint: sqs.endpoint, queues: { q: queue.url } });
    await sqs.client.send(
      new SendMessageCommand({
        QueueUrl: queue.url,
        MessageBody: 'b',
        MessageGroupId: 'tenant-1',
        MessageDeduplicationId: 'd1',
      }),
    );
    const [message] = await driver.receive('q', { maxMessages: 1 });
    const target = (await driver.deadLetterTarget('q'))!;
    await driver.deadLetter('q', message!, info({ messageId: message!.messageId }));
    // A second copy (the delete failed, the message came back) within five minutes is dropped by SQS.
    const { sendToDeadLetter } = await import('../src/index.ts');
    await sendToDeadLetter(
      sqs.client,
      target,
      { messageId: message!.messageId, body: 'b', groupId: 'tenant-1' },
      info(),
    );
    const dead = await readDeadLetters(queue.dlq!.url);
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ group: 'tenant-1', dedupe: message!.messageId });
  });

  it('cuts the attribute to fit the dead-letter queue’s size limit, keeping it valid JSON', async () => {
    const long = info({
      reason: `exhausted: ${'r'.repeat(5000)}`,
      error: { name: 'Error', message: 'é'.repeat(3000), cause: { name: 'E', message: 'c' } },
    });
    const json = deadLetterAttribute(long, 1500)!;
    expect(utf8Bytes(json)).toBeLessThanOrEqual(1500);
    const parsed = JSON.parse(json);
    expect(parsed).toMatchObject({ truncated: true, jobId: 'job-1', messageId: 'm-1', attempts: 1 });
    expect(parsed.error.cause).toBeUndefined();
    expect(parsed.reason.startsWith('exhausted: rrr')).toBe(true);
    expect(deadLetterAttribute(info(), 10_000)).toBe(JSON.stringify(info()));
    expect(JSON.parse(deadLetterAttribute(long, 120)!)).toMatchObject({ truncated: true, messageId: 'm-1' });
    expect(deadLetterAttribute(long, 20)).toBeUndefined();

    const queue = sqs.queue('small-dlq', {
      maxReceiveCount: 10,
      dlqAttributes: { MaximumMessageSize: '1024' },
    });
    const driver = sqsDriver({ client: sqs.client, endpoint: sqs.endpoint, queues: { q: queue.url } });
    await sqs.client.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: 'x'.repeat(600) }));
    const [message] = await driver.receive('q', { maxMessages: 1 });
    await driver.deadLetter('q', message!, long);
    const [dead] = await readDeadLetters(queue.dlq!.url);
    expect(dead?.info).toMatchObject({ truncated: true });
  });

  it('retries the dead-letter send in-process, and leaves the original in place when it cannot send', async () => {
    const queue = sqs.queue('dlq-faults', { maxReceiveCount: 10 });
    let sends = 0;
    let failAll = false;
    const client = wrapClient(sqs.client, (call) => {
      if (call.command !== 'SendMessage') return undefined;
      sends++;
      if (failAll) return Promise.reject(Object.assign(new Error('nope'), { name: 'AccessDenied' }));
      return sends === 1 ? Promise.reject(sqsFault('ServiceUnavailable', 503)) : undefined;
    });
    const driver = sqsDriver({ client, endpoint: sqs.endpoint, queues: { q: queue.url } });
    await createClient({ driver }).enqueueMany(
      [1, 2].map((n) => ({ job: note, payload: { n }, options: { queue: 'q' } })),
    );
    const messages = await driver.receive('q', { maxMessages: 2 });
    await driver.deadLetter('q', messages[0]!, info());
    expect(sends).toBe(2);
    failAll = true;
    const error = await driver.deadLetter('q', messages[1]!, info()).catch((e) => e);
    expect(error).toBeInstanceOf(DeadLetterError);
    expect(error.sent).toBe(false);
    expect(sends).toBe(3);
    expect(sqs.count(queue.name)).toBe(1);
    expect(sqs.count(queue.dlq!.name)).toBe(1);
  });

  it('refuses a message larger than the dead-letter queue accepts instead of cutting its body', async () => {
    const queue = sqs.queue('dlq-too-small', {
      maxReceiveCount: 10,
      dlqAttributes: { MaximumMessageSize: '1024' },
    });
    const driver = sqsDriver({ client: sqs.client, endpoint: sqs.endpoint, queues: { q: queue.url } });
    await sqs.client.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: 'x'.repeat(2000) }));
    const [message] = await driver.receive('q', { maxMessages: 1 });
    const error = await driver.deadLetter('q', message!, info()).catch((e) => e);
    expect(error).toBeInstanceOf(DeadLetterError);
    expect(error.message).toContain('raise its MaximumMessageSize');
    expect(sqs.count(queue.name)).toBe(1);
  });
});

describe('the SDK client', () => {
  it('is created on first use from region and endpoint, not when the driver is made', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
    try {
      const queue = sqs.queue('lazy');
      const driver = sqsDriver({ region: 'us-east-1', endpoint: sqs.endpoint });
      await sleep(1);
      await createClient({ driver }).enqueue(note, { n: 1 }, { queue: queue.url });
      expect(sqs.count(queue.name)).toBe(1);
      await driver.close();
    } finally {
      vi.unstubAllEnvs();
    }
    expect(() => sqsDriver({ client: sqs.client, region: 'us-east-1' })).toThrow(ConfigurationError);
  });
});
