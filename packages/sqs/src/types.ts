import type {
  DeadLetterInfo,
  Duration,
  OutgoingMessage,
  QueueDriver,
  QueueInfo,
  ReceivedMessage,
  SendResult,
} from '@glasswork/core';

/**
 * What the driver needs of an SQS client: an `SQSClient` from `@aws-sdk/client-sqs` (v3) fits, and so
 * does any wrapper with the same `send`.
 */
export interface SqsClientLike {
  send(command: any, options?: any): Promise<any>;
}

/** A queue as SQS knows it: a URL, an ARN (any partition) or a queue name (resolved with GetQueueUrl). */
export type QueueRef = string;

export interface SqsDriverOptions {
  /** The SQS client to use. @default a client created on first use from `region` and `endpoint` */
  client?: SqsClientLike;
  /** Region of the client the driver creates. @default the SDK's (AWS_REGION, profile) */
  region?: string;
  /**
   * SQS endpoint (LocalStack, an emulator, a VPC endpoint): given to the client the driver creates, and
   * used to turn ARNs into URLs. @default `AWS_ENDPOINT_URL_SQS` or `AWS_ENDPOINT_URL` when set (as the SDK
   * reads them), else the partition's public endpoint
   */
  endpoint?: string;
  /**
   * Where each queue name your jobs use lives: a URL, an ARN or an SQS queue name. Without this option,
   * every queue name is looked up with GetQueueUrl; with it, unknown names are an error (URLs and ARNs
   * always work). @default look names up
   */
  queues?: Readonly<Record<string, QueueRef>>;
  /**
   * Dead-letter queue: one for every queue, one per queue, or `false` to delete dead jobs instead (the
   * `dead` event is then their only record). @default the queue's RedrivePolicy target
   */
  deadLetter?: false | QueueRef | Readonly<Record<string, QueueRef | false>>;
  /** Attempts in all for a call that fails in a retryable way, on top of the SDK's own retries. @default 3 */
  attempts?: number;
  /** How long acknowledgements wait to be deleted together in one DeleteMessageBatch. @default '5ms' */
  deleteBatchWindow?: Duration;
  /**
   * Message attributes to request on receive (names, `prefix.*` or `All`); others are dropped.
   * @default ['glasswork.*']
   */
  messageAttributeNames?: readonly string[];
}

/** What the driver knows of an SQS queue. */
export interface SqsQueueInfo extends QueueInfo {
  readonly url: string;
  readonly arn: string | undefined;
  readonly maxMessageBytes: number;
  /** The queue's default visibility timeout, in seconds. */
  readonly visibilityTimeoutSeconds: number;
  /** The RedrivePolicy's target, when there is one. */
  readonly deadLetterTargetArn: string | undefined;
}

/** Where dead jobs of a queue go. */
export interface DeadLetterTarget {
  readonly url: string;
  readonly fifo: boolean;
  /** The dead-letter queue's MaximumMessageSize. */
  readonly maxMessageBytes: number;
  /** The source queue's RedrivePolicy `maxReceiveCount`, when it has one. */
  readonly maxReceiveCount: number | undefined;
}

/** A message received from SQS. */
export interface SqsReceivedMessage extends ReceivedMessage {
  /** The queue's URL. */
  readonly queueUrl: string;
}

/** The SQS driver: a `QueueDriver` plus what the poller and the Lambda adapter use. */
/**
 * The SQS driver: a `QueueDriver` plus what the poller and the Lambda adapter use. Each method names the
 * IAM actions it needs (KMS-encrypted queues also need `kms:GenerateDataKey` to send, `kms:Decrypt` to receive).
 */
export interface SqsDriver extends QueueDriver {
  readonly name: 'sqs';
  /** The SQS client (created on first use unless one was given). */
  client(): SqsClientLike;
  /** The URL of a queue name, URL or ARN. IAM: `sqs:GetQueueUrl` for names. */
  queueUrl(queue: string): Promise<string>;
  /** The queue's attributes (cached; a failed lookup is not). IAM: `sqs:GetQueueAttributes`. */
  describeQueue(queue: string): Promise<SqsQueueInfo>;
  /**
   * Where the queue's dead jobs go; `undefined` when `deadLetter: false`; a `ConfigurationError` when there
   * is none. IAM: `sqs:GetQueueAttributes` on the queue and its dead-letter queue.
   */
  deadLetterTarget(queue: string): Promise<DeadLetterTarget | undefined>;
  /** One batch with SendMessageBatch. IAM: `sqs:SendMessage` (and `sqs:GetQueueAttributes` via `describeQueue`). */
  send(queue: string, messages: readonly OutgoingMessage[]): Promise<SendResult[]>;
  /** A long poll. IAM: `sqs:ReceiveMessage`. */
  receive(
    queue: string,
    options: Parameters<NonNullable<QueueDriver['receive']>>[1],
  ): Promise<SqsReceivedMessage[]>;
  /** Deletes, ten to a DeleteMessageBatch. IAM: `sqs:DeleteMessage`. */
  ack(queue: string, messages: readonly ReceivedMessage[]): Promise<void>;
  /** Visible again after `delaySeconds`. IAM: `sqs:ChangeMessageVisibility`. */
  release(queue: string, message: ReceivedMessage, delaySeconds: number): Promise<void>;
  /**
   * Copies the message to the dead-letter queue with the reason, then deletes it (only deletes with
   * `deadLetter: false`). IAM: `sqs:SendMessage` on the dead-letter queue, `sqs:DeleteMessage` on the queue.
   */
  deadLetter(queue: string, message: ReceivedMessage, info: DeadLetterInfo): Promise<void>;
  /**
   * Sets the visibility of received messages to `seconds` from now (heartbeats); returns those that failed.
   * IAM: `sqs:ChangeMessageVisibility`.
   */
  extendVisibility(
    queue: string,
    messages: readonly ReceivedMessage[],
    seconds: number,
  ): Promise<{ message: ReceivedMessage; error: Error }[]>;
  /** Sends pending deletes, and destroys the client if the driver created it. */
  close(): Promise<void>;
}
