import { ConfigurationError } from '@glasswork/core';
import { ScheduleError } from './errors.ts';
import { assertGroupName, assertSameJob, oneTimeScheduleName } from './names.ts';
import { isAwsError, loadSchedulerSdk, schedulerClient } from './sdk.ts';
import { checkKmsKey, resolveTargets } from './target.ts';
import type { ScheduleBackend, SchedulerClientLike, TargetOptions } from './types.ts';
import { isoSeconds } from './zone.ts';

/**
 * EventBridge Scheduler's quota on a schedule's target input. SQS takes up to 1 MiB; a schedule's input
 * is limited to 256 KB, so delayed jobs must stay under it.
 */
export const SCHEDULER_MAX_INPUT_BYTES = 262_144;

export interface EventBridgeSchedulerOptions extends TargetOptions {
  /** @default `new SchedulerClient()` from `@aws-sdk/client-scheduler` (region and credentials from the environment) */
  client?: SchedulerClientLike;
  /** Schedule group of the one-time schedules; it must exist. @default 'default' */
  groupName?: string;
  /** Largest envelope a schedule may carry, in bytes. @default 262144 (the EventBridge Scheduler quota) */
  maxInputBytes?: number;
  /** Customer managed KMS key EventBridge Scheduler encrypts the schedule's input with. @default an AWS owned key */
  kmsKeyArn?: string;
}

/**
 * Delays jobs past the queue's limit with EventBridge Scheduler: each becomes a one-time schedule
 * (`at(...)` in UTC, deleted after it fires) whose target is the job's queue and whose input is the
 * envelope. Pass it to `withScheduler`.
 */
export function eventBridgeScheduler(options: EventBridgeSchedulerOptions): ScheduleBackend {
  const where = 'eventBridgeScheduler';
  const targets = resolveTargets(options, where);
  const groupName = options.groupName ?? 'default';
  assertGroupName(groupName);
  checkKmsKey(options.kmsKeyArn, where);
  const maxInputBytes = options.maxInputBytes ?? SCHEDULER_MAX_INPUT_BYTES;
  if (!(Number.isInteger(maxInputBytes) && maxInputBytes > 0)) {
    throw new ConfigurationError(`${where}: maxInputBytes must be a positive whole number`);
  }
  const client = schedulerClient(options.client);

  return {
    name: 'eventbridge',
    maxInputBytes,
    async schedule({ message, queue, fifo, at }) {
      const queueArn = targets.queueArn(queue);
      if (queueArn.fifo !== fifo) {
        throw new ConfigurationError(
          `Queue "${queue}" is ${fifo ? '' : 'not '}FIFO but its ARN ${JSON.stringify(options.queues[queue])} says otherwise: fix queues.${queue}`,
        );
      }
      const name = oneTimeScheduleName(message.id);
      const [sdk, c] = await Promise.all([loadSchedulerSdk(), client()]);
      const input = {
        Name: name,
        GroupName: groupName,
        ScheduleExpression: `at(${isoSeconds(at).slice(0, 19)})`,
        ScheduleExpressionTimezone: 'UTC',
        FlexibleTimeWindow: { Mode: 'OFF' as const },
        ActionAfterCompletion: 'DELETE' as const,
        State: 'ENABLED' as const,
        Description: `Glasswork job "${message.jobName}" (${message.id}) for queue "${queue}"`.slice(0, 512),
        ...(options.kmsKeyArn ? { KmsKeyArn: options.kmsKeyArn } : {}),
        Target: targets.target(queue, message.body, message.groupId),
      };
      try {
        const out = await c.send(new sdk.CreateScheduleCommand(input));
        return String(out?.ScheduleArn ?? '');
      } catch (error) {
        // The same job id was scheduled before: it is the same job, as with an SQS FIFO deduplication id.
        if (isAwsError(error, 'ConflictException')) {
          const existing = await c
            .send(new sdk.GetScheduleCommand({ Name: name, GroupName: groupName }))
            .catch(() => undefined);
          if (existing?.Arn) {
            assertSameJob(name, message.id, message.jobName, existing.Target?.Input);
            return String(existing.Arn);
          }
        }
        throw new ScheduleError(
          `EventBridge Scheduler did not create schedule "${name}" in group "${groupName}" for job "${message.jobName}" (${message.id}): ${(error as Error)?.message ?? error}`,
          { cause: error },
        );
      }
    },
    async cancel(jobId) {
      const [sdk, c] = await Promise.all([loadSchedulerSdk(), client()]);
      try {
        await c.send(
          new sdk.DeleteScheduleCommand({ Name: oneTimeScheduleName(jobId), GroupName: groupName }),
        );
        return true;
      } catch (error) {
        if (isAwsError(error, 'ResourceNotFoundException')) return false;
        throw new ScheduleError(
          `EventBridge Scheduler did not delete the schedule of job ${jobId}: ${(error as Error)?.message ?? error}`,
          {
            cause: error,
          },
        );
      }
    },
  };
}
