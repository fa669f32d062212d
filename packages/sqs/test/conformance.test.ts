import { queueDriverTestSuite } from '@glasswork/driver-test-suite';
import { describe, expect, it } from 'vitest';
import { sqsDriver } from '../src/index.ts';
import { sleep, useSqs } from './helpers.ts';

const sqs = useSqs();

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
      deadLetters: async (queue) =>
        (await sqs.peek(dlqs.get(queue) as string)).map((m) => ({
          body: m.body,
          reason: m.deadLetter?.reason,
        })),
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
