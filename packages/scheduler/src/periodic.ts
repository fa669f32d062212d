import type { AnyJob, InferInput, InferOutput, Job, StandardSchemaV1 } from '@glasswork/core';
import {
  ConfigurationError,
  defineJob,
  encodeEnvelope,
  InvalidJobPayloadError,
  isJob,
} from '@glasswork/core';
import type { CronSchedule, RateSchedule } from './cron.ts';
import { nextCronTime, parseSchedule } from './cron.ts';
import { InvalidScheduleExpressionError } from './errors.ts';
import { periodicScheduleName } from './names.ts';
import { assertTimezone, isoSeconds } from './zone.ts';

/** EventBridge Scheduler writes the time a run was due here, e.g. `2024-03-22T08:00:00Z`. */
export const SCHEDULED_TIME = '<aws.scheduler.scheduled-time>';

const NAME = /^[0-9A-Za-z_.-]{1,60}$/;

interface PeriodicOptionsBase {
  /**
   * Unique among your periodic jobs, 1-60 letters, digits, `-`, `_` or `.`. It names the schedule
   * (`gwp-<name>`) and each run's job id, `periodic:<name>:<scheduled time>`.
   */
  name: string;
  /** When it runs: `'cron(0 8 * * ? *)'` (six EventBridge fields) or `'rate(1 hour)'`. */
  schedule: string;
  /** The IANA time zone the cron expression is read in, daylight saving included. @default 'UTC' */
  timezone?: string;
  /** The queue it is delivered to. @default the job's queue */
  queue?: string;
  /** FIFO message group, required when the queue is FIFO. */
  group?: string;
  /** Strings for the envelope's `meta`. */
  meta?: Readonly<Record<string, string>>;
  /** `false` keeps the schedule but pauses it. @default true */
  enabled?: boolean;
}

/** The schedule part of a periodic job. */
export interface PeriodicSpec {
  readonly name: string;
  readonly scheduleName: string;
  readonly expression: CronSchedule | RateSchedule;
  readonly timezone: string;
  readonly queue: string;
  readonly group: string | undefined;
  readonly payload: unknown;
  readonly meta: Readonly<Record<string, string>>;
  readonly enabled: boolean;
}

/** A job that runs on a schedule. It is a job contract too: `worker.handle(periodicJob, handler)`. */
export type PeriodicJob<TInput = unknown, TOutput = TInput> = Job<TInput, TOutput> & {
  readonly periodic: PeriodicSpec;
};

/**
 * Defines a job that runs on a schedule, delivered through its SQS queue like any job (so it gets
 * retries, backoff and the dead-letter queue). Each run's job id is `periodic:<name>:<scheduled time>`,
 * so the scheduler's own duplicate deliveries of a run share an id for idempotency to collapse.
 *
 * Give either `job` (an existing contract) or a `schema` (or neither: a job named `name` is defined).
 */
export function definePeriodicJob<const J extends AnyJob>(
  options: PeriodicOptionsBase & { job: J; payload?: NonNullable<J['~types']>['input'] },
): PeriodicJob<NonNullable<J['~types']>['input'], NonNullable<J['~types']>['output']>;
export function definePeriodicJob<const S extends StandardSchemaV1>(
  options: PeriodicOptionsBase & { schema: S; payload?: InferInput<S>; job?: undefined },
): PeriodicJob<InferInput<S>, InferOutput<S>>;
export function definePeriodicJob<TPayload = undefined>(
  options: PeriodicOptionsBase & { payload?: TPayload; schema?: undefined; job?: undefined },
): PeriodicJob<TPayload, TPayload>;
export function definePeriodicJob(
  options: PeriodicOptionsBase & { job?: AnyJob; schema?: StandardSchemaV1; payload?: unknown },
): PeriodicJob {
  const { name, job: given, schema, timezone = 'UTC', enabled = true } = options ?? ({} as typeof options);
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new ConfigurationError(
      `Invalid periodic job name ${JSON.stringify(name)}: use 1-60 letters, digits, '-', '_' or '.' (it names the schedule)`,
    );
  }
  if (given !== undefined && !isJob(given))
    throw new ConfigurationError(`Periodic job "${name}": job must come from defineJob`);
  if (given && schema) throw new ConfigurationError(`Periodic job "${name}": give job or schema, not both`);
  const expression = parseSchedule(options.schedule);
  if (expression.kind === 'at') {
    throw new InvalidScheduleExpressionError(
      options.schedule,
      'a periodic job needs cron(...) or rate(...); for one run, use enqueueAt',
    );
  }
  assertTimezone(timezone);
  const job = given ?? defineJob({ name, schema: schema as StandardSchemaV1, queue: options.queue });
  const queue = options.queue ?? job.queue;
  if (!queue)
    throw new ConfigurationError(`Periodic job "${name}" has no queue: pass queue, or give the job one`);
  if (
    options.group !== undefined &&
    (typeof options.group !== 'string' || options.group.length === 0 || options.group.length > 128)
  ) {
    throw new ConfigurationError(`Periodic job "${name}": group must be 1-128 characters`);
  }
  const periodic: PeriodicSpec = {
    name,
    scheduleName: periodicScheduleName(name),
    expression,
    timezone,
    queue,
    group: options.group,
    payload: options.payload,
    meta: { ...options.meta },
    enabled,
  };
  return Object.freeze({ ...job, periodic }) as PeriodicJob;
}

