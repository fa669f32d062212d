import { randomUUID } from 'node:crypto';
import type { MessageAttributeValue } from '@aws-sdk/client-sqs';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { createClient, JOB_NAME_ATTRIBUTE } from '@glasswork/core';
import { sqsDriver } from '@glasswork/sqs';
import { benchJob, envelopeBody, lanes, payload } from './jobs.ts';
import type { Sample, Scenario, SuiteOptions } from './runner.ts';
import { runSuite } from './runner.ts';
import { counting, type startEmulator } from './sqs.ts';

// Scenario 3: enqueueing `jobs` jobs against fauxqs in a child process. Every contender keeps 8 requests in
// flight (the client's default `sendConcurrency`), so the difference is the work per job and the number of
// requests, not the parallelism.

type Emulator = Awaited<ReturnType<typeof startEmulator>>;
const IN_FLIGHT = 8;

function scenario(
  emulator: Emulator,
  name: string,
  jobs: number,
  send: (client: ReturnType<typeof counting>, queueUrl: string, jobs: number) => Promise<void>,
): Scenario<{ queueUrl: string; jobs: number }> {
  return {
    name,
    setup: async (phase) => ({
      queueUrl: await emulator.queue('enqueue'),
      jobs: phase === 'warmup' ? Math.min(jobs, 1000) : jobs,
    }),
    async run({ queueUrl, jobs }): Promise<Sample> {
      const client = counting(emulator.client);
      const cpu = process.cpuUsage();
      const started = performance.now();
      await send(client, queueUrl, jobs);
      const ms = performance.now() - started;
      const used = process.cpuUsage(cpu);
      const batches = client.count('SendMessageBatch') + client.count('SendMessage');
      return {
        'jobs/s': (jobs / ms) * 1000,
        'CPU µs/job': (used.user + used.system) / jobs,
        'send requests / 1,000 jobs': (batches / jobs) * 1000,
        'other requests': client.total() - batches,
      };
    },
  };
}

async function bareLoop(
  client: ReturnType<typeof counting>,
  queueUrl: string,
  jobs: number,
  entry: (n: number) => { MessageBody: string; MessageAttributes?: Record<string, MessageAttributeValue> },
) {
  await lanes(IN_FLIGHT, Math.ceil(jobs / 10), async (batch) => {
    const Entries = [];
    for (let n = batch * 10; n < Math.min(jobs, batch * 10 + 10); n++)
      Entries.push({ Id: String(n % 10), ...entry(n) });
    const out = await client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries }));
    if (out.Failed?.length) throw new Error(`send failed: ${out.Failed[0]?.Message}`);
  });
}

export function enqueueSuite(emulator: Emulator, jobs: number, options: SuiteOptions) {
  const floor = 'bare SendMessageBatch loop';
  const entries = (jobs: number) =>
    Array.from({ length: jobs }, (_, n) => ({ job: benchJob, payload: payload(n) }));
  const glasswork = (client: ReturnType<typeof counting>, queueUrl: string) =>
    createClient({
      driver: sqsDriver({ client, endpoint: emulator.endpoint }),
      defaultQueue: queueUrl,
      sendConcurrency: IN_FLIGHT,
    });
  return runSuite(
    'enqueue',
    [
      // What one writes by hand: a JSON body with an id, ten to a request.
      scenario(emulator, floor, jobs, (client, queueUrl, jobs) =>
        bareLoop(client, queueUrl, jobs, (n) => ({
          MessageBody: JSON.stringify({ id: randomUUID(), name: benchJob.name, payload: payload(n) }),
        })),
      ),
      // The same loop sending exactly what Glasswork sends (its envelope and the job name attribute): the
      // gap from here to enqueueMany is Glasswork's own code, the gap from the floor to here its format.
      scenario(emulator, 'bare loop, Glasswork bytes', jobs, (client, queueUrl, jobs) =>
        bareLoop(client, queueUrl, jobs, (n) => ({
          MessageBody: envelopeBody(n),
          MessageAttributes: { [JOB_NAME_ATTRIBUTE]: { DataType: 'String', StringValue: benchJob.name } },
        })),
      ),
      scenario(emulator, 'Glasswork enqueueMany', jobs, async (client, queueUrl, jobs) => {
        const results = await glasswork(client, queueUrl).enqueueMany(entries(jobs));
        const failed = results.find((r) => !r.ok);
        if (failed && !failed.ok) throw failed.error;
      }),
      scenario(emulator, 'Glasswork enqueue, one call per job', jobs, async (client, queueUrl, jobs) => {
        const glass = glasswork(client, queueUrl);
        await lanes(IN_FLIGHT, jobs, async (n) => void (await glass.enqueue(benchJob, payload(n))));
      }),
    ],
    {
      ...options,
      floor: { scenario: floor, metric: 'jobs/s' },
      interleave: true,
      note:
        `${jobs.toLocaleString('en-US')} jobs per run with a 200-character payload, ${IN_FLIGHT} requests in flight; ` +
        '"other requests" are the queue look-ups a fresh client makes once (GetQueueAttributes).',
    },
  );
}
