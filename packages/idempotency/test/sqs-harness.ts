import type { Worker } from '@glasswork/core';
import { createClient, definePlugin } from '@glasswork/core';
import { createSqsHandler, runEventSourceMapping } from '@glasswork/lambda';
import { createPoller, sqsDriver } from '@glasswork/sqs';
import type { LocalSqs } from '@glasswork/sqs/local';
import type { Applied, QueueHarness } from './scenarios.ts';

let sequence = 0;

/**
 * The scenarios' harness on the SQS emulator: the real driver, and the worker run by the poller or by the
 * Lambda handler through the local event source mapping. One-second visibility, a three-second lock.
 */
export function sqsHarness(sqs: LocalSqs, consumer: 'poller' | 'lambda'): QueueHarness {
  const queue = sqs.createQueue({
    name: `idem-${consumer}-${++sequence}`,
    visibilityTimeout: 1,
    maxReceiveCount: 20,
  });
  const driver = sqsDriver({
    client: sqs.client,
    endpoint: sqs.endpoint,
    queues: { [queue.name]: queue.url },
  });
  const applied: Applied[] = [];
  const recorder = definePlugin({
    name: 'recorder',
    setup(hooks) {
      for (const event of ['success', 'duplicate', 'retry', 'defer', 'dead', 'discard'] as const) {
        hooks.on(event, ({ ctx, outcome }) => void applied.push({ jobId: ctx.jobId, outcome }));
      }
    },
  });
  const count = (name: string) => sqs.count(name);

  async function start(worker: Worker<any>): Promise<{ stop(): Promise<void> }> {
    if (consumer === 'lambda') {
      return runEventSourceMapping({
        client: sqs.client,
        queueUrl: queue.url,
        handler: createSqsHandler(worker, { driver }),
        waitTime: '1s',
        timeout: '30s',
      });
    }
    // Heartbeats keep messages for up to 12 hours: the plugin's lock must still end after lockTimeout.
    const poller = createPoller({
      worker,
      driver,
      queue: queue.name,
      waitTime: '1s',
      visibilityTimeout: '1s',
    });
    await poller.start();
    return poller;
  }

  return {
    label: consumer === 'lambda' ? 'Lambda handler on the emulator' : 'poller on the emulator',
    queue: queue.name,
    client: createClient({ driver }),
    driver,
    now: Date.now,
    async run(worker) {
      const from = applied.length;
      const running = await start(worker);
      const deadline = Date.now() + 30_000;
      while (count(queue.name) > 0) {
        if (Date.now() > deadline) throw new Error(`${queue.name} did not drain`);
        await new Promise((r) => setTimeout(r, 25));
      }
      await running.stop();
      return applied.slice(from);
    },
    deadLetters: async () => count(queue.deadLetter!.name),
    lockTimeoutMs: 3000,
    plugins: [recorder],
  };
}
