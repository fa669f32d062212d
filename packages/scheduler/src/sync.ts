import { ConfigurationError } from '@glasswork/core';
import { ScheduleError } from './errors.ts';
import { assertGroupName, PERIODIC_PREFIX } from './names.ts';
import type { PeriodicJob } from './periodic.ts';
import { isPeriodicJob, periodicInput, scheduleFields } from './periodic.ts';
import { isAwsError, loadSchedulerSdk, schedulerClient } from './sdk.ts';
import { checkKmsKey, resolveTargets } from './target.ts';
import type { SchedulerClientLike, ScheduleTarget, TargetOptions } from './types.ts';

export interface SyncSchedulesOptions extends TargetOptions {
  /** Every periodic job the code defines; schedules of the group that are not here are deleted. */
  jobs: readonly PeriodicJob<any, any>[];
  /** The schedule group, which must exist. Only schedules named `gwp-...` in it are managed. */
  groupName: string;
  /** @default `new SchedulerClient()` from `@aws-sdk/client-scheduler` */
  client?: SchedulerClientLike;
  /** Print and return the plan without changing anything. @default false */
  dryRun?: boolean;
  /** Where the plan is printed. @default console.log on a dry run, nowhere otherwise */
  log?: (line: string) => void;
  /** Customer managed KMS key for the schedules' input. @default an AWS owned key */
  kmsKeyArn?: string;
}

/** One schedule of the plan. */
export interface PlannedSchedule {
  /** The schedule name, `gwp-<periodic job name>`. */
  readonly name: string;
  /** For updates: the fields that differ, e.g. `['ScheduleExpression', 'Target.Input']`. */
  readonly changes: readonly string[];
}

/** What `syncSchedules` did (or, on a dry run, would do). */
export interface SyncResult {
  readonly dryRun: boolean;
  readonly create: readonly PlannedSchedule[];
  readonly update: readonly PlannedSchedule[];
  readonly delete: readonly PlannedSchedule[];
  readonly unchanged: readonly PlannedSchedule[];
}

/** The schedule a periodic job should have, as the CreateSchedule / UpdateSchedule API takes it. */
export interface DesiredSchedule {
  readonly Name: string;
  readonly GroupName: string;
  readonly ScheduleExpression: string;
  readonly ScheduleExpressionTimezone: string;
  readonly FlexibleTimeWindow: { readonly Mode: 'OFF' };
  readonly State: 'ENABLED' | 'DISABLED';
  readonly Description: string;
  readonly KmsKeyArn?: string;
  readonly Target: ScheduleTarget;
}

/** The schedules the jobs need, checked (unique names, a group for FIFO queues, valid payloads). */
export async function desiredSchedules(
  jobs: readonly PeriodicJob<any, any>[],
  targetOptions: TargetOptions,
  groupName: string,
  where: string,
  kmsKeyArn?: string,
): Promise<DesiredSchedule[]> {
  if (!Array.isArray(jobs))
    throw new ConfigurationError(`${where} needs jobs: [definePeriodicJob({ ... }), ...]`);
  const targets = resolveTargets(targetOptions, where);
  const seen = new Set<string>();
  const out: DesiredSchedule[] = [];
  for (const job of jobs) {
    if (!isPeriodicJob(job))
      throw new ConfigurationError(`${where}: every job must come from definePeriodicJob`);
    const { periodic } = job;
    if (seen.has(periodic.name))
      throw new ConfigurationError(`${where}: two periodic jobs are named "${periodic.name}"`);
    seen.add(periodic.name);
    if (targets.queueArn(periodic.queue).fifo && !periodic.group) {
      throw new ConfigurationError(
        `Periodic job "${periodic.name}" goes to FIFO queue "${periodic.queue}": give it a group`,
      );
    }
    out.push({
      ...scheduleFields(job, groupName),
      ...(kmsKeyArn ? { KmsKeyArn: kmsKeyArn } : {}),
      Target: targets.target(periodic.queue, await periodicInput(job), periodic.group),
    });
  }
  return out;
}

/**
 * Makes the periodic schedules of a group match `jobs`: creates the missing ones, updates the ones that
 * differ, deletes `gwp-` schedules no job names. Running it twice changes nothing the second time.
 * Needs `scheduler:ListSchedules`, `GetSchedule`, `CreateSchedule`, `UpdateSchedule`, `DeleteSchedule` and
 * `iam:PassRole` on `roleArn`.
 */
