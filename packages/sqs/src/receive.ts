import type { SqsMessage } from './api.ts';
import type { SqsReceivedMessage } from './types.ts';

/** System attributes every receive asks for: what the worker's rules and the FIFO logic read. */
export const SYSTEM_ATTRIBUTE_NAMES = [
  'ApproximateReceiveCount',
  'SentTimestamp',
  'MessageGroupId',
  'AWSTraceHeader',
] as const;

/** Whether a message attribute name is covered by the requested names (`All`, `.*`, `prefix.*`, exact). */
export function attributeRequested(name: string, requested: readonly string[]): boolean {
  for (const pattern of requested) {
    if (pattern === 'All' || pattern === '.*' || pattern === name) return true;
    if (pattern.endsWith('.*') && name.startsWith(pattern.slice(0, -1))) return true;
  }
  return false;
}

/** What a delivery takes from SQS's system attributes (a receive's `Attributes`, a Lambda record's `attributes`). */
export function systemFields(system: Readonly<Record<string, string | undefined>>): {
  receiveCount: number;
  sentAt: number | undefined;
  groupId: string | undefined;
} {
  const receiveCount = Number(system.ApproximateReceiveCount);
  const sentAt = Number(system.SentTimestamp);
  return {
    // SQS always sends the count when asked; 1 is the safe reading if not (never "past the limit").
    receiveCount: Number.isInteger(receiveCount) && receiveCount > 0 ? receiveCount : 1,
    sentAt: Number.isFinite(sentAt) ? sentAt : undefined,
    groupId: system.MessageGroupId,
  };
}

/**
 * Turns an SQS message into a delivery. Only the requested message attributes with string values are kept:
 * SQS returns just those, and an emulator that returns more must not change what the worker sees.
 */
export function toReceivedMessage(
  message: SqsMessage,
  context: {
    readonly queue: string;
    readonly queueUrl: string;
    readonly receivedAt: number;
    readonly visibilityTimeoutSeconds: number;
    readonly maxReceiveCount: number | undefined;
    readonly attributeNames: readonly string[];
  },
): SqsReceivedMessage {
  const system = message.Attributes ?? {};
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    if (typeof value?.StringValue === 'string' && attributeRequested(name, context.attributeNames)) {
      attributes[name] = value.StringValue;
    }
  }
  return {
    messageId: message.MessageId as string,
    receipt: message.ReceiptHandle as string,
    body: message.Body ?? '',
    ...systemFields(system),
    queue: context.queue,
    queueUrl: context.queueUrl,
    attributes,
    receivedAt: context.receivedAt,
    maxReceiveCount: context.maxReceiveCount,
    deadline: context.receivedAt + context.visibilityTimeoutSeconds * 1000,
  };
}
