import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Duration } from '@glasswork/core';
import { createClient, parseDuration } from '@glasswork/core';
import { createSqsHandler, runEventSourceMapping } from '@glasswork/lambda';
import { otelPlugin } from '@glasswork/otel';
import { pinoPlugin } from '@glasswork/pino';
import { DEAD_LETTER_ATTRIBUTE, sqsDriver } from '@glasswork/sqs';
import { pino } from 'pino';
import * as jobs from './jobs.ts';
import { prettyLines } from './pretty.ts';
import type { DemoQueues } from './queues.ts';
import { FUNCTION_TIMEOUT, localQueues, remoteQueues } from './queues.ts';
import type { JobStats } from './stats.ts';
import { countRequests, jobStats } from './stats.ts';
import type { SpanSummary } from './telemetry.ts';
import { startTelemetry, summariseSpans, traceTree } from './telemetry.ts';
import { createDemoWorker } from './worker.ts';

export interface DemoOptions {
  /** Thumbnails the fan-out job enqueues with `enqueueMany`. @default 100 */
  jobs?: number;
  /** Delay of the delayed job. @default '3s' */
  delay?: Duration;
  /** Invocations at once per queue (the mapping's maximum concurrency). @default 5 */
  concurrency?: number;
  /** Records per invocation (the mapping's batch size). @default 10 */
  batchSize?: number;
  /** An SQS endpoint (LocalStack, or SQS itself) instead of the emulator in this process. */
  endpoint?: string;
  /** @default AWS_REGION, else 'us-east-1' */
  region?: string;
  /** With `endpoint`: leave the queues there afterwards. @default false */
  keepQueues?: boolean;
  /** @default 'pretty' */
  logs?: 'pretty' | 'json' | 'none';
  /** Every log line, debug included, and the thumbnails' lines. @default false */
  verbose?: boolean;
  /** Give up waiting after this long. @default '60s' */
  timeout?: Duration;
  /** ANSI colours in pretty logs. @default false */
  color?: boolean;
  /** Where the header, logs and progress go. @default console.log */
  print?: (line: string) => void;
  /** How often progress is printed. @default '1s' */
  progressEvery?: Duration;
}

/** What the demo saw; `formatSummary` prints it. */
export interface DemoSummary {
  /** Every job reached its end (success or the dead-letter queue) before the timeout. */
  readonly complete: boolean;
  readonly expected: number;
  readonly wallMs: number;
  readonly where: string;
  readonly jobs: readonly JobStats[];
  /** What the dead-letter queue holds, read back from it, with the reason attribute. */
  readonly deadLetters: readonly { readonly job: string; readonly reason: string }[];
  /** The order ledger entries ran in, per account (FIFO group). */
  readonly ledger: Readonly<Record<string, readonly number[]>>;
  readonly lambda: {
    readonly invocations: number;
    readonly records: number;
    readonly failedInvocations: number;
  };
  /** SQS requests by action, from the client's middleware, up to the end of the run. */
  readonly requests: Readonly<Record<string, number>>;
  readonly spans: SpanSummary;
  /** The trace of the job that was retried twice. */
  readonly trace: readonly string[];
}

const ACCOUNTS = ['acct-ada', 'acct-grace'];
const ENTRIES_PER_ACCOUNT = 4;

