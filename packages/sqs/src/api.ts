import type {
  ChangeMessageVisibilityBatchRequestEntry,
  DeleteMessageBatchRequestEntry,
  GetQueueAttributesCommandOutput,
  Message,
  MessageAttributeValue,
  QueueAttributeName,
  SendMessageBatchCommandOutput,
  SendMessageBatchRequestEntry,
} from '@aws-sdk/client-sqs';
import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { isRetryableSqsError } from './errors.ts';
import type { SqsClientLike } from './types.ts';

// Thin typed calls over the SDK's commands. The client is structural (`SqsClientLike`), so tests and users
// can wrap it (fault injection, request counting) and the SDK's types stay out of the public API.

export type { Message as SqsMessage, MessageAttributeValue };

export function createSqsClient(options: { region?: string | undefined; endpoint?: string | undefined }) {
  return new SQSClient({
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
  });
}

export const getQueueUrl = async (client: SqsClientLike, name: string, owner?: string): Promise<string> => {
  const out = await client.send(
    new GetQueueUrlCommand({ QueueName: name, ...(owner ? { QueueOwnerAWSAccountId: owner } : {}) }),
  );
  return out.QueueUrl as string;
};

export const getQueueAttributes = async (
  client: SqsClientLike,
  url: string,
  names: QueueAttributeName[],
): Promise<Record<string, string>> => {
  const out: GetQueueAttributesCommandOutput = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: names }),
  );
  return (out.Attributes ?? {}) as Record<string, string>;
};

export const sendMessageBatch = (
  client: SqsClientLike,
  url: string,
  entries: SendMessageBatchRequestEntry[],
): Promise<SendMessageBatchCommandOutput> =>
  client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: entries }));

export const sendMessage = async (
  client: SqsClientLike,
  input: {
    url: string;
    body: string;
    attributes?: Record<string, MessageAttributeValue> | undefined;
    groupId?: string | undefined;
    dedupeId?: string | undefined;
  },
): Promise<string | undefined> => {
  const out = await client.send(
    new SendMessageCommand({
      QueueUrl: input.url,
      MessageBody: input.body,
      ...(input.attributes ? { MessageAttributes: input.attributes } : {}),
      ...(input.groupId ? { MessageGroupId: input.groupId } : {}),
      ...(input.dedupeId ? { MessageDeduplicationId: input.dedupeId } : {}),
    }),
  );
  return out.MessageId as string | undefined;
};

export const receiveMessages = async (
  client: SqsClientLike,
  input: {
    url: string;
    max: number;
    waitSeconds: number;
    visibilitySeconds?: number | undefined;
    systemAttributes: readonly string[];
    messageAttributes: readonly string[];
    signal?: AbortSignal | undefined;
  },
): Promise<Message[]> => {
  const out = await client.send(
    new ReceiveMessageCommand({
      QueueUrl: input.url,
      MaxNumberOfMessages: input.max,
      WaitTimeSeconds: input.waitSeconds,
      ...(input.visibilitySeconds === undefined ? {} : { VisibilityTimeout: input.visibilitySeconds }),
      MessageSystemAttributeNames: [...input.systemAttributes] as never,
      MessageAttributeNames: [...input.messageAttributes],
    }),
    input.signal ? { abortSignal: input.signal } : undefined,
  );
  return out.Messages ?? [];
};

export const deleteMessage = async (client: SqsClientLike, url: string, receipt: string): Promise<void> => {
  await client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: receipt }));
};

export const deleteMessageBatch = (
  client: SqsClientLike,
  url: string,
  entries: DeleteMessageBatchRequestEntry[],
): Promise<{ Successful?: { Id?: string }[]; Failed?: BatchFailure[] }> =>
  client.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: entries }));

export const changeVisibility = async (
  client: SqsClientLike,
  url: string,
  receipt: string,
  seconds: number,
): Promise<void> => {
  await client.send(
    new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: receipt, VisibilityTimeout: seconds }),
  );
};

export const changeVisibilityBatch = (
  client: SqsClientLike,
  url: string,
  entries: ChangeMessageVisibilityBatchRequestEntry[],
): Promise<{ Successful?: { Id?: string }[]; Failed?: BatchFailure[] }> =>
  client.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: url, Entries: entries }));

/** A failed entry of a batch call. */
export interface BatchFailure {
  Id?: string | undefined;
  SenderFault?: boolean | undefined;
  Code?: string | undefined;
  Message?: string | undefined;
}

export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/** Exponential backoff with full jitter: a random delay up to `base * 2^(attempt-1)`, capped. */
export const backoff = (attempt: number, baseMs: number, maxMs: number): number =>
  Math.round(Math.random() * Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1))) + 1;

/**
 * Runs `fn`, trying again on retryable SQS errors (throttling, 5xx, resets) up to `attempts` times in all,
 * with backoff. On top of the SDK's own retries, so a short outage does not fail a delete or a dead-letter.
 */
export async function withRetries<T>(
  fn: () => Promise<T>,
  options: { attempts: number; baseMs?: number; maxMs?: number },
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= options.attempts || !isRetryableSqsError(error)) throw error;
      await sleep(backoff(attempt, options.baseMs ?? 100, options.maxMs ?? 2000));
    }
  }
}
