import type { Duration, Outcome, Worker } from '@glasswork/core';
import {
  applyOutcome,
  ConfigurationError,
  GlassworkError,
  JobInterruptedError,
  parseDuration,
  processBatch,
} from '@glasswork/core';
import type { QueueRef, SqsClientLike, SqsDriver, SqsReceivedMessage } from '@glasswork/sqs';
import { sqsDriver } from '@glasswork/sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { isActionable, toDelivery } from './records.ts';

export interface SqsHandlerOptions {
  /** The SQS driver that applies outcomes. @default `sqsDriver({ client, region, endpoint, deadLetter })`, created on first need */
  driver?: SqsDriver;
  /** SQS client for the driver the handler creates. @default one created on first need */
  client?: SqsClientLike;
  /** Region of the client the handler creates. @default the Lambda's region (AWS_REGION) */
  region?: string;
  /** SQS endpoint (LocalStack, an emulator); also turns queue ARNs into URLs. */
  endpoint?: string;
  /** Where dead jobs go, as `sqsDriver`'s option; `false` deletes them. @default each queue's RedrivePolicy target */
  deadLetter?: false | QueueRef | Readonly<Record<string, QueueRef | false>>;
  /** Records run at once; on FIFO queues, groups at once, each group in order. @default 10 */
  concurrency?: number;
  /**
   * A record starts only if more than its job's `timeout` plus this is left before the invocation's
   * deadline, and running handlers are aborted this long before it. @default '3s'
   */
  deadlineMargin?: Duration;
  /** The handler returns this long before the deadline, with unfinished records reported failed. @default '500ms' */
  hardMargin?: Duration;
  /**
   * The mapping's `MaximumBatchingWindowInSeconds`: records may have been received this long before the
   * invocation, which shortens the visibility SQS still allows them (12 hours from the receive). @default 0
   */
  batchingWindow?: Duration;
  /**
   * Throw when no record of a batch succeeded, so Lambda counts an error (its Errors metric, and the
   * mapping's backoff) instead of a partial failure. Outcomes are applied before it throws. @default false
   */
  throwOnFullBatchFailure?: boolean;
}

/** Thrown (with `throwOnFullBatchFailure`) when no record of a batch succeeded. */
export class FullBatchFailureError extends GlassworkError {
  override readonly code: string = 'FULL_BATCH_FAILURE';
}

/**
 * The Lambda handler for an SQS trigger. Runs every record through `worker` (FIFO groups in order),
 * applies each outcome during the invocation (retries and deferrals set the message's visibility, dead
 * jobs go to the dead-letter queue with their reason and are deleted, discarded ones are deleted) and
 * answers with `batchItemFailures`. The mapping needs `FunctionResponseTypes: [ReportBatchItemFailures]`.
 */
