import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Duration } from '@glasswork/core';
import { ConfigurationError, parseDuration } from '@glasswork/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

/** The handler a mapping invokes: what `createSqsHandler` returns, or any SQS-triggered Lambda handler. */
export type SqsLambdaHandler = (
  event: SQSEvent,
  context: Context,
  // biome-ignore lint/suspicious/noConfusingVoidType: @types/aws-lambda's SQSHandler returns void
) => Promise<SQSBatchResponse | undefined | void>;

export interface EventSourceMappingOptions {
  /** The queue to poll. */
  queueUrl: string;
  handler: SqsLambdaHandler;
  /** SQS endpoint (the emulator, LocalStack); ignored when `client` is given. */
  endpoint?: string;
  /** @default 'us-east-1', or the region in the endpoint's queue URL */
  region?: string;
  /** An SQS client to use instead of creating one. */
  client?: SQSClient;
  /** Records per invocation, as the mapping's `BatchSize`. @default 10 */
  batchSize?: number;
  /** Wait this long to fill a batch, as `MaximumBatchingWindowInSeconds`. @default 0 */
  maximumBatchingWindow?: Duration;
  /** Invocations at once, as the mapping's maximum concurrency. @default 1 */
  concurrency?: number;
  /** The function timeout: the context's deadline, and when an invocation counts as failed. @default '30s' */
  timeout?: Duration;
  /** Long-poll wait of each receive. @default '20s' */
  waitTime?: Duration;
  /** Function name in the context. @default 'local-function' */
  functionName?: string;
}

/** Counters of a running mapping. */
export interface EventSourceMappingStats {
  invocations: number;
  records: number;
  /** Records deleted because the invocation reported them done. */
  deleted: number;
  /** Records left for the queue to deliver again (in `batchItemFailures`, or the whole batch of a failed invocation). */
  returned: number;
  /** Invocations that threw, timed out or answered with an invalid response. */
  failedInvocations: number;
  /** Errors of receive and delete calls (retried). */
  pollErrors: number;
}

export interface EventSourceMapping {
  readonly stats: Readonly<EventSourceMappingStats>;
  /** The last error of a receive, delete or setup call (all are retried with backoff), if any. */
  readonly lastError: unknown;
  /** Stops polling, waits for invocations in flight, then resolves. */
  stop(): Promise<void>;
}

/**
 * Polls an SQS queue and invokes `handler` the way Lambda's SQS event source mapping does, for running a
 * deployed handler locally and for end-to-end tests: batches of records, a context with a real deadline,
 * successes deleted, `batchItemFailures` left to come back after their visibility timeout, and a thrown,
 * timed-out or malformed invocation treated as a failure of the whole batch.
 *
 * Unlike Lambda, a timed-out handler is not frozen: it keeps running in this process.
 */
export function runEventSourceMapping(options: EventSourceMappingOptions): EventSourceMapping {
  const batchSize = options.batchSize ?? 10;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
    throw new ConfigurationError(`batchSize must be 1 to 10000, got ${batchSize}`);
  }
  const windowMs = parseDuration(options.maximumBatchingWindow ?? 0);
  if (batchSize > 10 && windowMs === 0) {
    throw new ConfigurationError('A batchSize above 10 needs a maximumBatchingWindow, as on Lambda');
  }
  const timeoutMs = parseDuration(options.timeout ?? '30s');
  const waitSeconds = Math.min(20, Math.round(parseDuration(options.waitTime ?? '20s') / 1000));
  const concurrency = options.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new ConfigurationError(`concurrency must be a whole number >= 1, got ${concurrency}`);
  }
  const stats: EventSourceMappingStats = {
    invocations: 0,
    records: 0,
    deleted: 0,
    returned: 0,
    failedInvocations: 0,
    pollErrors: 0,
  };
  const stopping = new AbortController();
  let lastError: unknown;
  let sdk: Promise<SqsSdk> | undefined;
  const load = () => {
    sdk ??= loadSdk(options);
    return sdk;
  };

  async function receiveBatch(s: SqsSdk, arn: string, region: string): Promise<SQSRecord[]> {
    const records: SQSRecord[] = [];
    const until = Date.now() + windowMs;
    do {
      const response = await s.client.send(
        new s.ReceiveMessageCommand({
          QueueUrl: options.queueUrl,
          MaxNumberOfMessages: Math.min(10, batchSize - records.length),
          WaitTimeSeconds:
            records.length === 0
              ? waitSeconds
              : Math.max(0, Math.min(waitSeconds, Math.ceil((until - Date.now()) / 1000))),
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
        { abortSignal: stopping.signal },
      );
      for (const message of response.Messages ?? []) records.push(toRecord(message, arn, region));
      if ((response.Messages ?? []).length === 0 && records.length > 0) break;
    } while (records.length < batchSize && Date.now() < until && !stopping.signal.aborted);
    return records;
  }

  async function invoke(s: SqsSdk, records: SQSRecord[]): Promise<void> {
    stats.invocations++;
    stats.records += records.length;
    const started = Date.now();
    const context = lambdaContext(options.functionName ?? 'local-function', started + timeoutMs);
    let timer: NodeJS.Timeout | undefined;
    let failed: Set<string> | 'all';
    try {
      const response = await Promise.race([
        options.handler({ Records: records }, context),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`Task timed out after ${timeoutMs / 1000} seconds`)),
            timeoutMs,
          );
        }),
      ]);
      failed = failuresOf(response, records);
    } catch {
      failed = 'all';
    } finally {
      clearTimeout(timer);
    }
    if (failed === 'all') {
      stats.failedInvocations++;
      stats.returned += records.length;
      return;
    }
    const done = records.filter((r) => !failed.has(r.messageId));
    stats.returned += records.length - done.length;
    for (let i = 0; i < done.length; i += 10) {
      const entries = done
        .slice(i, i + 10)
        .map((r, j) => ({ Id: String(j), ReceiptHandle: r.receiptHandle }));
      try {
        const result = await s.client.send(
          new s.DeleteMessageBatchCommand({ QueueUrl: options.queueUrl, Entries: entries }),
        );
        stats.deleted += result.Successful?.length ?? 0;
        stats.pollErrors += result.Failed?.length ?? 0;
      } catch {
        // As on Lambda: an undeleted record comes back after its visibility timeout.
        stats.pollErrors++;
      }
    }
  }

  async function lane(): Promise<void> {
    let s: SqsSdk | undefined;
    let arn = '';
    let region = '';
    let backoff = 100;
    // Setup (the SDK, the queue's ARN) is tried again with backoff, counted and kept as lastError, rather than
    // ending the lane silently: a wrong queue URL shows up in `stats` and `lastError`.
    while (!s && !stopping.signal.aborted) {
      try {
        const sdk = await load();
        ({ arn, region } = await sdk.queue());
        s = sdk;
      } catch (error) {
        stats.pollErrors++;
        lastError = error;
        await sleep(backoff, stopping.signal);
        backoff = Math.min(backoff * 2, 5000);
      }
    }
    if (!s) return;
    backoff = 100;
    while (!stopping.signal.aborted) {
      let records: SQSRecord[];
      try {
        records = await receiveBatch(s, arn, region);
        backoff = 100;
      } catch (error) {
        if (stopping.signal.aborted) break;
        stats.pollErrors++;
        lastError = error;
        await sleep(backoff, stopping.signal);
        backoff = Math.min(backoff * 2, 5000);
        continue;
      }
      if (records.length > 0) await invoke(s, records);
    }
  }

  const lanes = Promise.all(Array.from({ length: concurrency }, lane));
  lanes.catch(() => {});
  return {
    stats,
    get lastError() {
      return lastError;
    },
    async stop() {
      stopping.abort();
      await lanes.catch(() => {});
      if (!options.client && sdk) (await sdk.catch(() => undefined))?.client.destroy();
    },
  };
}

