import type { Outcome } from '@glasswork/core';
import type { Attributes, Span } from '@opentelemetry/api';
import { SpanStatusCode } from '@opentelemetry/api';

// Messaging semantic conventions (https://opentelemetry.io/docs/specs/semconv/messaging/), spelled out
// here because they live in the incubating entry of @opentelemetry/semantic-conventions.
export const MESSAGING_SYSTEM = 'messaging.system';
export const DESTINATION_NAME = 'messaging.destination.name';
export const MESSAGE_ID = 'messaging.message.id';
export const OPERATION_TYPE = 'messaging.operation.type';
export const OPERATION_NAME = 'messaging.operation.name';
export const BATCH_MESSAGE_COUNT = 'messaging.batch.message_count';
export const ERROR_TYPE = 'error.type';

export const JOB_NAME = 'glasswork.job.name';
export const JOB_ID = 'glasswork.job.id';
export const JOB_ATTEMPT = 'glasswork.job.attempt';
export const OUTCOME = 'glasswork.outcome';
export const OUTCOME_REASON = 'glasswork.outcome.reason';
export const DELAY_MS = 'glasswork.delay_ms';

/** What happened to a delivery, named as its terminal event: `success`, `retry`, `dead`, … */
export type OutcomeName = 'success' | 'duplicate' | 'retry' | 'defer' | 'dead' | 'discard';

export function outcomeName(outcome: Outcome): OutcomeName {
  if (outcome.type === 'ack') return outcome.duplicate ? 'duplicate' : 'success';
  return outcome.type;
}

/** A low-cardinality class of an error: its name (`JobTimeoutError`), or `_OTHER` for a non-error. */
export function errorType(error: unknown): string {
  return error instanceof Error && error.name ? error.name : '_OTHER';
}

/** Marks a span failed: status, `error.type` and the exception (with its stack) as an event. */
export function recordFailure(span: Span, error: unknown, description?: string): void {
  span.setAttribute(ERROR_TYPE, errorType(error));
  if (error instanceof Error) span.recordException(error);
  else if (error !== undefined) span.recordException(String(error));
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: description ?? (error instanceof Error ? error.message : String(error)),
  });
}

/** Sets the outcome on a `process` span; failures (retry, dead, discard) mark it failed. */
export function recordOutcome(span: Span, outcome: Outcome): void {
  const attributes: Attributes = { [OUTCOME]: outcomeName(outcome) };
  if (outcome.type === 'retry' || outcome.type === 'defer') attributes[DELAY_MS] = outcome.delayMs;
  if (outcome.type === 'defer' || outcome.type === 'dead' || outcome.type === 'discard') {
    attributes[OUTCOME_REASON] = outcome.reason;
  }
  span.setAttributes(attributes);
  if (outcome.type === 'retry') recordFailure(span, outcome.error);
  else if (outcome.type === 'dead' || outcome.type === 'discard') {
    recordFailure(span, outcome.error, outcome.reason);
  }
}
