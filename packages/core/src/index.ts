export type { ApplyOptions, BatchItem, Limiter, ProcessBatchOptions } from './batch.ts';
export {
  applyOutcome,
  createLimiter,
  deadLetterInfo,
  MAX_VISIBILITY_SECONDS,
  processBatch,
  visibilitySeconds,
} from './batch.ts';
export type { Client, ClientOptions } from './client.ts';
export { createClient, DEFAULT_MAX_MESSAGE_BYTES } from './client.ts';
export type { Duration } from './duration.ts';
export { parseDuration } from './duration.ts';
export type { DecodeResult, EnvelopeFields } from './envelope.ts';
export { decodeEnvelope, encodeEnvelope, JOB_NAME_ATTRIBUTE, messageBytes, utf8Bytes } from './envelope.ts';
export type {
  GlassworkErrorOptions,
  InterruptionCause,
  SchemaIssue,
  SerializedError,
  TransientJobErrorOptions,
} from './errors.ts';
export {
  ConfigurationError,
  DelayTooLongError,
  EnqueueError,
  GlassworkError,
  IncompatibleMessageError,
  InvalidJobPayloadError,
  isGlassworkError,
  isPermanentJobError,
  isTransientJobError,
  JobInterruptedError,
  JobTimeoutError,
  MalformedMessageError,
  PayloadTooLargeError,
  PermanentJobError,
  RetryExhaustedError,
  serializeError,
  TransientJobError,
} from './errors.ts';
export type { EventBusOptions } from './hooks.ts';
export { definePlugin } from './hooks.ts';
export { defineJob, isJob } from './job.ts';
export type { RetryPolicy } from './retry.ts';
export { MIN_RETRY_DELAY_MS, resolveRetry } from './retry.ts';
export type * from './types.ts';
export type { Handler, RunOptions, RunResult, Worker, WorkerOptions } from './worker.ts';
export { createWorker } from './worker.ts';
