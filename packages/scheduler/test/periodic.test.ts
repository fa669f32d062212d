import {
  ConfigurationError,
  createWorker,
  decodeEnvelope,
  defineJob,
  InvalidJobPayloadError,
} from '@glasswork/core';
import { mockDriver } from '@glasswork/mock';
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import type { SyncSchedulesOptions } from '../src/index.ts';
import {
  definePeriodicJob,
  InvalidScheduleExpressionError,
  isPeriodicJob,
  periodicInput,
  periodicJobsTemplate,
  ScheduleError,
  syncSchedules,
} from '../src/index.ts';
import { substituteContext } from '../src/periodic.ts';
import { awsError, DLQ_ARN, EMAILS_ARN, ORDERS_ARN, ROLE, recordingClient, rejection } from './helpers.ts';

const REPORTS_ARN = 'arn:aws:sqs:eu-west-1:123456789012:reports';
const GROUP = 'glasswork-periodic';

const dailyReport = definePeriodicJob({
  name: 'daily-report',
  schedule: 'cron(0 8 * * ? *)',
  timezone: 'Europe/Paris',
  queue: 'reports',
  schema: v.object({ format: v.picklist(['pdf', 'csv']) }),
  payload: { format: 'pdf' },
});
const hourly = definePeriodicJob({ name: 'hourly-cleanup', schedule: 'rate(1 hour)', queue: 'reports' });

describe('definePeriodicJob', () => {
  it('is a job contract a worker handles, with its schedule beside it', () => {
    expect(isPeriodicJob(dailyReport)).toBe(true);
    expect(dailyReport).toMatchObject({ kind: 'glasswork.job', name: 'daily-report', queue: 'reports' });
    expect(dailyReport.periodic).toMatchObject({
      name: 'daily-report',
      scheduleName: 'gwp-daily-report',
      timezone: 'Europe/Paris',
      queue: 'reports',
      enabled: true,
    });
    expect(() => createWorker().handle(dailyReport, ({ format }) => format)).not.toThrow();
  });

  it('runs an existing job on a schedule under its own name', () => {
    const report = defineJob<{ scope: string }>({ name: 'build-report', queue: 'reports' });
    const weekly = definePeriodicJob({
      name: 'weekly-report',
      job: report,
      schedule: 'cron(0 6 ? * MON *)',
      payload: { scope: 'week' },
    });
    expect(weekly.name).toBe('build-report');
    expect(weekly.periodic.queue).toBe('reports');
    expect(weekly.periodic.scheduleName).toBe('gwp-weekly-report');
  });

  it.each([
    [{ name: 'daily report', schedule: 'rate(1 day)', queue: 'q' }, /Invalid periodic job name/],
    [{ name: 'x'.repeat(61), schedule: 'rate(1 day)', queue: 'q' }, /Invalid periodic job name/],
    [{ name: 'once', schedule: 'at(2030-01-01T00:00:00)', queue: 'q' }, /needs cron\(...\) or rate\(...\)/],
    [{ name: 'bad', schedule: 'cron(0 8 * * * *)', queue: 'q' }, /exactly one/],
    [{ name: 'tz', schedule: 'rate(1 day)', queue: 'q', timezone: 'Europe/Atlantis' }, /Unknown time zone/],
    [{ name: 'nowhere', schedule: 'rate(1 day)' }, /has no queue/],
  ])('refuses %o', (options, message) => {
    expect(() => definePeriodicJob(options as never)).toThrow(message);
  });

  it('throws typed errors', () => {
    expect(() => definePeriodicJob({ name: 'x', schedule: 'cron(1 2 3)', queue: 'q' })).toThrow(
      InvalidScheduleExpressionError,
    );
    expect(() => definePeriodicJob({ name: 'x y', schedule: 'rate(1 day)', queue: 'q' })).toThrow(
      ConfigurationError,
    );
  });
});

describe('the schedule input of a periodic job', () => {
  it('is the envelope with the scheduled time as job id suffix and enqueue time', async () => {
    const input = await periodicInput(dailyReport);
    expect(JSON.parse(input)).toEqual({
      v: 1,
      id: 'periodic:daily-report:<aws.scheduler.scheduled-time>',
      name: 'daily-report',
      payload: { format: 'pdf' },
      enqueuedAt: '<aws.scheduler.scheduled-time>',
      firstEnqueuedAt: '<aws.scheduler.scheduled-time>',
      priorAttempts: 0,
      meta: {},
    });
    // What EventBridge Scheduler sends for the 8:00 Paris run of 2024-01-15:
    const body = substituteContext(input, {
      scheduleArn: 'arn:aws:scheduler:eu-west-1:123456789012:schedule/glasswork-periodic/gwp-daily-report',
      scheduledTime: Date.parse('2024-01-15T07:00:00Z'),
      executionId: 'd32c5kddcf5bb8c3',
      attemptNumber: 2,
    });
    const decoded = decodeEnvelope(body);
    expect(decoded.ok && decoded.envelope).toMatchObject({
      id: 'periodic:daily-report:2024-01-15T07:00:00Z',
      enqueuedAt: '2024-01-15T07:00:00Z',
      payload: { format: 'pdf' },
    });
  });

  it('is validated against the schema, as enqueue would', async () => {
    const broken = definePeriodicJob({
      name: 'broken',
      schedule: 'rate(1 day)',
      queue: 'reports',
      schema: v.object({ format: v.picklist(['pdf']) }),
      payload: { format: 'doc' as 'pdf' },
    });
    await expect(periodicInput(broken)).rejects.toThrow(InvalidJobPayloadError);
  });
});

