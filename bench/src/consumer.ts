import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { createWorker } from '@glasswork/core';
import { createPoller, sqsDriver } from '@glasswork/sqs';
import { Consumer } from 'sqs-consumer';
import { benchJob } from './jobs.ts';
import type { Sample, Scenario, SuiteOptions } from './runner.ts';
import { runSuite } from './runner.ts';
import { counting, type startEmulator } from './sqs.ts';

// Scenario 2: consumer throughput against fauxqs in a child process. Every contender drains a fresh queue
// of the same Glasswork envelopes, parses each body and runs a noop handler; a run ends when every id has
// been seen and every message deleted. Ids seen twice are counted, and a run that misses one fails.

type Emulator = Awaited<ReturnType<typeof startEmulator>>;
type Counting = ReturnType<typeof counting>;

interface Consume {
  /** Starts consuming; `seen(id)` must be called once per message handled. */
  start(client: Counting, queueUrl: string, seen: (id: string) => void): Promise<void> | void;
  stop(): Promise<void> | void;
}

const TIMEOUT_MS = 120_000;
/** Enough for the JIT and the connections; the measured runs use the full count. */
const WARMUP_MESSAGES = 2_000;

function scenario(
  emulator: Emulator,
  name: string,
  messages: number,
  make: () => Consume,
): Scenario<{ queueUrl: string; messages: number }> {
  return {
    name,
    async setup(phase) {
      const queueUrl = await emulator.queue('consume');
      const count = phase === 'warmup' ? WARMUP_MESSAGES : messages;
      await emulator.fill(queueUrl, count);
      return { queueUrl, messages: count };
    },
    async run({ queueUrl, messages }): Promise<Sample> {
      const client = counting(emulator.client);
      const counts = new Map<string, number>();
      let duplicates = 0;
      const seen = (id: string) => {
        const before = counts.get(id) ?? 0;
        if (before > 0) duplicates++;
        counts.set(id, before + 1);
      };
      const consumer = make();
      const cpu = process.cpuUsage();
      const emulatorCpu = emulator.cpuMs();
      const started = performance.now();
      await consumer.start(client, queueUrl, seen);
      while (counts.size < messages || client.deleted < messages) {
        if (performance.now() - started > TIMEOUT_MS) {
          await consumer.stop();
          throw new Error(`${name}: ${counts.size} of ${messages} ids seen, ${client.deleted} deleted`);
        }
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      const ms = performance.now() - started;
      const used = process.cpuUsage(cpu);
      const emulatorMs = emulator.cpuMs() - emulatorCpu;
      await consumer.stop();
      return {
        'msgs/s': (messages / ms) * 1000,
        'CPU µs/msg': (used.user + used.system) / messages,
        'emulator CPU %': (emulatorMs / ms) * 100,
        'requests / 1,000 msgs': (client.total() / messages) * 1000,
        'deletes / 1,000 msgs':
          ((client.count('DeleteMessage') + client.count('DeleteMessageBatch')) / messages) * 1000,
        'ids seen twice': duplicates,
      };
    },
  };
}

const idOf = (body: string | undefined): string => (JSON.parse(body ?? '{}') as { id: string }).id;
const noop = (_payload: unknown) => {};

/** The floor: `lanes` loops of ReceiveMessage (10), parse, noop, DeleteMessageBatch. */
function bareLoop(lanes: number): Consume {
  let running = true;
  let loops: Promise<void>[] = [];
  return {
    start(client, queueUrl, seen) {
      const loop = async () => {
        while (running) {
          const out = await client.send(
            new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
          );
          const messages: Message[] = out.Messages ?? [];
          if (messages.length === 0) continue;
          for (const m of messages) {
            const body = JSON.parse(m.Body as string) as { id: string; payload: unknown };
            noop(body.payload);
            seen(body.id);
          }
          await client.send(
            new DeleteMessageBatchCommand({
              QueueUrl: queueUrl,
              Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
            }),
          );
        }
      };
      loops = Array.from({ length: lanes }, loop);
    },
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

function glassworkPoller(concurrency: number, emulator: Emulator): Consume {
  let poller: ReturnType<typeof createPoller> | undefined;
  return {
    async start(client, queueUrl, seen) {
      const worker = createWorker().handle(benchJob, (payload, ctx) => {
        noop(payload);
        seen(ctx.jobId);
      });
      poller = createPoller({
        worker,
        driver: sqsDriver({ client, endpoint: emulator.endpoint }),
        queue: queueUrl,
        concurrency,
        waitTime: '1s',
        handleSignals: false,
      });
      await poller.start();
    },
    stop: () => poller?.stop(),
  };
}

function sqsConsumer(consumers: number, batch: boolean): Consume {
  let running: Consumer[] = [];
  let stopping = false;
  return {
    start(client, queueUrl, seen) {
      running = Array.from({ length: consumers }, () => {
        const consumer = Consumer.create({
          queueUrl,
          sqs: client as unknown as SQSClient,
          batchSize: 10,
          waitTimeSeconds: 1,
          ...(batch
            ? {
                handleMessageBatch: async (messages) => {
                  for (const m of messages) seen(idOf(m.Body));
                  return messages;
                },
              }
            : {
                handleMessage: async (m) => {
                  seen(idOf(m.Body));
                  return m;
                },
              }),
        });
        // Its receive in flight is aborted on stop, which it reports as an error.
        consumer.on('error', (error) => {
          if (!stopping) console.error(`sqs-consumer: ${error.message}`);
        });
        consumer.start();
        return consumer;
      });
    },
    async stop() {
      stopping = true;
      await Promise.all(
        running.map(
          (c) =>
            new Promise<void>((resolve) => {
              c.once('stopped', () => resolve());
              c.stop({ abort: true });
            }),
        ),
      );
    },
  };
}

export function consumerSuite(emulator: Emulator, messages: number, options: SuiteOptions) {
  const floor = 'bare receive/delete loop';
  const scenarios = [
    scenario(emulator, floor, messages, () => bareLoop(1)),
    scenario(emulator, 'bare receive/delete loop ×4', messages, () => bareLoop(4)),
    scenario(emulator, 'Glasswork poller, concurrency 10', messages, () => glassworkPoller(10, emulator)),
    scenario(emulator, 'Glasswork poller, concurrency 40', messages, () => glassworkPoller(40, emulator)),
    scenario(emulator, 'sqs-consumer handleMessage ×1', messages, () => sqsConsumer(1, false)),
    scenario(emulator, 'sqs-consumer handleMessage ×4', messages, () => sqsConsumer(4, false)),
    scenario(emulator, 'sqs-consumer handleMessageBatch ×1', messages, () => sqsConsumer(1, true)),
    scenario(emulator, 'sqs-consumer handleMessageBatch ×4', messages, () => sqsConsumer(4, true)),
  ];
  return runSuite('consumer', scenarios, {
    ...options,
    floor: { scenario: floor, metric: 'msgs/s' },
    interleave: true,
    note:
      `${messages.toLocaleString('en-US')} messages per run on a fresh queue of fauxqs (a child process); ` +
      'batches of 10, long polls of 1 s, a noop handler; sqs-consumer with batchSize 10.',
  });
}
