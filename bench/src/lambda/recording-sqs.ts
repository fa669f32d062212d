import type { SqsClientLike } from '@glasswork/sqs';
import { QUEUE_ARN } from './events.ts';

const DLQ_ARN = `${QUEUE_ARN}-dlq`;

/**
 * An SQS client that answers in memory: the queue's attributes (a redrive policy to a dead-letter queue)
 * and ChangeMessageVisibility, counting every call by operation. Anything else is an error, so the
 * benchmark cannot quietly measure a path it did not mean to.
 */
export function recordingSqs(): SqsClientLike & { readonly calls: Map<string, number> } {
  const calls = new Map<string, number>();
  return {
    calls,
    async send(command: { constructor: { name: string }; input: { QueueUrl?: string } }) {
      const name = command.constructor.name.replace(/Command$/, '');
      calls.set(name, (calls.get(name) ?? 0) + 1);
      if (name === 'ChangeMessageVisibility') return {};
      if (name === 'GetQueueAttributes') {
        const dlq = command.input.QueueUrl?.endsWith('-dlq');
        return {
          Attributes: {
            QueueArn: dlq ? DLQ_ARN : QUEUE_ARN,
            VisibilityTimeout: '30',
            MaximumMessageSize: '262144',
            ...(dlq
              ? {}
              : { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: DLQ_ARN, maxReceiveCount: 10 }) }),
          },
        };
      }
      throw new Error(`the benchmark's SQS client does not answer ${name}`);
    },
  };
}