/** EventBridge Scheduler's schedule API for one account, in memory, behind the recording client. */
function fakeScheduler(groups = [GROUP]) {
  const schedules = new Map<string, any>();
  const key = (input: { GroupName?: string; Name?: string }) =>
    `${input.GroupName ?? 'default'}/${input.Name}`;
  let failOn: string | undefined;
  const client = recordingClient((command, input) => {
    if (failOn && input.Name === failOn && command !== 'GetScheduleCommand')
      throw awsError('ValidationException', `rejected ${failOn}`);
    switch (command) {
      case 'ListSchedulesCommand': {
        if (!groups.includes(input.GroupName))
          throw awsError('ResourceNotFoundException', 'Schedule group not found');
        const all = [...schedules.values()].filter(
          (s) => s.GroupName === input.GroupName && s.Name.startsWith(input.NamePrefix ?? ''),
        );
        // One per page, to go through the pagination.
        const start = Number(input.NextToken ?? 0);
        const page = all
          .slice(start, start + 1)
          .map((s) => ({ Name: s.Name, GroupName: s.GroupName, Arn: s.Arn }));
        return { Schedules: page, ...(start + 1 < all.length ? { NextToken: String(start + 1) } : {}) };
      }
      case 'GetScheduleCommand': {
        const found = schedules.get(key(input));
        if (!found) throw awsError('ResourceNotFoundException');
        return structuredClone(found);
      }
      case 'CreateScheduleCommand': {
        if (schedules.has(key(input))) throw awsError('ConflictException');
        const Arn = `arn:aws:scheduler:eu-west-1:123456789012:schedule/${key(input)}`;
        schedules.set(key(input), { ...input, Arn });
        return { ScheduleArn: Arn };
      }
      case 'UpdateScheduleCommand': {
        const found = schedules.get(key(input));
        if (!found) throw awsError('ResourceNotFoundException');
        schedules.set(key(input), { ...input, Arn: found.Arn });
        return { ScheduleArn: found.Arn };
      }
      case 'DeleteScheduleCommand':
        if (!schedules.delete(key(input))) throw awsError('ResourceNotFoundException');
        return {};
      default:
        return undefined;
    }
  });
  const setFailOn = (name: string | undefined) => {
    failOn = name;
  };
  return { client, schedules, failOn: setFailOn };
}

const writes = (calls: { command: string }[]) =>
  calls.filter((c) => /^(Create|Update|Delete)Schedule/.test(c.command)).map((c) => c.command);

function syncOptions(
  client: SyncSchedulesOptions['client'],
  jobs: SyncSchedulesOptions['jobs'],
): SyncSchedulesOptions {
  return {
    client,
    jobs,
    groupName: GROUP,
    roleArn: ROLE,
    queues: { reports: REPORTS_ARN, emails: EMAILS_ARN, 'orders.fifo': ORDERS_ARN },
    deadLetterArn: DLQ_ARN,
  };
}

