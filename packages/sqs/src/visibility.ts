import { visibilitySeconds } from '@glasswork/core';
import { changeVisibility, withRetries } from './api.ts';
import { isMessageGone, SqsError, sqsErrorCode } from './errors.ts';
import type { SqsClientLike } from './types.ts';

/**
 * Makes a received message visible again after `seconds` (0: at once), trying again on retryable errors.
 * A message whose receipt is no longer valid (its visibility ran out, or it was deleted) fails with an
 * `SqsError` saying so. IAM: `sqs:ChangeMessageVisibility` on the queue.
 */
export async function changeMessageVisibility(
  client: SqsClientLike,
  input: { queueUrl: string; receiptHandle: string; seconds: number; messageId?: string; attempts?: number },
): Promise<void> {
  try {
    await withRetries(() => changeVisibility(client, input.queueUrl, input.receiptHandle, input.seconds), {
      attempts: input.attempts ?? 3,
    });
  } catch (error) {
    const code = sqsErrorCode(error);
    const gone = isMessageGone(code);
    const which = input.messageId ? `message ${input.messageId}` : 'the message';
    throw new SqsError(
      gone
        ? `Could not change the visibility of ${which}: this consumer no longer holds it (its visibility timeout ran out, or it was deleted), so it will be received again`
        : `Could not change the visibility of ${which}: ${(error as Error)?.message ?? error}`,
      { cause: error, sqsCode: code },
    );
  }
}

/**
 * Applies a `retry` or `defer` delay: the message becomes visible again after `delayMs`, in whole seconds
 * and clamped (with core's `visibilitySeconds`) so it stays within SQS's 12 hours from the receive.
 * Returns the seconds applied.
 */
export async function releaseMessage(
  client: SqsClientLike,
  input: {
    queueUrl: string;
    receiptHandle: string;
    delayMs: number;
    receivedAt: number | undefined;
    messageId?: string;
    attempts?: number;
  },
): Promise<number> {
  const seconds = visibilitySeconds(input.delayMs, { receivedAt: input.receivedAt });
  await changeMessageVisibility(client, { ...input, seconds });
  return seconds;
}