/** True for a job made by `definePeriodicJob`. */
export function isPeriodicJob(value: unknown): value is PeriodicJob {
  return isJob(value) && typeof (value as { periodic?: unknown }).periodic === 'object';
}

/**
 * The schedule input of a periodic job: its envelope, with EventBridge's `<aws.scheduler.scheduled-time>`
 * where the job id and enqueue times go, so each run is stamped with its own due time. The payload's JSON
 * round trip is validated against the job's schema first, as `enqueue` would.
 */
export async function periodicInput(job: PeriodicJob<any, any>): Promise<string> {
  const { periodic } = job;
  let payloadJson: string | undefined;
  try {
    payloadJson = periodic.payload === undefined ? undefined : JSON.stringify(periodic.payload);
  } catch (error) {
    throw new InvalidJobPayloadError(
      job.name,
      `the payload cannot be encoded as JSON (${(error as Error).message})`,
      { cause: error },
    );
  }
  if (job.schema) {
    let result = job.schema['~standard'].validate(
      payloadJson === undefined ? undefined : JSON.parse(payloadJson),
    );
    if (result instanceof Promise) result = await result;
    if (result.issues) throw new InvalidJobPayloadError(job.name, result.issues);
  }
  return encodeEnvelope({
    id: `periodic:${periodic.name}:${SCHEDULED_TIME}`,
    name: job.name,
    payloadJson,
    enqueuedAt: SCHEDULED_TIME,
    firstEnqueuedAt: SCHEDULED_TIME,
    priorAttempts: 0,
    meta: periodic.meta,
  });
}

/** The fields of a periodic job's schedule that do not depend on where it is delivered. */
export function scheduleFields(job: PeriodicJob<any, any>, groupName: string) {
  const { periodic } = job;
  return {
    Name: periodic.scheduleName,
    GroupName: groupName,
    ScheduleExpression: periodic.expression.expression,
    ScheduleExpressionTimezone: periodic.timezone,
    FlexibleTimeWindow: { Mode: 'OFF' as const },
    State: periodic.enabled ? ('ENABLED' as const) : ('DISABLED' as const),
    Description:
      `Glasswork periodic job "${periodic.name}" (job "${job.name}", queue "${periodic.queue}")`.slice(
        0,
        512,
      ),
  };
}

/** Values EventBridge Scheduler substitutes into a schedule's input when it runs. */
export interface ContextAttributes {
  readonly scheduleArn: string;
  readonly scheduledTime: number;
  readonly executionId: string;
  readonly attemptNumber: number;
}

/** Substitutes the context attributes as EventBridge Scheduler does (used by the local scheduler). */
export function substituteContext(input: string, context: ContextAttributes): string {
  return input
    .replaceAll('<aws.scheduler.schedule-arn>', context.scheduleArn)
    .replaceAll(SCHEDULED_TIME, isoSeconds(context.scheduledTime))
    .replaceAll('<aws.scheduler.execution-id>', context.executionId)
    .replaceAll('<aws.scheduler.attempt-number>', String(context.attemptNumber));
}

/**
 * The next due time of a periodic schedule strictly after `after`. A rate counts from `start` (EventBridge
 * starts a rate schedule without a start date when it is created); a cron reads its fields in `timezone`.
 */
export function nextRunTime(
  spec: Pick<PeriodicSpec, 'expression' | 'timezone'>,
  after: number,
  start: number,
): number | undefined {
  const { expression } = spec;
  if (expression.kind === 'cron') return nextCronTime(expression, after, spec.timezone);
  if (after < start) return start;
  return start + (Math.floor((after - start) / expression.intervalMs) + 1) * expression.intervalMs;
}