describe('syncSchedules', () => {
  it('creates the schedule of each periodic job with its queue as target', async () => {
    const { client } = fakeScheduler();
    const result = await syncSchedules(syncOptions(client, [dailyReport, hourly]));
    expect(result.create.map((p) => p.name)).toEqual(['gwp-daily-report', 'gwp-hourly-cleanup']);
    expect(client.of('ListSchedulesCommand')[0]).toEqual({ GroupName: GROUP, NamePrefix: 'gwp-' });
    expect(client.of('CreateScheduleCommand')[0]).toEqual({
      Name: 'gwp-daily-report',
      GroupName: GROUP,
      ScheduleExpression: 'cron(0 8 * * ? *)',
      ScheduleExpressionTimezone: 'Europe/Paris',
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: 'ENABLED',
      Description: 'Glasswork periodic job "daily-report" (job "daily-report", queue "reports")',
      ActionAfterCompletion: 'NONE',
      Target: {
        Arn: REPORTS_ARN,
        RoleArn: ROLE,
        Input: await periodicInput(dailyReport),
        RetryPolicy: { MaximumEventAgeInSeconds: 86_400, MaximumRetryAttempts: 185 },
        DeadLetterConfig: { Arn: DLQ_ARN },
      },
    });
    expect(client.of('CreateScheduleCommand')[1]).toMatchObject({
      ScheduleExpression: 'rate(1 hour)',
      ScheduleExpressionTimezone: 'UTC',
    });
  });

  it('changes nothing the second time', async () => {
    const { client } = fakeScheduler();
    await syncSchedules(syncOptions(client, [dailyReport, hourly]));
    client.calls.length = 0;
    const again = await syncSchedules(syncOptions(client, [dailyReport, hourly]));
    expect(again.unchanged.map((p) => p.name)).toEqual(['gwp-daily-report', 'gwp-hourly-cleanup']);
    expect(again.create.length + again.update.length + again.delete.length).toBe(0);
    expect(writes(client.calls)).toEqual([]);
    expect(client.of('ListSchedulesCommand')).toHaveLength(2); // two pages of one
  });

  it('updates what changed, deletes what the code dropped, and leaves other schedules of the group alone', async () => {
    const { client, schedules } = fakeScheduler();
    await syncSchedules(syncOptions(client, [dailyReport, hourly]));
    schedules.set(`${GROUP}/reminder-42`, { Name: 'reminder-42', GroupName: GROUP }); // not Glasswork's periodic
    client.calls.length = 0;
    const moved = definePeriodicJob({
      name: 'daily-report',
      schedule: 'cron(30 7 * * ? *)',
      timezone: 'Europe/Paris',
      queue: 'reports',
      payload: { format: 'csv' },
    });
    const result = await syncSchedules(syncOptions(client, [moved]));
    expect(result.update).toEqual([
      { name: 'gwp-daily-report', changes: ['ScheduleExpression', 'Target.Input'] },
    ]);
    expect(result.delete.map((p) => p.name)).toEqual(['gwp-hourly-cleanup']);
    expect(writes(client.calls)).toEqual(['UpdateScheduleCommand', 'DeleteScheduleCommand']);
    expect([...schedules.keys()].sort()).toEqual([`${GROUP}/gwp-daily-report`, `${GROUP}/reminder-42`]);
    expect(client.of('UpdateScheduleCommand')[0]).toMatchObject({
      ScheduleExpression: 'cron(30 7 * * ? *)',
      ActionAfterCompletion: 'NONE',
    });
  });

  it('prints the plan on a dry run and changes nothing', async () => {
    const { client } = fakeScheduler();
    await syncSchedules(syncOptions(client, [hourly]));
    client.calls.length = 0;
    const lines: string[] = [];
    const paused = definePeriodicJob({
      name: 'hourly-cleanup',
      schedule: 'rate(1 hour)',
      queue: 'reports',
      enabled: false,
    });
    const result = await syncSchedules({
      ...syncOptions(client, [dailyReport, paused]),
      dryRun: true,
      log: (l) => lines.push(l),
    });
    expect(result.dryRun).toBe(true);
    expect(writes(client.calls)).toEqual([]);
    expect(lines).toEqual([
      `syncSchedules: group "${GROUP}" (dry run: nothing is changed)`,
      `  + create gwp-daily-report  cron(0 8 * * ? *) Europe/Paris -> ${REPORTS_ARN}`,
      '  ~ update gwp-hourly-cleanup  (State)',
    ]);
  });

  it('gives FIFO targets the job’s message group, and refuses a FIFO job without one', async () => {
    const { client } = fakeScheduler();
    const ordered = definePeriodicJob({
      name: 'settle',
      schedule: 'rate(5 minutes)',
      queue: 'orders.fifo',
      group: 'settlement',
    });
    await syncSchedules(syncOptions(client, [ordered]));
    expect(client.of('CreateScheduleCommand')[0].Target.SqsParameters).toEqual({
      MessageGroupId: 'settlement',
    });
    const loose = definePeriodicJob({ name: 'loose', schedule: 'rate(5 minutes)', queue: 'orders.fifo' });
    await expect(syncSchedules(syncOptions(client, [loose]))).rejects.toThrow(
      /FIFO queue "orders.fifo": give it a group/,
    );
  });

  it('says to create a missing group', async () => {
    const { client } = fakeScheduler([]);
    await expect(syncSchedules(syncOptions(client, [hourly]))).rejects.toThrow(
      /Schedule group "glasswork-periodic" does not exist/,
    );
  });

  it('refuses two periodic jobs of one name before calling AWS', async () => {
    const { client } = fakeScheduler();
    await expect(syncSchedules(syncOptions(client, [hourly, hourly]))).rejects.toThrow(
      /two periodic jobs are named "hourly-cleanup"/,
    );
    expect(client.calls).toHaveLength(0);
  });

  it('applies every other change when one fails, then reports it; the next run finishes the job', async () => {
    const { client, failOn } = fakeScheduler();
    failOn('gwp-daily-report');
    const error = await rejection<ScheduleError>(syncSchedules(syncOptions(client, [dailyReport, hourly])));
    expect(error).toBeInstanceOf(ScheduleError);
    expect(error.message).toMatch(
      /1 change\(s\) failed.*\n {2}create gwp-daily-report: rejected gwp-daily-report/,
    );
    failOn(undefined);
    const retry = await syncSchedules(syncOptions(client, [dailyReport, hourly]));
    expect(retry.create.map((p) => p.name)).toEqual(['gwp-daily-report']);
    expect(retry.unchanged.map((p) => p.name)).toEqual(['gwp-hourly-cleanup']);
  });
});

