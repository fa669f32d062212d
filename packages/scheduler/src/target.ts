import { ConfigurationError, parseDuration } from '@glasswork/core';
import type { Arn } from './arn.ts';
import { parseArn, parseQueueArn, parseRoleArn } from './arn.ts';
import type { ScheduleTarget, TargetOptions } from './types.ts';

/** EventBridge Scheduler's defaults, which are also its maximums: 24 hours and 185 retries. */
const MAX_EVENT_AGE_SECONDS = 86_400;
const MAX_RETRY_ATTEMPTS = 185;

/** Builds the target of a schedule for one of the configured queues. */
export interface Targets {
  /** The queue's ARN, checked; throws a `ConfigurationError` for a queue without one. */
  queueArn(queue: string): Arn & { readonly fifo: boolean };
  target(queue: string, input: string, groupId: string | undefined): ScheduleTarget;
}

/**
 * Checks the role, queue and dead-letter ARNs (one partition for all: a role in `aws-cn` cannot send to a
 * queue in `aws`) and the retry policy, once, and returns a target builder.
 */
export function resolveTargets(options: TargetOptions, where: string): Targets {
  if (!options || typeof options !== 'object') throw new ConfigurationError(`${where} needs options`);
  const role = parseRoleArn(options.roleArn, `${where}: roleArn`);
  if (!options.queues || typeof options.queues !== 'object') {
    throw new ConfigurationError(
      `${where} needs queues: { <queue name>: '<queue ARN>' }, one per queue jobs are scheduled for`,
    );
  }
  const queues = new Map<string, Arn & { fifo: boolean }>();
  for (const [name, arn] of Object.entries(options.queues)) {
    const parsed = parseQueueArn(arn, `${where}: queues.${name}`);
    samePartition(role, parsed, `queues.${name}`, where);
    queues.set(name, parsed);
  }
  if (options.deadLetterArn === undefined) {
    throw new ConfigurationError(
      `${where} needs deadLetterArn: a standard SQS queue for what the scheduler cannot deliver, or false to go without one`,
    );
  }
  let deadLetter: string | undefined;
  if (options.deadLetterArn !== false) {
    const dlq = parseQueueArn(options.deadLetterArn, `${where}: deadLetterArn`);
    if (dlq.fifo) {
      throw new ConfigurationError(
        `${where}: deadLetterArn must be a standard queue; EventBridge Scheduler cannot use a FIFO dead-letter queue`,
      );
    }
    samePartition(role, dlq, 'deadLetterArn', where);
    deadLetter = options.deadLetterArn;
  }
  const retry = retryPolicy(options.retry, where);
  return {
    queueArn(queue) {
      const arn = queues.get(queue);
      if (!arn) {
        throw new ConfigurationError(
          `Queue "${queue}" has no ARN for EventBridge Scheduler: pass queues: { ${JSON.stringify(queue)}: 'arn:aws:sqs:<region>:<account>:<name>' } to ${where}`,
        );
      }
      return arn;
    },
    target(queue, input, groupId) {
      const arn = this.queueArn(queue);
      return {
        Arn: options.queues[queue] as string,
        RoleArn: options.roleArn,
        Input: input,
        RetryPolicy: retry,
        ...(deadLetter ? { DeadLetterConfig: { Arn: deadLetter } } : {}),
        // The templated SQS target takes a message group and nothing else: no message attributes and no
        // deduplication id, so FIFO queues need content-based deduplication.
        ...(arn.fifo ? { SqsParameters: { MessageGroupId: groupId } } : {}),
      };
    },
  };
}

function samePartition(role: Arn, other: Arn, name: string, where: string): void {
  if (role.partition !== other.partition) {
    throw new ConfigurationError(
      `${where}: ${name} is in partition "${other.partition}" but roleArn is in "${role.partition}": a schedule's role and queues must share a partition`,
    );
  }
}

/** EventBridge Scheduler's `RetryPolicy` from the options, checked against its ranges. */
export function retryPolicy(
  retry: TargetOptions['retry'],
  where: string,
): { MaximumEventAgeInSeconds: number; MaximumRetryAttempts: number } {
  const age =
    retry?.maxEventAge === undefined
      ? MAX_EVENT_AGE_SECONDS
      : Math.round(parseDuration(retry.maxEventAge) / 1000);
  const attempts = retry?.maxAttempts ?? MAX_RETRY_ATTEMPTS;
  if (!(age >= 60 && age <= MAX_EVENT_AGE_SECONDS)) {
    throw new ConfigurationError(`${where}: retry.maxEventAge must be between 1 minute and 24 hours`);
  }
  if (!Number.isInteger(attempts) || attempts < 0 || attempts > MAX_RETRY_ATTEMPTS) {
    throw new ConfigurationError(
      `${where}: retry.maxAttempts must be a whole number from 0 to ${MAX_RETRY_ATTEMPTS}`,
    );
  }
  return { MaximumEventAgeInSeconds: age, MaximumRetryAttempts: attempts };
}

/** Checks an optional KMS key ARN. */
export function checkKmsKey(arn: string | undefined, where: string): void {
  if (arn === undefined) return;
  const parsed = parseArn(arn, `${where}: kmsKeyArn`);
  if (parsed.service !== 'kms') throw new ConfigurationError(`${where}: kmsKeyArn must be a KMS key ARN`);
}
