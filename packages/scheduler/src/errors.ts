import { ConfigurationError, GlassworkError, PayloadTooLargeError } from '@glasswork/core';

/** A `cron(...)`, `rate(...)` or `at(...)` expression EventBridge Scheduler would reject. */
export class InvalidScheduleExpressionError extends ConfigurationError {
  override readonly code: string = 'INVALID_SCHEDULE_EXPRESSION';
  readonly expression: string;
  constructor(expression: string, reason: string) {
    super(`Invalid schedule expression ${JSON.stringify(expression)}: ${reason}`);
    this.expression = expression;
  }
}

/**
 * The envelope is larger than a schedule's target input may be. EventBridge Scheduler's limit is smaller
 * than SQS's, so a job that fits the queue can still be too large to schedule. Also an instance of the
 * core's `PayloadTooLargeError`.
 */
export class ScheduleInputTooLargeError extends PayloadTooLargeError {
  override readonly code: string = 'SCHEDULE_INPUT_TOO_LARGE';
  constructor(job: string, bytes: number, limit: number) {
    super(job, bytes, limit);
    this.message =
      `Job "${job}" encodes to ${bytes} bytes, over the ${limit} bytes a scheduled job's input may hold ` +
      '(EventBridge Scheduler limits the target input, below what SQS accepts): store large data elsewhere ' +
      '(S3, a database) and enqueue a reference to it, or enqueue it without a delay past the queue limit';
  }
}

/** EventBridge Scheduler (or the local scheduler) did not accept a schedule; `cause` is the service error. */
export class ScheduleError extends GlassworkError {
  override readonly code: string = 'SCHEDULE_FAILED';
}
