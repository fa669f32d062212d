import type { DeadLetterInfo } from '@glasswork/core';
import { ConfigurationError, utf8Bytes } from '@glasswork/core';
import { deleteMessage, getQueueAttributes, sendMessage, withRetries } from './api.ts';
import { DeadLetterError } from './errors.ts';
import { isQueueUrl, parseQueueArn, queueUrlFromArn } from './queues.ts';
import type { DeadLetterTarget, SqsClientLike } from './types.ts';

/** The message attribute that carries why a message was dead-lettered (JSON of `DeadLetterInfo`). */
export const DEAD_LETTER_ATTRIBUTE = 'glasswork.dead-letter';

/** SQS's largest message, the default of MaximumMessageSize since 2025. */
export const SQS_MAX_MESSAGE_BYTES = 1_048_576;

/** The source queue's RedrivePolicy, parsed. */
export function parseRedrivePolicy(
  value: string | undefined,
): { deadLetterTargetArn: string | undefined; maxReceiveCount: number | undefined } | undefined {
  if (!value) return undefined;
  try {
    const policy = JSON.parse(value) as { deadLetterTargetArn?: unknown; maxReceiveCount?: unknown };
    const count = Number(policy.maxReceiveCount);
    return {
      deadLetterTargetArn:
        typeof policy.deadLetterTargetArn === 'string' ? policy.deadLetterTargetArn : undefined,
      maxReceiveCount: Number.isInteger(count) && count > 0 ? count : undefined,
    };
  } catch {
    return undefined;
  }
}

/**
 * Finds where a queue's dead jobs go: the configured queue (a URL or ARN) if given, else the target of the
 * queue's RedrivePolicy; with the dead-letter queue's FIFO-ness and size limit, and the source's
 * `maxReceiveCount`. Returns undefined when the queue has neither.
 * IAM: `sqs:GetQueueAttributes` on the source queue and the dead-letter queue.
 */
export async function resolveDeadLetter(
  client: SqsClientLike,
  queueUrl: string,
  options: { deadLetter?: string | undefined; endpoint?: string | undefined } = {},
): Promise<DeadLetterTarget | undefined> {
  const source = await getQueueAttributes(client, queueUrl, ['RedrivePolicy']);
  const policy = parseRedrivePolicy(source.RedrivePolicy);
  const target = options.deadLetter ?? policy?.deadLetterTargetArn;
  if (!target) return undefined;
  return describeDeadLetter(client, target, policy?.maxReceiveCount, options.endpoint);
}

/**
 * The dead-letter queue at `target` (a URL or ARN), for a source queue whose redrive policy allows
 * `maxReceiveCount` receives. IAM: `sqs:GetQueueAttributes` on the dead-letter queue.
 */
export async function describeDeadLetter(
  client: SqsClientLike,
  target: string,
  maxReceiveCount: number | undefined,
  endpoint: string | undefined,
): Promise<DeadLetterTarget> {
  let url: string;
  if (isQueueUrl(target)) url = target;
  else if (parseQueueArn(target)) url = queueUrlFromArn(target, { endpoint });
  else {
    throw new ConfigurationError(
      `Dead-letter queue "${target}" is neither a queue URL nor an ARN: give its URL or ARN`,
    );
  }
  const attributes = await getQueueAttributes(client, url, ['FifoQueue', 'MaximumMessageSize']);
  return {
    url,
    fifo: attributes.FifoQueue === 'true',
    maxMessageBytes: Number(attributes.MaximumMessageSize) || SQS_MAX_MESSAGE_BYTES,
    maxReceiveCount,
  };
}

const ELLIPSIS = '…';

/** UTF-8 bytes a string takes inside JSON, without its quotes. */
const jsonBytes = (value: string): number => utf8Bytes(JSON.stringify(value)) - 2;

/** The longest prefix of `value` (in code points, marked with an ellipsis) that takes at most `bytes` in JSON. */
function cutToBytes(value: string, bytes: number): string {
  if (jsonBytes(value) <= bytes) return value;
  const points = Array.from(value);
  let low = 0;
  let high = points.length;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (jsonBytes(points.slice(0, mid).join('') + ELLIPSIS) <= bytes) low = mid;
    else high = mid - 1;
  }
  return low === 0 ? '' : points.slice(0, low).join('') + ELLIPSIS;
}

/**
 * The JSON of the dead-letter attribute, cut to fit in `maxBytes` (UTF-8): the error's cause chain goes
 * first, then the reason and the error message share what is left, and `truncated: true` says so. Returns
 * undefined when not even a minimal record fits (the body alone is near the limit).
 */
