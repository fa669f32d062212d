export type { DeadLetterMessage } from './dead-letter.ts';
export {
  DEAD_LETTER_ATTRIBUTE,
  deadLetterAttribute,
  deadLetterMessage,
  parseRedrivePolicy,
  resolveDeadLetter,
  SQS_MAX_MESSAGE_BYTES,
  sendToDeadLetter,
} from './dead-letter.ts';
export { SQS_CAPABILITIES, sqsDriver } from './driver.ts';
export type { SqsErrorOptions } from './errors.ts';
export { DeadLetterError, isRetryableSqsError, SqsError, sqsErrorCode } from './errors.ts';
export type { Poller, PollerOptions, PollerStats } from './poller.ts';
export { createPoller } from './poller.ts';
export type { QueueArn } from './queues.ts';
export { parseQueueArn, queueNameFromUrl, queueUrlFromArn } from './queues.ts';
export { attributeRequested, SYSTEM_ATTRIBUTE_NAMES, systemFields, toReceivedMessage } from './receive.ts';
export type { SendBatchOptions } from './send.ts';
export { MAX_DELAY_SECONDS, MAX_MESSAGE_ATTRIBUTES, sendBatch } from './send.ts';
export type {
  DeadLetterTarget,
  QueueRef,
  SqsClientLike,
  SqsDriver,
  SqsDriverOptions,
  SqsQueueInfo,
  SqsReceivedMessage,
} from './types.ts';
export { changeMessageVisibility, releaseMessage } from './visibility.ts';
