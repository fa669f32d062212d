import type { DriverCapabilities, OutgoingMessage, ReceivedMessage, ReceiveOptions } from '@glasswork/core';
import { ConfigurationError, parseDuration } from '@glasswork/core';
import {
  changeVisibilityBatch,
  createSqsClient,
  getQueueAttributes,
  getQueueUrl,
  receiveMessages,
  withRetries,
} from './api.ts';
import {
  deadLetterMessage,
  describeDeadLetter,
  parseRedrivePolicy,
  SQS_MAX_MESSAGE_BYTES,
} from './dead-letter.ts';
import { DeleteBatcher } from './delete-batcher.ts';
import { SqsError, sqsErrorCode } from './errors.ts';
import { isQueueName, isQueueUrl, parseQueueArn, queueUrlFromArn } from './queues.ts';
import { SYSTEM_ATTRIBUTE_NAMES, toReceivedMessage } from './receive.ts';
import { MAX_DELAY_SECONDS, sendBatch } from './send.ts';
import type {
  DeadLetterTarget,
  SqsClientLike,
  SqsDriver,
  SqsDriverOptions,
  SqsQueueInfo,
  SqsReceivedMessage,
} from './types.ts';
import { changeMessageVisibility } from './visibility.ts';

/** What SQS accepts: 10 entries and 1 MiB per SendMessageBatch, delays up to 15 minutes, none on FIFO. */
export const SQS_CAPABILITIES: DriverCapabilities = Object.freeze({
  maxBatchSize: 10,
  maxBatchBytes: SQS_MAX_MESSAGE_BYTES,
  maxDelaySeconds: MAX_DELAY_SECONDS,
  fifo: true,
  fifoDelay: false,
});

/** SQS's longest long poll. */
/** SQS's longest long poll. */
export const MAX_WAIT_SECONDS = 20;

/** Keeps one promise per key; a rejected one is forgotten, so the next call asks again. */
function cache<T>(map: Map<string, Promise<T>>, key: string, load: () => Promise<T>): Promise<T> {
  let value = map.get(key);
  if (!value) {
    value = load();
    map.set(key, value);
    value.catch(() => {
      if (map.get(key) === value) map.delete(key);
    });
  }
  return value;
}

/**
 * Creates the SQS driver. Give it to `createClient` to enqueue, and to `createPoller` (or the Lambda
 * adapter) to consume. Nothing is created or requested until the first call.
 */