export function createSqsHandler(
  worker: Worker<any>,
  options: SqsHandlerOptions = {},
): (event: SQSEvent, context: Context) => Promise<SQSBatchResponse> {
  const deadlineMargin = parseDuration(options.deadlineMargin ?? '3s');
  const hardMargin = parseDuration(options.hardMargin ?? '500ms');
  const batchingWindow = parseDuration(options.batchingWindow ?? 0);
  if (hardMargin >= deadlineMargin) {
    throw new ConfigurationError(
      `createSqsHandler: hardMargin (${hardMargin}ms) must be shorter than deadlineMargin (${deadlineMargin}ms), so handlers are aborted before the handler returns`,
    );
  }
  const concurrency = options.concurrency ?? 10;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new ConfigurationError(
      `createSqsHandler: concurrency must be a whole number >= 1, got ${concurrency}`,
    );
  }
  if (
    options.driver &&
    (options.client || options.region || options.endpoint || options.deadLetter !== undefined)
  ) {
    throw new ConfigurationError(
      'createSqsHandler: pass client, region, endpoint and deadLetter to your driver, not beside it',
    );
  }
  let checkedTimeouts = false;
  // Created on first need, so bad driver options surface on the first invocation, inside its error handling.
  let driver = options.driver;
  const getDriver = (): SqsDriver => {
    driver ??= sqsDriver({
      ...(options.client ? { client: options.client } : {}),
      ...(options.region === undefined ? {} : { region: options.region }),
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      ...(options.deadLetter === undefined ? {} : { deadLetter: options.deadLetter }),
    });
    return driver;
  };

  return async (event, context) => {
    const started = Date.now();
    const deadline = started + context.getRemainingTimeInMillis();
    const records: SQSRecord[] = Array.isArray(event?.Records) ? event.Records : [];
    // Every record counts as failed until its outcome is applied: whatever is unfinished at the
    // deadline, or lost to a crash, comes back.
    const failures = new Set<string>();
    const byQueue = new Map<string, SQSRecord[]>();
    for (const record of records) {
      if (typeof record?.messageId === 'string') failures.add(record.messageId);
      if (!isActionable(record)) continue;
      const list = byQueue.get(record.eventSourceARN);
      if (list) list.push(record);
      else byQueue.set(record.eventSourceARN, [record]);
    }
    if (byQueue.size === 0) return response(failures);

    const abort = new AbortController();
    // Stops the batch at the hard stop: records not started by then stay in batchItemFailures, so nothing
    // runs after the response (in a thawed sandbox, that would be the next invocation).
    const stop = new AbortController();
    const timers: NodeJS.Timeout[] = [];
    const at = (time: number, fn: () => void) => timers.push(setTimeout(fn, Math.max(0, time - Date.now())));
    at(deadline - deadlineMargin, () =>
      abort.abort(new JobInterruptedError('deadline', 'the Lambda invocation is about to time out')),
    );
    const hardStop = new Promise<'deadline'>((resolve) =>
      at(deadline - hardMargin, () => {
        stop.abort();
        resolve('deadline');
      }),
    );

    const runQueue = async (arn: string, list: SQSRecord[]) => {
      const d = getDriver();
      const info = await d.describeQueue(arn);
      await d.deadLetterTarget(arn); // no dead-letter queue (and no `deadLetter: false`) is a configuration error
      const deliveries = list.map((record) =>
        toDelivery(record, {
          queueUrl: info.url,
          receivedAt: started - batchingWindow,
          maxReceiveCount: info.maxReceiveCount,
          deadline: deadline - deadlineMargin,
          signal: abort.signal,
        }),
      );
      await processBatch(worker, deliveries, {
        fifo: info.fifo,
        concurrency,
        signal: stop.signal,
        onApplyError: (error) => void worker.emit('receiveError', { error, queue: info.url }),
        // The deadline above already has the margin taken off.
        runOptions: () => ({ startMargin: 0 }),
        apply: async (delivery: SqsReceivedMessage, outcome, result): Promise<Outcome | undefined> => {
          // Lambda deletes what is not in batchItemFailures: an ack costs no call.
          if (outcome.type === 'ack') {
            failures.delete(delivery.messageId);
            return undefined;
          }
          const applied = await applyOutcome(d, arn, delivery, result, {
            onError: (error) => void worker.emit('receiveError', { error, queue: info.url }),
          });
          // Deleted during the invocation; reported done too, so a later failure of the batch cannot
          // run them again.
          const deleted =
            applied.type === 'dead' ||
            applied.type === 'discard' ||
            (applied.type === 'retry' && applied.handedOff);
          if (deleted) failures.delete(delivery.messageId);
          return applied;
        },
      });
    };
    const work = (async () => {
      // Setup that fails (an async plugin, the dead-letter lookup) throws: Lambda retries the whole batch
      // and the next invocation tries the setup again. It runs under the hard stop too.
      await worker.ready();
      if (!checkedTimeouts) {
        checkedTimeouts = true;
        const tooLong = tooLongFor(worker, deadline - started, deadlineMargin);
        if (tooLong) void worker.emit('receiveError', { error: tooLong });
      }
      await Promise.all([...byQueue].map(([arn, list]) => runQueue(arn, list)));
    })();
    work.catch(() => {});

    try {
      await Promise.race([work, hardStop]);
    } catch (error) {
      await worker.emit('receiveError', { error, queue: records[0]?.eventSourceARN });
      throw error;
    } finally {
      for (const timer of timers) clearTimeout(timer);
    }
    // Exporters send what they hold before the sandbox freezes, within what is left of the invocation.
    let flushTimer: NodeJS.Timeout | undefined;
    await Promise.race([
      worker.flush(),
      new Promise<void>((resolve) => {
        flushTimer = setTimeout(resolve, Math.max(0, deadline - Date.now() - 50));
      }),
    ]);
    // A pending timer per invocation would hold its closure until the deadline: clear it.
    clearTimeout(flushTimer);
    if (options.throwOnFullBatchFailure && failures.size === records.length) {
      throw new FullBatchFailureError(`No record of the batch of ${records.length} succeeded`);
    }
    return response(failures);
  };
}

/**
 * Jobs whose timeout plus the margin exceeds the whole invocation never start before their last receive
 * (each invocation releases them): said once, on the first invocation, where the logs will show it.
 */
function tooLongFor(
  worker: Worker<any>,
  invocationMs: number,
  margin: number,
): ConfigurationError | undefined {
  const names = worker
    .jobs()
    .filter((job) => (worker.timeoutOf(job.name) ?? 0) + margin >= invocationMs)
    .map((job) => `"${job.name}" (timeout ${worker.timeoutOf(job.name) ?? 0}ms)`);
  if (names.length === 0) return undefined;
  return new ConfigurationError(
    `Jobs ${names.join(', ')} cannot start in a ${invocationMs}ms invocation with a ${margin}ms deadlineMargin: ` +
      'raise the function timeout above the job timeout plus the margin, or lower the job timeout',
  );
}

function response(failures: Set<string>): SQSBatchResponse {
  return { batchItemFailures: [...failures].map((itemIdentifier) => ({ itemIdentifier })) };
}
