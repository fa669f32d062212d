import {
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { isRetryableSqsError, sqsErrorCode } from '@glasswork/sqs';
import type { LocalSqs } from '@glasswork/sqs/local';
import { startLocalSqs } from '@glasswork/sqs/local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FaultMix, FaultProxy } from '../src/fault-proxy.ts';
import { NO_FAULTS, startFaultProxy } from '../src/fault-proxy.ts';

let sqs: LocalSqs;
const proxies: FaultProxy[] = [];
beforeAll(async () => {
  sqs = await startLocalSqs();
});
afterAll(async () => {
  await Promise.all(proxies.map((p) => p.stop()));
  await sqs?.stop();
});

let n = 0;
async function through(mix: Partial<FaultMix>, seed = 7) {
  const proxy = await startFaultProxy({ target: sqs.endpoint, mix: { ...NO_FAULTS, ...mix }, seed });
  proxies.push(proxy);
  // One attempt: the test sees each fault itself instead of the SDK's retry of it.
  const client = new SQSClient({
    endpoint: proxy.endpoint,
    region: sqs.region,
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    maxAttempts: 1,
  });
  const queue = sqs.createQueue({ name: `proxy-${++n}`, maxReceiveCount: false });
  const send = () => client.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: 'hello' }));
  const stored = () => sqs.server.inspectQueue(queue.name)?.messages.ready.length ?? 0;
  return { proxy, client, queue, send, stored };
}

describe('fault proxy', () => {
  it('passes requests through untouched without faults', async () => {
    const t = await through({});
    await t.send();
    const out = await t.client.send(new ReceiveMessageCommand({ QueueUrl: t.queue.url }));
    expect(out.Messages?.[0]?.Body).toBe('hello');
    expect(t.proxy.counts.get('SendMessage')?.pass).toBe(1);
  });

  it('answers throttling in SQS’s shape, which the SDK and the driver see as retryable; nothing is carried out', async () => {
    const t = await through({ throttle: 1 });
    const error = await t.send().catch((e: unknown) => e);
    expect(['RequestThrottled', 'ThrottlingException']).toContain(sqsErrorCode(error));
    expect((error as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode).toBe(400);
    expect(isRetryableSqsError(error)).toBe(true);
    expect(t.stored()).toBe(0);
  });

  it('answers 500 InternalError; nothing is carried out', async () => {
    const t = await through({ serverError: 1 });
    const error = await t.send().catch((e: unknown) => e);
    expect(sqsErrorCode(error)).toBe('InternalError');
    expect(isRetryableSqsError(error)).toBe(true);
    expect(t.stored()).toBe(0);
  });

  it('drops the connection before the request reaches SQS', async () => {
    const t = await through({ drop: 1 });
    await expect(t.send()).rejects.toThrow();
    expect(t.stored()).toBe(0);
  });

  it('loses the answer of a request SQS carried out', async () => {
    const t = await through({ loseResponse: 1 });
    await expect(t.send()).rejects.toThrow();
    expect(t.stored()).toBe(1);
  });

  it('holds an answer back for the delay', async () => {
    const t = await through({ delay: 1, delayMs: [300, 300] });
    const started = performance.now();
    await t.send();
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect(t.stored()).toBe(1);
  });

  it('meets the n-th request of an action with the same fault on every run of a seed', async () => {
    const mix = { drop: 0.2, throttle: 0.2, serverError: 0.2, loseResponse: 0.2 };
    const kinds = async (seed: number) => {
      const t = await through(mix, seed);
      const seen: string[] = [];
      for (let i = 0; i < 40; i++) {
        const error = await t.client
          .send(new GetQueueAttributesCommand({ QueueUrl: t.queue.url, AttributeNames: ['All'] }))
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        seen.push(error === undefined ? 'ok' : (sqsErrorCode(error) ?? 'network'));
      }
      return seen.join(' ');
    };
    const first = await kinds(42);
    expect(await kinds(42)).toBe(first);
    expect(await kinds(43)).not.toBe(first);
  });
});
