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
  let url: string;
  if (isQueueUrl(target)) url = target;
  else if (parseQueueArn(target)) url = queueUrlFromArn(target, { endpoint: options.endpoint });
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
    maxReceiveCount: policy?.maxReceiveCount,
  };
}

const ELLIPSIS = '…';

/** Cuts a string to at most `chars` code points, marking the cut. */
function cut(value: string, chars: number): string {
  const points = Array.from(value);
  if (points.length <= chars) return value;
  return points.slice(0, Math.max(0, chars - 1)).join('') + ELLIPSIS;
}

/**
 * The JSON of the dead-letter attribute, cut to fit in `maxBytes` (UTF-8): first the error's cause chain
 * goes, then the reason and the error message are shortened, and `truncated: true` says so. Returns
 * undefined when not even a minimal record fits (the body alone is near the limit).
 */
export function deadLetterAttribute(info: DeadLetterInfo, maxBytes: number): string | undefined {
  const record: Record<string, unknown> = { ...info, error: info.error ? { ...info.error } : undefined };
  let json = JSON.stringify(record);
  if (utf8Bytes(json) <= maxBytes) return json;
  record.truncated = true;
  const error = record.error as { message: string; cause?: unknown; stack?: unknown } | undefined;
  if (error) {
    delete error.cause;
    delete error.stack;
  }
  for (;;) {
    json = JSON.stringify(record);
    const excess = utf8Bytes(json) - maxBytes;
    if (excess <= 0) return json;
    // Shorten the longer free-text field: each code point cut saves at least one byte of JSON.
    const holders: [Record<string, unknown>, string][] = [[record, 'reason']];
    if (error) holders.push([error as unknown as Record<string, unknown>, 'message']);
    const lengths = holders.map(([holder, key]) => Array.from(String(holder[key] ?? '')).length);
    const pick = lengths[1] !== undefined && lengths[1] > (lengths[0] as number) ? 1 : 0;
    const length = lengths[pick] as number;
    if (length <= 1) break;
    const [holder, key] = holders[pick] as [Record<string, unknown>, string];
    holder[key] = cut(String(holder[key]), Math.max(0, length - excess - 4));
  }
  const minimal = JSON.stringify({
    reason: cut(info.reason, 64),
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