/**
 * Runs the demo: queues with dead-letter queues, the SQS driver, the worker behind `createSqsHandler` under
 * a local event source mapping per queue, pino and OpenTelemetry attached, and a mix of jobs.
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoSummary> {
  const started = Date.now();
  const print = options.print ?? ((line: string) => console.log(line));
  const count = options.jobs ?? 100;
  const region = options.region ?? process.env.AWS_REGION ?? 'us-east-1';
  const queues: DemoQueues = options.endpoint
    ? await remoteQueues({ endpoint: options.endpoint, region, keep: options.keepQueues ?? false })
    : await localQueues();
  const requests = countRequests(queues.client);
  const telemetry = startTelemetry();
  try {
    const logs = options.logs ?? 'pretty';
    const destination =
      logs === 'pretty'
        ? prettyLines({
            print,
            color: options.color ?? false,
            quietJobs: options.verbose ? undefined : new Set([jobs.makeThumbnail.name]),
          })
        : { write: (line: string) => print(line.trimEnd()) };
    const logger = pino(
      { level: logs === 'none' ? 'silent' : options.verbose ? 'debug' : 'info', base: undefined },
      destination,
    );

    const stats = jobStats();
    const tracing = otelPlugin({ tracerProvider: telemetry.tracerProvider });
    const logging = pinoPlugin({ logger });
    const driver = sqsDriver({
      client: queues.client,
      ...(queues.endpoint ? { endpoint: queues.endpoint } : {}),
      queues: { jobs: queues.jobs.url, 'ledger.fifo': queues.ledger.url },
    });
    const client = createClient({ driver, plugins: [tracing, logging, stats.plugin] });
    const ledger: Record<string, number[]> = {};
    const worker = createDemoWorker({
      client,
      tracing,
      logging,
      stats: stats.plugin,
      onLedgerEntry: (account, seq) => {
        ledger[account] = [...(ledger[account] ?? []), seq];
      },
    });

    // The deployed function's handler, unchanged, and a local stand-in for Lambda's SQS trigger per queue.
    const handler = createSqsHandler(worker, { driver });
    const mappings = [queues.jobs, queues.ledger].map((queue) =>
      runEventSourceMapping({
        client: queues.client,
        queueUrl: queue.url,
        handler,
        batchSize: options.batchSize ?? 10,
        concurrency: options.concurrency ?? 5,
        timeout: FUNCTION_TIMEOUT,
        waitTime: '20s',
      }),
    );
    print(`Queues on ${queues.where}:`);
    print(
      `  ${queues.jobs.name} and ${queues.ledger.name}, each with a dead-letter queue and a redrive policy`,
    );
    print(
      `Worker: createSqsHandler(worker) under runEventSourceMapping, ${options.concurrency ?? 5} invocations ` +
        `per queue, ${options.batchSize ?? 10} records each; plugins: otel, pino, stats`,
    );
    print('');

    // The producer: what an API would enqueue.
    await client.enqueue(jobs.importAlbum, { albumId: 'album-7', count });
    await client.enqueue(jobs.syncCustomer, { customerId: 'cus-42' });
    await client.enqueue(jobs.chargeCard, { orderId: 'ord-9', cents: 12_900 });
    await client.enqueueMany(
      Array.from({ length: ENTRIES_PER_ACCOUNT * ACCOUNTS.length }, (_, i) => ({
        job: jobs.postLedgerEntry,
        payload: {
          account: ACCOUNTS[i % ACCOUNTS.length] as string,
          seq: Math.floor(i / ACCOUNTS.length) + 1,
          cents: 100 * (i + 1),
        },
      })),
    );
    await client.enqueueIn(jobs.sendReminder, options.delay ?? '3s', { userId: 'user-5' });
    const expected = count + 4 + ENTRIES_PER_ACCOUNT * ACCOUNTS.length;

    const lambda = () => ({
      invocations: mappings.reduce((n, m) => n + m.stats.invocations, 0),
      records: mappings.reduce((n, m) => n + m.stats.records, 0),
      failedInvocations: mappings.reduce((n, m) => n + m.stats.failedInvocations, 0),
    });
    const complete = await waitFor(
      () => stats.finished() >= expected,
      parseDuration(options.timeout ?? '60s'),
      parseDuration(options.progressEvery ?? '1s'),
      () => {
        const all = [...stats.byJob.values()];
        const sum = (key: 'retried' | 'dead') => all.reduce((n, s) => n + s[key], 0);
        print(
          `progress  ${((Date.now() - started) / 1000).toFixed(1)} s  ${stats.finished()}/${expected} done · ${sum('retried')} retried · ` +
            `${sum('dead')} dead-lettered · ${lambda().invocations} Lambda invocations`,
        );
      },
    );
    const requestsMade = { ...requests };
    await Promise.all(mappings.map((m) => m.stop()));

    const deadLetters = await readDeadLetters(queues);
    const spans = telemetry.spans();
    return {
      complete,
      expected,
      wallMs: Date.now() - started,
      where: queues.where,
      jobs: [...stats.byJob.values()],
      deadLetters,
      ledger,
      lambda: lambda(),
      requests: requestsMade,
      spans: summariseSpans(spans),
      trace: traceTree(spans, jobs.syncCustomer.name),
    };
  } finally {
    await telemetry.shutdown();
    await queues.stop();
  }
}

async function waitFor(
  done: () => boolean,
  timeoutMs: number,
  everyMs: number,
  progress: () => void,
): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  let nextProgress = Date.now() + everyMs;
  while (!done()) {
    if (Date.now() > until) return false;
    if (Date.now() >= nextProgress) {
      progress();
      nextProgress += everyMs;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  progress();
  return true;
}

/** Reads the dead-letter queue back: the reason travels with each message as an attribute. */
async function readDeadLetters(queues: DemoQueues): Promise<{ job: string; reason: string }[]> {
  const { Messages = [] } = await queues.client.send(
    new ReceiveMessageCommand({
      QueueUrl: queues.jobs.deadLetterUrl,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 1,
      MessageAttributeNames: ['All'],
    }),
  );
  return Messages.map((message) => {
    const info = JSON.parse(message.MessageAttributes?.[DEAD_LETTER_ATTRIBUTE]?.StringValue ?? '{}') as {
      jobName?: string;
      reason?: string;
    };
    return { job: info.jobName ?? '?', reason: info.reason ?? '(no reason attribute)' };
  });
}