describe('periodicJobsTemplate', () => {
  it('declares the same schedules as CloudFormation resources, intrinsics allowed', async () => {
    const role = { 'Fn::GetAtt': ['SchedulerRole', 'Arn'] };
    const template = await periodicJobsTemplate({
      jobs: [dailyReport, hourly],
      groupName: GROUP,
      createGroup: true,
      roleArn: role,
      queues: { reports: { 'Fn::GetAtt': ['ReportsQueue', 'Arn'] } },
      deadLetterArn: DLQ_ARN,
    });
    expect(Object.keys(template.Resources)).toEqual([
      'GlassworkScheduleGroup',
      'GlassworkPeriodicDailyReport',
      'GlassworkPeriodicHourlyCleanup',
    ]);
    expect(template.Resources.GlassworkScheduleGroup).toEqual({
      Type: 'AWS::Scheduler::ScheduleGroup',
      Properties: { Name: GROUP },
    });
    // The same schedule syncSchedules creates, with the intrinsics in place of the ARNs.
    const { client } = fakeScheduler();
    await syncSchedules(syncOptions(client, [dailyReport]));
    const { ActionAfterCompletion, ...created } = client.of('CreateScheduleCommand')[0];
    expect(ActionAfterCompletion).toBe('NONE');
    expect(template.Resources.GlassworkPeriodicDailyReport).toEqual({
      Type: 'AWS::Scheduler::Schedule',
      DependsOn: 'GlassworkScheduleGroup',
      Properties: {
        ...created,
        Target: { ...created.Target, Arn: { 'Fn::GetAtt': ['ReportsQueue', 'Arn'] }, RoleArn: role },
      },
    });
  });

  it('keeps logical ids of names that read alike apart', async () => {
    const a = definePeriodicJob({ name: 'a-b', schedule: 'rate(1 day)', queue: 'reports' });
    const b = definePeriodicJob({ name: 'a_b', schedule: 'rate(1 day)', queue: 'reports' });
    const template = await periodicJobsTemplate({
      jobs: [a, b],
      groupName: GROUP,
      roleArn: ROLE,
      queues: { reports: REPORTS_ARN },
      deadLetterArn: false,
    });
    const ids = Object.keys(template.Resources);
    expect(ids).toHaveLength(2);
    for (const id of ids) expect(id).toMatch(/^GlassworkPeriodicAB[0-9A-F]{8}$/);
  });

  it('needs an ARN for each queue', async () => {
    await expect(
      periodicJobsTemplate({
        jobs: [hourly],
        groupName: GROUP,
        roleArn: ROLE,
        queues: {},
        deadLetterArn: false,
      }),
    ).rejects.toThrow(/queue "reports" of periodic job "hourly-cleanup" has no entry in queues/);
  });
});

describe('a periodic run through the worker', () => {
  it('gets retries and attempts like any job, under the run’s id', async () => {
    const mock = mockDriver({ startTime: Date.parse('2024-01-15T07:00:05Z') });
    const body = substituteContext(await periodicInput(dailyReport), {
      scheduleArn: 'arn',
      scheduledTime: Date.parse('2024-01-15T07:00:00Z'),
      executionId: 'e',
      attemptNumber: 1,
    });
    await mock.send('reports', [
      { id: 'x', jobName: 'daily-report', queue: 'reports', body, attributes: {}, bytes: 0, delaySeconds: 0 },
    ]);
    const seen: [string, number][] = [];
    const worker = createWorker().handle(
      dailyReport,
      (_payload, ctx) => {
        seen.push([ctx.jobId, ctx.attempt]);
        if (ctx.attempt === 1) throw new Error('the report database is busy');
      },
      { retry: { maxAttempts: 3, backoff: '1m' } },
    );
    const report = await mock.drain(worker);
    expect(report.counts).toMatchObject({ retry: 1, ack: 1 });
    expect(seen).toEqual([
      ['periodic:daily-report:2024-01-15T07:00:00Z', 1],
      ['periodic:daily-report:2024-01-15T07:00:00Z', 2],
    ]);
  });
});
