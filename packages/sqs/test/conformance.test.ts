import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { queueDriverTestSuite } from '@glasswork/driver-test-suite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEAD_LETTER_ATTRIBUTE, sqsDriver } from '../src/index.ts';
import type { Sqs } from './helpers.ts';
import { sleep, startSqs } from './helpers.ts';

let sqs: Sqs;
beforeAll(async () => {
  sqs = await startSqs();
});
afterAll(() => sqs.close());

// Each test gets its own queues (each with a dead-letter queue), so the tests run concurrently.
queueDriverTestSuite(
  { it: it.concurrent, expect, describe },
  () => {
    const standard = sqs.queue('suite', { maxReceiveCount: 10, attributes: { MaximumMessageSize: '65536' } });
    const fifo = sqs.queue('suite', { fifo: true, maxReceiveCount: 10 });
    const dlqs = new Map([standard, fifo].map((q) => [q.url, q.dlq!.url]));
    const driver = sqsDriver({ client: sqs.client, endpoint: sqs.endpoint });
    return {
      driver,
      queues: { standard: standard.url, fifo: fifo.url },
      async deadLetters(queue) {
        const out = await sqs.client.send(
          new ReceiveMessageCommand({
            QueueUrl: dlqs.get(queue),
            MaxNumberOfMessages: 10,
            MessageAttributeNames: ['All'],
          }),
        );
        return (out.Messages ?? []).map((m) => ({
          body: m.Body ?? '',
          reason: JSON.parse(m.MessageAttributes?.[DEAD_LETTER_ATTRIBUTE]?.StringValue ?? '{}').reason,
        }));
      },
      close: () => driver.close(),
    };
  },
  {
    name: 'sqs on fauxqs',
    advance: async (ms) => void (await sleep(ms)),
    capabilities: {
      maxBatchSize: 10,
      maxBatchBytes: 1_048_576,
      maxDelaySeconds: 900,
      fifo: true,
      fifoDelay: false,
    },
    visibilityTimeoutMs: 1000,
  },
);
