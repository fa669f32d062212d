import type { Worker } from '@glasswork/core';
import { createClient } from '@glasswork/core';
import { createSqsHandler, runEventSourceMapping } from '@glasswork/lambda';
import { createPoller, sqsDriver } from '@glasswork/sqs';
import type { LocalSqs } from '@glasswork/sqs/local';
import { startLocalSqs } from '@glasswork/sqs/local';
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { Transport } from './end-to-end.ts';
import { expectOneTrace } from './end-to-end.ts';
import { registerContext, telemetry } from './telemetry.ts';

// The same scenario as end-to-end.test.ts, across the real SQS protocol: the trace context travels in the
// message body through the emulator, and the retry comes back after its visibility delay.
let sqs: LocalSqs;
let unregister: () => void;
beforeAll(async () => {
  unregister = registerContext();
  sqs = await startLocalSqs();
});
afterAll(async () => {
  await sqs?.stop();
  unregister();
});

let sequence = 0;
function transport(
  run: (worker: Worker<any>, queue: { name: string; url: string }) => Promise<{ stop(): Promise<void> }>,
): Transport {
  const queue = sqs.createQueue({ name: `traced-${++sequence}`, visibilityTimeout: 2, maxReceiveCount: 10 });
  const driver = sqsDriver({
    client: sqs.client,
    endpoint: sqs.endpoint,
    queues: { [queue.name]: queue.url },
  });
  const empty = () => sqs.count(queue.name) === 0;
  return {
    queue: queue.name,
    client: (plugins) => createClient({ driver, plugins }),
    async drain(worker) {
      const running = await run(worker, queue);
      const deadline = Date.now() + 20_000;
      while (!empty()) {
        if (Date.now() > deadline) throw new Error('the queue did not drain');
        await new Promise((r) => setTimeout(r, 25));
      }
      await running.stop();
    },
  };
}

describe('end to end over the SQS emulator', { timeout: 30_000 }, () => {
  it('one trace through the poller', async () => {
    await expectOneTrace(
      transport(async (worker, queue) => {
        const poller = createPoller({
          worker,
          driver: sqsDriver({
            client: sqs.client,
            endpoint: sqs.endpoint,
            queues: { [queue.name]: queue.url },
          }),
          queue: queue.name,
          waitTime: '1s',
        });
        await poller.start();
        return poller;
      }),
      telemetry(),
    );
  });

  it('one trace through the Lambda handler on the local event source mapping', async () => {
    await expectOneTrace(
      transport(async (worker, queue) =>
        runEventSourceMapping({
          client: sqs.client,
          queueUrl: queue.url,
          handler: createSqsHandler(worker, { client: sqs.client, endpoint: sqs.endpoint }),
          waitTime: '1s',
        }),
      ),
      telemetry(),
    );
  });
});
