import type { SqsReceivedMessage } from '@glasswork/sqs';
import { systemFields } from '@glasswork/sqs';
import type { SQSRecord } from 'aws-lambda';

export interface RecordContext {
  /** The source queue's URL. */
  readonly queueUrl: string;
  /** When the records were received, epoch ms: the invocation start less the batching window. */
  readonly receivedAt: number;
  readonly maxReceiveCount: number | undefined;
  /** When handlers must be done: the invocation's deadline less the margin. */
  readonly deadline: number;
  readonly signal: AbortSignal;
}

/** The queue name of an SQS ARN (`arn:<partition>:sqs:<region>:<account>:<name>`), for logs and metrics. */
export function queueNameOf(arn: string): string {
  return arn.slice(arn.lastIndexOf(':') + 1) || arn;
}

/** Whether a record can be acted on: it needs an id to report, a receipt and a source queue. */
export function isActionable(record: SQSRecord): boolean {
  return (
    typeof record?.messageId === 'string' &&
    record.messageId !== '' &&
    typeof record.receiptHandle === 'string' &&
    typeof record.eventSourceARN === 'string'
  );
}

/** Turns an SQS record of a Lambda event into a delivery the worker runs and the SQS driver acts on. */
export function toDelivery(record: SQSRecord, context: RecordContext): SqsReceivedMessage {
  const system = (record.attributes ?? {}) as unknown as Readonly<Record<string, string | undefined>>;
  const attributes: Record<string, string> = {};
  const given = record.messageAttributes;
  if (given) {
    for (const name in given) {
      const value = given[name]?.stringValue;
      if (typeof value === 'string') attributes[name] = value;
    }
  }
  return {
    messageId: record.messageId,
    receipt: record.receiptHandle,
    body: typeof record.body === 'string' ? record.body : '',
    ...systemFields(system),
    queue: queueNameOf(record.eventSourceARN),
    queueUrl: context.queueUrl,
    attributes,
    receivedAt: context.receivedAt,
    maxReceiveCount: context.maxReceiveCount,
    deadline: context.deadline,
    signal: context.signal,
  };
}