export async function syncSchedules(options: SyncSchedulesOptions): Promise<SyncResult> {
  const where = 'syncSchedules';
  assertGroupName(options.groupName);
  checkKmsKey(options.kmsKeyArn, where);
  const desired = await desiredSchedules(options.jobs, options, options.groupName, where, options.kmsKeyArn);
  const dryRun = options.dryRun ?? false;
  const log = options.log ?? (dryRun ? console.log : () => {});
  const [sdk, client] = await Promise.all([loadSchedulerSdk(), schedulerClient(options.client)()]);
  const group = options.groupName;

  const existing = new Set<string>();
  let token: string | undefined;
  do {
    let page: { Schedules?: { Name?: string }[]; NextToken?: string };
    try {
      page = await client.send(
        new sdk.ListSchedulesCommand({ GroupName: group, NamePrefix: PERIODIC_PREFIX, NextToken: token }),
      );
    } catch (error) {
      if (isAwsError(error, 'ResourceNotFoundException')) {
        throw new ConfigurationError(
          `Schedule group "${group}" does not exist: create it first (aws scheduler create-schedule-group --name ${group}, or in your template)`,
          { cause: error },
        );
      }
      throw error;
    }
    for (const s of page.Schedules ?? []) if (s.Name) existing.add(s.Name);
    token = page.NextToken;
  } while (token);

  const result = {
    dryRun,
    create: [] as PlannedSchedule[],
    update: [] as PlannedSchedule[],
    delete: [] as PlannedSchedule[],
    unchanged: [] as PlannedSchedule[],
  };
  for (const want of desired) {
    if (!existing.has(want.Name)) {
      result.create.push({ name: want.Name, changes: [] });
      continue;
    }
    const have = await client.send(new sdk.GetScheduleCommand({ Name: want.Name, GroupName: group }));
    const changes = differences(want, have);
    (changes.length > 0 ? result.update : result.unchanged).push({ name: want.Name, changes });
  }
  const wanted = new Set(desired.map((d) => d.Name));
  for (const name of [...existing].sort()) if (!wanted.has(name)) result.delete.push({ name, changes: [] });

  log(`syncSchedules: group "${group}"${dryRun ? ' (dry run: nothing is changed)' : ''}`);
  const byName = new Map(desired.map((d) => [d.Name, d]));
  for (const p of result.create)
    log(`  + create ${p.name}  ${describe(byName.get(p.name) as DesiredSchedule)}`);
  for (const p of result.update) log(`  ~ update ${p.name}  (${p.changes.join(', ')})`);
  for (const p of result.delete) log(`  - delete ${p.name}`);
  for (const p of result.unchanged) log(`  = unchanged ${p.name}`);
  if (dryRun) return result;

  const failures: string[] = [];
  let firstError: unknown;
  const run = async (what: string, name: string, command: unknown) => {
    try {
      await client.send(command);
    } catch (error) {
      firstError ??= error;
      failures.push(`${what} ${name}: ${(error as Error)?.message ?? error}`);
    }
  };
  const writes = [
    ['create', result.create, sdk.CreateScheduleCommand],
    ['update', result.update, sdk.UpdateScheduleCommand],
  ] as const;
  for (const [what, planned, Command] of writes) {
    for (const p of planned) {
      await run(
        what,
        p.name,
        new Command({ ...(byName.get(p.name) as DesiredSchedule), ActionAfterCompletion: 'NONE' }),
      );
    }
  }
  for (const p of result.delete)
    await run('delete', p.name, new sdk.DeleteScheduleCommand({ Name: p.name, GroupName: group }));
  if (failures.length > 0) {
    throw new ScheduleError(
      `syncSchedules: ${failures.length} change(s) failed; run it again once fixed:\n  ${failures.join('\n  ')}`,
      {
        cause: firstError,
      },
    );
  }
  return result;
}

function describe(d: DesiredSchedule): string {
  return `${d.ScheduleExpression} ${d.ScheduleExpressionTimezone}${d.State === 'DISABLED' ? ' (disabled)' : ''} -> ${d.Target.Arn}`;
}

/** The fields of `want` that the existing schedule does not have. */
function differences(want: DesiredSchedule, have: any): string[] {
  const pairs: [string, unknown, unknown][] = [
    ['ScheduleExpression', want.ScheduleExpression, have?.ScheduleExpression],
    [
      'ScheduleExpressionTimezone',
      want.ScheduleExpressionTimezone,
      have?.ScheduleExpressionTimezone ?? 'UTC',
    ],
    ['State', want.State, have?.State],
    ['Description', want.Description, have?.Description],
    ['KmsKeyArn', want.KmsKeyArn, have?.KmsKeyArn],
    ['FlexibleTimeWindow', want.FlexibleTimeWindow.Mode, have?.FlexibleTimeWindow?.Mode],
    ['Target.Arn', want.Target.Arn, have?.Target?.Arn],
    ['Target.RoleArn', want.Target.RoleArn, have?.Target?.RoleArn],
    ['Target.Input', want.Target.Input, have?.Target?.Input],
    ['Target.RetryPolicy', JSON.stringify(want.Target.RetryPolicy), retryOf(have?.Target?.RetryPolicy)],
    ['Target.DeadLetterConfig', want.Target.DeadLetterConfig?.Arn, have?.Target?.DeadLetterConfig?.Arn],
    [
      'Target.SqsParameters',
      want.Target.SqsParameters?.MessageGroupId,
      have?.Target?.SqsParameters?.MessageGroupId,
    ],
  ];
  return pairs.filter(([, a, b]) => a !== b).map(([field]) => field);
}

function retryOf(policy: any): string | undefined {
  if (!policy) return undefined;
  return JSON.stringify({
    MaximumEventAgeInSeconds: policy.MaximumEventAgeInSeconds,
    MaximumRetryAttempts: policy.MaximumRetryAttempts,
  });
}
