import { createClient, createWorker, defineJob } from '@glasswork/core';
import { expect, it } from 'vitest';
import { createPoller, sqsDriver } from '../src/index.ts';
import { eventually, useSqs, wrapClient } from './helpers.ts';

const sqs = useSqs();

it('10,000 jobs through enqueueMany and the poller: every id exactly once, in 1,000 send requests', async () => {
  const job = defineJob<{ n: number }>({ name: 'count' });
  const queue = sqs.queue('scale', { maxReceiveCount: 10 });
  const counting = wrapClient(sqs.client);
  const driver = sqsDriver({ client: counting, endpoint: sqs.endpoint, queues: { scale: queue.url } });
  const client = createClient({ driver, defaultQueue: 'scale' });

  const results = await client.enqueueMany(
    Array.from({ length: 10_000 }, (_, n) => ({ job, payload: { n } })),
  );
  expect(results.filter((r) => !r.ok)).toEqual([]);
  expect(counting.count('SendMessageBatch')).toBe(1000);

  const seen = new Map<string, number>();
  const worker = createWorker().handle(
    job,
    (_p, ctx) => void seen.set(ctx.jobId, (seen.get(ctx.jobId) ?? 0) + 1),
  );
  const poller = createPoller({
    worker,
    driver,
    queue: 'scale',
    concurrency: 50,
    waitTime: '1s',
    handleSignals: false,
  });
  await poller.start();
  await eventually(() => poller.stats.outcomes.ack === 10_000, 60_000);
  await poller.stop();

  expect(seen.size).toBe(10_000);
  expect([...seen.values()].every((count) => count === 1)).toBe(true);
  expect(new Set(results.map((r) => r.id))).toEqual(new Set(seen.keys()));
  expect(sqs.count(queue.name)).toBe(0);
  expect(poller.stats.received).toBe(10_000);
  // Deletes go ten to a request (a few partial batches when the queue runs dry are fine).
  expect(counting.count('DeleteMessageBatch')).toBeLessThan(1300);
}, 90_000);
