import type { Duration, OutgoingMessage } from '@glasswork/core';

/**
 * What Glasswork needs of an EventBridge Scheduler client: `SchedulerClient` from
 * `@aws-sdk/client-scheduler` fits. Commands are that package's (`CreateScheduleCommand`, ...).
 */
export interface SchedulerClientLike {
  send(command: any): Promise<any>;
}

/** What the local scheduler needs of an SQS client: `SQSClient` from `@aws-sdk/client-sqs` fits. */
export interface SqsClientLike {
  send(command: any): Promise<any>;
}

/** Retry policy EventBridge Scheduler applies when it cannot deliver to the queue. */
export interface TargetRetryOptions {
  /** Give up on a delivery this long after its scheduled time (1 minute to 24 hours). @default '24h' */
  maxEventAge?: Duration;
  /** Retries after the first try (0 to 185). @default 185 */
  maxAttempts?: number;
}

/** Where schedules deliver and with which role: shared by one-time and periodic schedules. */
export interface TargetOptions {
  /**
   * The execution role EventBridge Scheduler assumes to send to the queues. It needs `sqs:SendMessage` on
   * them (and `kms:GenerateDataKey` and `kms:Decrypt` on the key of an encrypted queue), and `sqs:SendMessage`
   * on `deadLetterArn`.
   */
  roleArn: string;
  /** Queue name, as jobs name it, to queue ARN: `{ emails: 'arn:aws:sqs:eu-west-1:123456789012:emails' }`. */
  queues: Readonly<Record<string, string>>;
  /** A standard SQS queue for deliveries the scheduler gives up on, or `false` for none (they are lost). */
  deadLetterArn: string | false;
  /** @default 24 hours, 185 retries (EventBridge Scheduler's own maximums) */
  retry?: TargetRetryOptions;
}

/** The `Target` of a schedule, as the EventBridge Scheduler API takes it. */
export interface ScheduleTarget {
  readonly Arn: string;
  readonly RoleArn: string;
  readonly Input: string;
  readonly RetryPolicy: { readonly MaximumEventAgeInSeconds: number; readonly MaximumRetryAttempts: number };
  readonly DeadLetterConfig?: { readonly Arn: string };
  readonly SqsParameters?: { readonly MessageGroupId: string | undefined };
}

/** One job to hold back until `at`, then send to its queue. */
export interface ScheduleRequest {
  /** The encoded message: `body` is the envelope, `id` the job id. */
  readonly message: OutgoingMessage;
  readonly queue: string;
  readonly fifo: boolean;
  /** Epoch ms, a whole second. */
  readonly at: number;
}

/**
 * Holds jobs past the queue's own delay limit and sends them when due: EventBridge Scheduler
 * (`eventBridgeScheduler`) or, for development and tests, `localScheduler`.
 */
export interface ScheduleBackend {
  /** Shown in errors, e.g. `'eventbridge'`. */
  readonly name: string;
  /** Largest envelope, in UTF-8 bytes, a schedule can carry. */
  readonly maxInputBytes: number;
  /** Creates the schedule; resolves to its ARN. Scheduling a job id again is a no-op. */
  schedule(request: ScheduleRequest): Promise<string>;
  /** Deletes the schedule of a job; false when there was none (already sent, or never scheduled). */
  cancel(jobId: string): Promise<boolean>;
  /** Releases timers and connections. */
  close?(): Promise<void>;
}