export function sqsDriver(options: SqsDriverOptions = {}): SqsDriver {
  if (options.client && options.region !== undefined) {
    throw new ConfigurationError('sqsDriver: pass region to your own SQS client, not next to it');
  }
  if (options.client !== undefined && typeof options.client?.send !== 'function') {
    throw new ConfigurationError('sqsDriver: client must be an SQSClient from @aws-sdk/client-sqs (v3)');
  }
  const attempts = options.attempts ?? 3;
  if (!Number.isInteger(attempts) || attempts < 1) {
    throw new ConfigurationError(`sqsDriver: attempts must be a whole number >= 1, got ${attempts}`);
  }
  const windowMs = parseDuration(options.deleteBatchWindow ?? '5ms');
  const attributeNames = options.messageAttributeNames ?? ['glasswork.*'];
  // The SDK reads these variables itself; the driver needs the endpoint too, to turn ARNs into URLs.
  const endpoint = options.endpoint ?? process.env.AWS_ENDPOINT_URL_SQS ?? process.env.AWS_ENDPOINT_URL;
  let client = options.client;
  const ownsClient = !client;
  const getClient = (): SqsClientLike => {
    client ??= createSqsClient({ region: options.region, endpoint });
    return client;
  };

  const urls = new Map<string, Promise<string>>();
  const infos = new Map<string, Promise<SqsQueueInfo>>();
  const targets = new Map<string, Promise<DeadLetterTarget | undefined>>();
  const batchers = new Map<string, DeleteBatcher>();

  function refOf(queue: string): string {
    if (typeof queue !== 'string' || queue === '') {
      throw new ConfigurationError('sqsDriver: a queue must be a non-empty name, URL or ARN');
    }
    const configured =
      options.queues && Object.hasOwn(options.queues, queue) ? options.queues[queue] : undefined;
    if (configured !== undefined) return configured;
    if (isQueueUrl(queue) || parseQueueArn(queue)) return queue;
    if (options.queues) {
      throw new ConfigurationError(
        `Queue "${queue}" is not configured: pass queues: { ${JSON.stringify(queue)}: url } to sqsDriver`,
      );
    }
    return queue;
  }

  async function resolveRef(ref: string): Promise<string> {
    if (isQueueUrl(ref)) return ref;
    if (parseQueueArn(ref)) return queueUrlFromArn(ref, { endpoint });
    if (!isQueueName(ref)) {
      // No queue can have this name: say so now, rather than ask SQS and surface whatever it answers.
      throw new ConfigurationError(
        `"${ref}" is not an SQS queue URL, ARN or name: a name has 1 to 80 letters, digits, "-" or "_" (with ".fifo" for FIFO queues)`,
      );
    }
    try {
      return await getQueueUrl(getClient(), ref);
    } catch (error) {
      if (sqsErrorCode(error) === 'QueueDoesNotExist' || sqsErrorCode(error) === 'NonExistentQueue') {
        throw new SqsError(
          `SQS queue "${ref}" does not exist in this account and region: create it, or give its URL or ARN in queues`,
          { cause: error, sqsCode: 'QueueDoesNotExist' },
        );
      }
      throw error;
    }
  }

  const queueUrl = (queue: string): Promise<string> => {
    try {
      return cache(urls, queue, () => resolveRef(refOf(queue)));
    } catch (error) {
      return Promise.reject(error);
    }
  };

  const describeQueue = (queue: string): Promise<SqsQueueInfo> =>
    cache(infos, queue, async () => {
      const url = await queueUrl(queue);
      const attributes = await withRetries(
        () =>
          getQueueAttributes(getClient(), url, [
            'FifoQueue',
            'MaximumMessageSize',
            'RedrivePolicy',
            'VisibilityTimeout',
            'QueueArn',
          ]),
        { attempts },
      );
      const policy = parseRedrivePolicy(attributes.RedrivePolicy);
      return {
        url,
        arn: attributes.QueueArn,
        fifo: attributes.FifoQueue === 'true',
        maxMessageBytes: Number(attributes.MaximumMessageSize) || SQS_MAX_MESSAGE_BYTES,
        maxReceiveCount: policy?.maxReceiveCount,
        visibilityTimeoutSeconds: Number(attributes.VisibilityTimeout) || 30,
        deadLetterTargetArn: policy?.deadLetterTargetArn,
      };
    });

  function configuredDeadLetter(queue: string): string | false | undefined {
    const setting = options.deadLetter;
    if (setting === undefined || setting === false || typeof setting === 'string') return setting;
    return Object.hasOwn(setting, queue) ? setting[queue] : undefined;
  }

  const deadLetterTarget = (queue: string): Promise<DeadLetterTarget | undefined> =>
    cache(targets, queue, async () => {
      const configured = configuredDeadLetter(queue);
      if (configured === false) return undefined;
      // The source's redrive policy comes with its description (cached): only the dead-letter queue is new.
      const source = await describeQueue(queue);
      const ref = configured === undefined ? source.deadLetterTargetArn : await resolveRef(configured);
      const target =
        ref === undefined
          ? undefined
          : await withRetries(() => describeDeadLetter(getClient(), ref, source.maxReceiveCount, endpoint), {
              attempts,
            });
      if (!target) {
        throw new ConfigurationError(
          `Queue "${queue}" has no dead-letter queue: give it a RedrivePolicy (maxReceiveCount at least the jobs' maxAttempts + 5), ` +
            `pass deadLetter: { ${JSON.stringify(queue)}: url } to sqsDriver, or deadLetter: false to delete dead jobs`,
        );
      }
      // SQS forbids a redrive between FIFO and standard queues; a configured one would fail on every dead job.
      if (source.fifo !== target.fifo) {
        throw new ConfigurationError(
          `Queue "${queue}" is ${source.fifo ? 'FIFO' : 'standard'} but its dead-letter queue ${target.url} is ${target.fifo ? 'FIFO' : 'standard'}: ` +
            'give a FIFO queue a FIFO dead-letter queue, and a standard queue a standard one',
        );
      }
      return target;
    });

  function batcher(url: string): DeleteBatcher {
    let b = batchers.get(url);
    if (!b) {
      b = new DeleteBatcher(getClient, url, { windowMs, attempts });
      batchers.set(url, b);
    }
    return b;
  }

  async function ack(queue: string, messages: readonly ReceivedMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const b = batcher(await queueUrl(queue));
    const settled = await Promise.allSettled(messages.map((m) => b.delete(m.receipt)));
    const failed = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed.length === 1) throw failed[0]?.reason;
    if (failed.length > 1) {
      throw new SqsError(`${failed.length} of ${messages.length} messages could not be deleted`, {
        cause: new AggregateError(failed.map((f) => f.reason)),
      });
    }
  }

  const driver: SqsDriver = {
    name: 'sqs',
    capabilities: SQS_CAPABILITIES,
    client: getClient,
    queueUrl,
    describeQueue,
    deadLetterTarget,

    async send(queue: string, messages: readonly OutgoingMessage[]) {
      const info = await describeQueue(queue);
      return sendBatch(getClient(), info.url, info.fifo, messages, { attempts });
    },

    async receive(queue: string, opts: ReceiveOptions): Promise<SqsReceivedMessage[]> {
      const info = await describeQueue(queue);
      const max = Math.min(10, Math.max(1, Math.floor(opts.maxMessages)));
      const waitSeconds = Math.min(MAX_WAIT_SECONDS, Math.max(0, Math.round((opts.waitTimeMs ?? 0) / 1000)));
      const visibility =
        opts.visibilityTimeoutMs === undefined ? undefined : Math.ceil(opts.visibilityTimeoutMs / 1000);
      const messages = await receiveMessages(getClient(), {
        url: info.url,
        max,
        waitSeconds,
        visibilitySeconds: visibility,
        systemAttributes: SYSTEM_ATTRIBUTE_NAMES,
        messageAttributes: attributeNames,
        signal: opts.signal,
      });
      const receivedAt = Date.now();
      return messages.map((message) =>
        toReceivedMessage(message, {
          queue,
          queueUrl: info.url,
          receivedAt,
          visibilityTimeoutSeconds: visibility ?? info.visibilityTimeoutSeconds,
          maxReceiveCount: info.maxReceiveCount,
          attributeNames,
        }),
      );
    },

    ack,

    async release(queue: string, message: ReceivedMessage, delaySeconds: number) {
      await changeMessageVisibility(getClient(), {
        queueUrl: await queueUrl(queue),
        receiptHandle: message.receipt,
        seconds: delaySeconds,
        messageId: message.messageId,
        attempts,
      });
    },

    async deadLetter(queue, message, info) {
      const target = await deadLetterTarget(queue);
      const url = await queueUrl(queue);
      if (!target) return ack(queue, [message]);
      await deadLetterMessage(getClient(), {
        queueUrl: url,
        target,
        message: {
          messageId: message.messageId,
          body: message.body,
          groupId: message.groupId,
          receiptHandle: message.receipt,
        },
        info: { ...info, sourceQueue: url },
        attempts: attempts + 1,
      });
    },

    async extendVisibility(queue, messages, seconds) {
      const url = await queueUrl(queue);
      const failures: { message: ReceivedMessage; error: Error }[] = [];
      for (let start = 0; start < messages.length; start += 10) {
        const chunk = messages.slice(start, start + 10);
        try {
          const out = await withRetries(
            () =>
              changeVisibilityBatch(
                getClient(),
                url,
                chunk.map((m, i) => ({ Id: `v${i}`, ReceiptHandle: m.receipt, VisibilityTimeout: seconds })),
              ),
            { attempts },
          );
          for (const failure of out.Failed ?? []) {
            const message = chunk[Number(failure.Id?.slice(1))];
            if (!message) continue;
            failures.push({
              message,
              error: new SqsError(
                `Could not extend the visibility of message ${message.messageId} (${failure.Code}): ${failure.Message ?? ''}`,
                { sqsCode: sqsErrorCode(failure), senderFault: failure.SenderFault },
              ),
            });
          }
        } catch (error) {
          const failure = error instanceof Error ? error : new SqsError(String(error));
          for (const message of chunk) failures.push({ message, error: failure });
        }
      }
      return failures;
    },

    async close() {
      await Promise.all([...batchers.values()].map((b) => b.flush()));
      if (ownsClient) (client as { destroy?: () => void } | undefined)?.destroy?.();
    },
  };
  return driver;
}