export function deadLetterAttribute(info: DeadLetterInfo, maxBytes: number): string | undefined {
  const full = JSON.stringify(info);
  if (utf8Bytes(full) <= maxBytes) return full;
  const error = info.error
    ? { name: info.error.name, message: '', ...(info.error.code ? { code: info.error.code } : {}) }
    : undefined;
  const record = { ...info, reason: '', error, truncated: true };
  const budget = maxBytes - utf8Bytes(JSON.stringify(record));
  if (budget >= 0) {
    // Each text gets half the room; what one does not need goes to the other.
    const message = info.error?.message ?? '';
    const half = Math.floor(budget / 2);
    const reasonRoom = Math.max(half, budget - Math.min(half, jsonBytes(message)));
    record.reason = cutToBytes(info.reason, reasonRoom);
    if (error) error.message = cutToBytes(message, budget - jsonBytes(record.reason));
    const json = JSON.stringify(record);
    if (utf8Bytes(json) <= maxBytes) return json;
  }
  const minimal = JSON.stringify({
    reason: cutToBytes(info.reason, 64),
    messageId: info.messageId,
    truncated: true,
  });
  return utf8Bytes(minimal) <= maxBytes ? minimal : undefined;
}

/** The received message to dead-letter. */
export interface DeadLetterMessage {
  readonly messageId: string;
  /** Sent to the dead-letter queue unchanged. */
  readonly body: string;
  /** Kept as the group on a FIFO dead-letter queue. */
  readonly groupId?: string | undefined;
}

/**
 * Sends a copy of a message to its dead-letter queue: the body byte for byte, with one message attribute,
 * `DEAD_LETTER_ATTRIBUTE`, holding the reason, error, attempts, source queue and original message id as JSON
 * (cut to fit the queue's size limit). On a FIFO dead-letter queue the original message id is the
 * deduplication id (a repeated send within five minutes is dropped) and the group is kept. Retryable
 * failures are tried again in-process. Returns the dead-letter queue's message id.
 * IAM: `sqs:SendMessage` on the dead-letter queue (and `kms:GenerateDataKey`/`kms:Decrypt` if it is
 * encrypted with a customer key).
 */
export async function sendToDeadLetter(
  client: SqsClientLike,
  target: DeadLetterTarget,
  message: DeadLetterMessage,
  info: DeadLetterInfo,
  options: { attempts?: number } = {},
): Promise<string | undefined> {
  const bodyBytes = utf8Bytes(message.body);
  if (bodyBytes > target.maxMessageBytes) {
    throw new DeadLetterError(
      `Message ${message.messageId} has ${bodyBytes} bytes but dead-letter queue ${target.url} accepts at most ${target.maxMessageBytes}: raise its MaximumMessageSize to the source queue's`,
      false,
    );
  }
  const room = target.maxMessageBytes - bodyBytes - utf8Bytes(DEAD_LETTER_ATTRIBUTE) - 'String'.length;
  const value = deadLetterAttribute(info, room);
  try {
    return await withRetries(
      () =>
        sendMessage(client, {
          url: target.url,
          body: message.body,
          attributes:
            value === undefined
              ? undefined
              : { [DEAD_LETTER_ATTRIBUTE]: { DataType: 'String', StringValue: value } },
          ...(target.fifo
            ? {
                groupId: message.groupId ?? info.jobName ?? 'glasswork-dead-letter',
                dedupeId: message.messageId,
              }
            : {}),
        }),
      { attempts: options.attempts ?? 4, baseMs: 100, maxMs: 2000 },
    );
  } catch (error) {
    throw new DeadLetterError(
      `Could not send message ${message.messageId} to dead-letter queue ${target.url}: ${(error as Error)?.message ?? error}`,
      false,
      { cause: error },
    );
  }
}

/**
 * Dead-letters a received message: `sendToDeadLetter`, then deletes the original at once (so a later
 * failure cannot run it again). If the delete fails after the copy was sent, the `DeadLetterError` has
 * `sent: true`; the original then comes back and is dead-lettered again (a FIFO dead-letter queue drops the
 * repeat within five minutes).
 * IAM: as `sendToDeadLetter`, plus `sqs:DeleteMessage` on the source queue.
 */
export async function deadLetterMessage(
  client: SqsClientLike,
  input: {
    readonly queueUrl: string;
    readonly target: DeadLetterTarget;
    readonly message: DeadLetterMessage & { readonly receiptHandle: string };
    readonly info: DeadLetterInfo;
    readonly attempts?: number;
  },
): Promise<void> {
  await sendToDeadLetter(client, input.target, input.message, input.info, { attempts: input.attempts });
  try {
    await withRetries(() => deleteMessage(client, input.queueUrl, input.message.receiptHandle), {
      attempts: input.attempts ?? 4,
    });
  } catch (error) {
    throw new DeadLetterError(
      `Message ${input.message.messageId} is in the dead-letter queue but could not be deleted from ${input.queueUrl}: ${(error as Error)?.message ?? error}`,
      true,
      { cause: error },
    );
  }
}
