import { createClient, createWorker, defineJob } from '@glasswork/core';
import { createPoller, sqsDriver } from '@glasswork/sqs';
import type { Scenario } from './runner.ts';
import { runScenarios } from './runner.ts';
import { counting, startEmulator } from './sqs.ts';

// Requests per 1,000 jobs and poller throughput of @glasswork/sqs, against fauxqs running in a child
// process. `pnpm bench` (or `node --import ./src/register.ts src/main.ts [runs]`).

const runs = Number(process.argv[2] ?? 5);
const job = defineJob<{ n: number; text: string }>({ name: 'bench' });
const payload = (n: number) => ({ n, text: 'x'.repeat(200) });
const emulator = await startEmulator();

function producer(queue: string) {
  const client = counting(emulator.client);
  const driver = sqsDriver({ client, endpoint: emulator.endpoint });
  return { client, glass: createClient({ driver, defaultQueue: queue }) };
}

const enqueueMany: Scenario<{ queue: string }> = {
  name: 'enqueueMany, 1,000 jobs',
  setup: async () => ({ queue: await emulator.queue('many') }),
  async run({ queue }) {
    const { client, glass } = producer(queue);
    await glass.ready();
    const started = performance.now();
    const results = await glass.enqueueMany(
      Array.from({ length: 1000 }, (_, n) => ({ job, payload: payload(n) })),
    );
    const ms = performance.now() - started;
    if (results.some((r) => !r.ok)) throw new Error('an enqueue failed');
    return {
      'requests / 1,000 jobs': client.total(),
      'SendMessageBatch / 1,000': client.counts.get('SendMessageBatch') ?? 0,
      'jobs/s': (1000 / ms) * 1000,
    };
  },
};

const enqueueEach: Scenario<{ queue: string }> = {
  name: 'enqueue ×1,000 (one call each)',
  setup: async () => ({ queue: await emulator.queue('each') }),
  async run({ queue }) {
    const { client, glass } = producer(queue);
    const started = performance.now();
    await Promise.all(Array.from({ length: 1000 }, (_, n) => glass.enqueue(job, payload(n))));
    const ms = performance.now() - started;
    return {
      'requests / 1,000 jobs': client.total(),
      'SendMessageBatch / 1,000': client.counts.get('SendMessageBatch') ?? 0,
      'jobs/s': (1000 / ms) * 1000,
    };
  },
};

function pollerScenario(concurrency: number, messages: number): Scenario<{ queue: string }> {
  return {
    name: `poller, concurrency ${concurrency}, ${messages.toLocaleString('en-US')} msgs`,
    async setup() {
      const queue = await emulator.queue(`poll-${concurrency}`);
      const { glass } = producer(queue);
      const results = await glass.enqueueMany(
        Array.from({ length: messages }, (_, n) => ({ job, payload: payload(n) })),
      );
      if (results.some((r) => !r.ok)) throw new Error('an enqueue failed');
      return { queue };
    },
    async run({ queue }) {
      const client = counting(emulator.client);
      const driver = sqsDriver({ client, endpoint: emulator.endpoint });
      let done = 0;
      let resolve: () => void = () => {};
      const finished = new Promise<void>((r) => {
        resolve = r;
      });
      const worker = createWorker().handle(job, () => {
        if (++done === messages) resolve();
      });
      const poller = createPoller({
        worker,
        driver,
        queue,
        concurrency,
        waitTime: '1s',
        handleSignals: false,
      });
      await poller.start();
      client.reset();
      const started = performance.now();
      await finished;
      // Wait for the last deletes: the throughput counts jobs done and acknowledged.
      while (poller.stats.outcomes.ack < messages) await new Promise((r) => setTimeout(r, 1));
      const ms = performance.now() - started;
      const requests = client.total();
      await poller.stop();
      return {
        'msgs/s': (messages / ms) * 1000,
        'requests / 1,000 jobs': (requests / messages) * 1000,
        'ReceiveMessage / 1,000': ((client.counts.get('ReceiveMessage') ?? 0) / messages) * 1000,
        'DeleteMessageBatch / 1,000': ((client.counts.get('DeleteMessageBatch') ?? 0) / messages) * 1000,
      };
    },
  };
}

try {
  await runScenarios('sqs', [enqueueMany, enqueueEach, pollerScenario(10, 5000), pollerScenario(50, 5000)], {
    runs,
  });
} finally {
  emulator.close();
}