interface SqsSdk {
  client: SQSClient;
  ReceiveMessageCommand: typeof import('@aws-sdk/client-sqs').ReceiveMessageCommand;
  DeleteMessageBatchCommand: typeof import('@aws-sdk/client-sqs').DeleteMessageBatchCommand;
  queue(): Promise<{ arn: string; region: string }>;
}

async function loadSdk(options: EventSourceMappingOptions): Promise<SqsSdk> {
  const sdk = await import('@aws-sdk/client-sqs');
  const client =
    options.client ??
    new sdk.SQSClient({
      endpoint: options.endpoint,
      region: options.region ?? 'us-east-1',
      ...(options.endpoint ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
    });
  let queue: Promise<{ arn: string; region: string }> | undefined;
  return {
    client,
    ReceiveMessageCommand: sdk.ReceiveMessageCommand,
    DeleteMessageBatchCommand: sdk.DeleteMessageBatchCommand,
    queue() {
      queue ??= client
        .send(new sdk.GetQueueAttributesCommand({ QueueUrl: options.queueUrl, AttributeNames: ['QueueArn'] }))
        .then((r) => {
          const arn = r.Attributes?.QueueArn;
          if (!arn) throw new ConfigurationError(`Queue ${options.queueUrl} reported no QueueArn`);
          return { arn, region: arn.split(':')[3] ?? options.region ?? 'us-east-1' };
        });
      // A failed lookup is asked again next time, not cached.
      queue.catch(() => {
        queue = undefined;
      });
      return queue;
    },
  };
}

type SdkMessage = NonNullable<import('@aws-sdk/client-sqs').ReceiveMessageResult['Messages']>[number];

function toRecord(message: SdkMessage, arn: string, region: string): SQSRecord {
  const attributes = (message.Attributes ?? {}) as Record<string, string>;
  const messageAttributes: SQSRecord['messageAttributes'] = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    messageAttributes[name] = {
      dataType: value.DataType ?? 'String',
      ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
      ...(value.BinaryValue !== undefined
        ? { binaryValue: Buffer.from(value.BinaryValue).toString('base64') }
        : {}),
    };
  }
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      ...(attributes.MessageGroupId ? { MessageGroupId: attributes.MessageGroupId } : {}),
      ...(attributes.MessageDeduplicationId
        ? { MessageDeduplicationId: attributes.MessageDeduplicationId }
        : {}),
      ...(attributes.SequenceNumber ? { SequenceNumber: attributes.SequenceNumber } : {}),
    },
    messageAttributes,
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: arn,
    awsRegion: region,
  };
}

/** Lambda's rules: a response naming a record not in the batch, or without an id, fails the whole batch. */
function failuresOf(
  // biome-ignore lint/suspicious/noConfusingVoidType: what an SQSHandler may resolve to
  response: SQSBatchResponse | undefined | void,
  records: SQSRecord[],
): Set<string> | 'all' {
  const items = response?.batchItemFailures;
  if (items === undefined || items === null) return new Set();
  if (!Array.isArray(items)) return 'all';
  const ids = new Set(records.map((r) => r.messageId));
  const failed = new Set<string>();
  for (const item of items) {
    const id = (item as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || !ids.has(id)) return 'all';
    failed.add(id);
  }
  return failed;
}

function lambdaContext(functionName: string, deadline: number): Context {
  const requestId = crypto.randomUUID();
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `local/${requestId}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

/** Waits `ms`, or less when `signal` aborts first. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
