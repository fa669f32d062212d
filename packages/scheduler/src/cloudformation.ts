import { createHash } from 'node:crypto';
import { ConfigurationError } from '@glasswork/core';
import { parseQueueArn, parseRoleArn } from './arn.ts';
import { assertGroupName } from './names.ts';
import type { PeriodicJob } from './periodic.ts';
import { isPeriodicJob, periodicInput, scheduleFields } from './periodic.ts';
import { retryPolicy } from './target.ts';
import type { TargetRetryOptions } from './types.ts';

/** An ARN, or a CloudFormation intrinsic that resolves to one (`{ 'Fn::GetAtt': ['Queue', 'Arn'] }`). */
export type ArnValue = string | Readonly<Record<string, unknown>>;

export interface TemplateOptions {
  jobs: readonly PeriodicJob<any, any>[];
  /** The schedule group of the schedules. */
  groupName: string;
  /** Also declare the group as an `AWS::Scheduler::ScheduleGroup`. @default false */
  createGroup?: boolean;
  /** The execution role (needs `sqs:SendMessage` on the queues and the dead-letter queue). */
  roleArn: ArnValue;
  /** Queue name to queue ARN (or intrinsic). */
  queues: Readonly<Record<string, ArnValue>>;
  /** A standard SQS queue for deliveries the scheduler gives up on, or `false`. */
  deadLetterArn: ArnValue | false;
  /** @default 24 hours, 185 retries */
  retry?: TargetRetryOptions;
}

/** A CloudFormation (and SAM) template fragment. */
export interface TemplateFragment {
  readonly Resources: Record<
    string,
    { Type: string; Properties: Record<string, unknown>; DependsOn?: string }
  >;
}

/**
 * The `AWS::Scheduler::Schedule` resources of periodic jobs, for infrastructure-as-code users who would
 * rather deploy schedules with their stack than call `syncSchedules`. The schedules are the same: same
 * names, expressions, time zones, inputs and targets. Merge `Resources` into your template (JSON is valid YAML).
 */
export async function periodicJobsTemplate(options: TemplateOptions): Promise<TemplateFragment> {
  const where = 'periodicJobsTemplate';
  assertGroupName(options.groupName);
  if (typeof options.roleArn === 'string') parseRoleArn(options.roleArn, `${where}: roleArn`);
  if (
    typeof options.deadLetterArn === 'string' &&
    parseQueueArn(options.deadLetterArn, `${where}: deadLetterArn`).fifo
  ) {
    throw new ConfigurationError(`${where}: deadLetterArn must be a standard queue`);
  }
  const retry = retryPolicy(options.retry, where);
  const groupId = 'GlassworkScheduleGroup';
  const resources: TemplateFragment['Resources'] = {};
  if (options.createGroup)
    resources[groupId] = { Type: 'AWS::Scheduler::ScheduleGroup', Properties: { Name: options.groupName } };

  const ids = logicalIds(options.jobs.map((j) => (isPeriodicJob(j) ? j.periodic.name : '')));
  for (const [index, job] of options.jobs.entries()) {
    if (!isPeriodicJob(job))
      throw new ConfigurationError(`${where}: every job must come from definePeriodicJob`);
    const { periodic } = job;
    const queueArn = options.queues[periodic.queue];
    if (queueArn === undefined) {
      throw new ConfigurationError(
        `${where}: queue "${periodic.queue}" of periodic job "${periodic.name}" has no entry in queues`,
      );
    }
    const fifo =
      typeof queueArn === 'string'
        ? parseQueueArn(queueArn, `${where}: queues.${periodic.queue}`).fifo
        : periodic.group !== undefined;
    if (fifo && !periodic.group)
      throw new ConfigurationError(`Periodic job "${periodic.name}" goes to a FIFO queue: give it a group`);
    resources[ids[index] as string] = {
      Type: 'AWS::Scheduler::Schedule',
      ...(options.createGroup ? { DependsOn: groupId } : {}),
      Properties: {
        ...scheduleFields(job, options.groupName),
        Target: {
          Arn: queueArn,
          RoleArn: options.roleArn,
          Input: await periodicInput(job),
          RetryPolicy: retry,
          ...(options.deadLetterArn === false ? {} : { DeadLetterConfig: { Arn: options.deadLetterArn } }),
          ...(fifo ? { SqsParameters: { MessageGroupId: periodic.group } } : {}),
        },
      },
    };
  }
  return { Resources: resources };
}

/** Alphanumeric logical ids from names; a hash suffix keeps two names that read alike apart. */
function logicalIds(names: readonly string[]): string[] {
  const base = names.map(
    (name) =>
      `GlassworkPeriodic${name
        .split(/[^A-Za-z0-9]+/)
        .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
        .join('')}`,
  );
  return base.map((id, i) =>
    base.indexOf(id) === base.lastIndexOf(id)
      ? id
      : id +
        createHash('sha256')
          .update(names[i] as string)
          .digest('hex')
          .slice(0, 8)
          .toUpperCase(),
  );
}
