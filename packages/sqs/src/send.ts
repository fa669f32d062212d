import type { OutgoingMessage, SendResult } from '@glasswork/core';
import type { BatchFailure, MessageAttributeValue } from './api.ts';
import { backoff, sendMessageBatch, sleep } from './api.ts';
import { SqsError, sqsErrorCode } from './errors.ts';
import type { SqsClientLike } from './types.ts';

/** SQS's most message attributes per message. */
export const MAX_MESSAGE_ATTRIBUTES = 10;
/** SQS's longest per-message delay, in seconds. */
export const MAX_DELAY_SECONDS = 900;

/** String message attributes in SQS's shape. */
export function toMessageAttributes(
  attributes: Readonly<Record<string, string>>,
): Record<string, MessageAttributeValue> | undefined {
  const names = Object.keys(attributes);
  if (names.length === 0) return undefined;
  const out: Record<string, MessageAttributeValue> = {};
  for (const name of names) out[name] = { DataType: 'String', StringValue: attributes[name] as string };
  return out;
}

/** Why SQS would refuse this message, found before sending it. */
function invalid(message: OutgoingMessage, fifo: boolean): Error | undefined {
  const count = Object.keys(message.attributes).length;
  if (count > MAX_MESSAGE_ATTRIBUTES) {
    return new SqsError(
      `Job "${message.jobName}" has ${count} message attributes; SQS allows at most ${MAX_MESSAGE_ATTRIBUTES}: put the rest in the envelope's meta`,
    );
  }
  if (fifo && !message.groupId) {
    return new SqsError(`Job "${message.jobName}" goes to a FIFO queue without a message group`);
  }
  if (fifo && message.delaySeconds > 0) {
    return new SqsError(
      `Job "${message.jobName}" asks for a delay on a FIFO queue, which SQS does not allow per message`,
    );
  }
  if (message.delaySeconds > MAX_DELAY_SECONDS) {
    return new SqsError(
      `Job "${message.jobName}" asks for a delay of ${message.delaySeconds}s; SQS holds at most ${MAX_DELAY_SECONDS}s: use @glasswork/scheduler for longer delays`,
    );
  }
  return undefined;
}

function entryError(failure: BatchFailure, note = ''): SqsError {
  const code = failure.Code ? sqsErrorCode({ Code: failure.Code }) : undefined;
  return new SqsError(
    `SQS rejected the message (${code ?? 'no code'}): ${failure.Message ?? 'no reason given'}${note}`,
    {
      sqsCode: code,
      senderFault: failure.SenderFault,
    },
  );
}

export interface SendBatchOptions {
  /** Requests in all for entries SQS failed on its side (`SenderFault: false`). @default 3 */
  attempts?: number;
}

/**
 * Sends up to 10 messages with SendMessageBatch and returns one result per message, in order. Entries that
 * SQS failed on its side are sent again under the same ids; entries it refused are not. On FIFO queues an
 * entry is never sent again after a later entry of its group went through (that would reverse their order:
 * it is reported failed instead), and once an entry of a group has failed, later entries of that group in
 * this call are not sent and are reported failed.
 */
export async function sendBatch(
  client: SqsClientLike,
  url: string,
  fifo: boolean,
  messages: readonly OutgoingMessage[],
  options: SendBatchOptions = {},
): Promise<SendResult[]> {
  const attempts = Math.max(1, options.attempts ?? 3);
  const results: (SendResult | undefined)[] = new Array(messages.length);
  let pending: number[] = [];
  messages.forEach((message, index) => {
    const problem = invalid(message, fifo);
    if (problem) results[index] = { ok: false, error: problem };
    else pending.push(index);
  });

  const group = (index: number) => (messages[index] as OutgoingMessage).groupId;
  const failedBefore = (index: number) => {
    for (let k = 0; k < index; k++) if (results[k]?.ok === false && group(k) === group(index)) return k;
    return -1;
  };
  const succeededAfter = (index: number) => {
    for (let k = index + 1; k < messages.length; k++)
      if (results[k]?.ok && group(k) === group(index)) return true;
    return false;
  };

  for (let round = 1; pending.length > 0; round++) {
    if (fifo) {
      pending = pending.filter((index) => {
        const earlier = failedBefore(index);
        if (earlier < 0) return true;
        results[index] = {
          ok: false,
          error: new SqsError(
            `not sent: an earlier message of FIFO group "${group(index)}" (job ${(messages[earlier] as OutgoingMessage).id}) failed, and sending this one would reverse their order`,
          ),
        };
        return false;
      });
      if (pending.length === 0) break;
    }

    let output: { Successful?: { Id?: string; MessageId?: string }[]; Failed?: BatchFailure[] };
    try {
      output = await sendMessageBatch(
        client,
        url,
        pending.map((index) => {
          const m = messages[index] as OutgoingMessage;
          const attributes = toMessageAttributes(m.attributes);
          return {
            Id: `m${index}`,
            MessageBody: m.body,
            ...(attributes ? { MessageAttributes: attributes } : {}),
            ...(!fifo && m.delaySeconds > 0 ? { DelaySeconds: m.delaySeconds } : {}),
            ...(m.groupId ? { MessageGroupId: m.groupId } : {}),
            ...(fifo && m.dedupeId ? { MessageDeduplicationId: m.dedupeId } : {}),
          };
        }),
      );
    } catch (error) {
      // The SDK has already retried the request itself; what it gave up on fails every entry still open.
      const failure = new SqsError(`SendMessageBatch failed: ${(error as Error)?.message ?? String(error)}`, {
        cause: error,
        sqsCode: sqsErrorCode(error),
      });
      for (const index of pending) results[index] = { ok: false, error: failure };
      break;
    }

    for (const entry of output.Successful ?? []) {
      const index = indexOf(entry.Id);
      if (index !== undefined && pending.includes(index))
        results[index] = { ok: true, messageId: entry.MessageId };
    }
    const failures = new Map<number, BatchFailure>();
    for (const entry of output.Failed ?? []) {
      const index = indexOf(entry.Id);
      if (index !== undefined) failures.set(index, entry);
    }
    const again: number[] = [];
    for (const index of pending) {
      if (results[index]) continue;
      const failure = failures.get(index) ?? {
        SenderFault: false,
        Code: 'InternalError',
        Message: 'SQS reported neither success nor failure for this entry',
      };
      if (failure.SenderFault !== false) {
        results[index] = { ok: false, error: entryError(failure) };
      } else if (fifo && succeededAfter(index)) {
        results[index] = {
          ok: false,
          error: entryError(
            failure,
            `; not sent again because a later message of FIFO group "${group(index)}" went through, and it would now arrive after it`,
          ),
        };
      } else if (round >= attempts) {
        results[index] = { ok: false, error: entryError(failure, ` (after ${round} attempts)`) };
      } else {
        again.push(index);
      }
    }
    pending = again;
    if (pending.length > 0) await sleep(backoff(round, 50, 1000));
  }
  return results as SendResult[];
}

function indexOf(id: string | undefined): number | undefined {
  if (!id?.startsWith('m')) return undefined;
  const index = Number(id.slice(1));
  return Number.isInteger(index) ? index : undefined;
}
