import { IncompatibleMessageError, isPermanentJobError, RetryExhaustedError } from './errors.ts';
import type { RetryPolicy } from './retry.ts';
import { MIN_RETRY_DELAY_MS, resolveRetry, retryDelay } from './retry.ts';
import type { Delivery, DeliveryContext, Outcome } from './types.ts';

// Pure decisions of the outcome table (DESIGN.md, Outcomes), given where the message stands with the queue.

const INCOMPATIBLE_BACKOFF = resolveRetry({
  backoff: { type: 'exponential', base: '10s', max: '5m', min: '5s' },
});

/** The queue's redrive policy moves the message on the next receive: act now or SQS acts silently. */
export function isLastReceive(delivery: Delivery): boolean {
  return delivery.maxReceiveCount !== undefined && delivery.receiveCount >= delivery.maxReceiveCount;
}

function lastReceiveReason(delivery: Delivery, what: string): string {
  return `${what}, on receive ${delivery.receiveCount} of the ${delivery.maxReceiveCount} the queue's redrive policy allows`;
}

/** An error's message for a reason string; never throws, whatever was thrown. */
export function messageOf(error: unknown): string {
  try {
    return error instanceof Error ? error.message : String(error);
  } catch {
    return Object.prototype.toString.call(error);
  }
}

function giveUp(dead: boolean, reason: string, error: unknown): Outcome {
  return dead ? { type: 'dead', reason, error } : { type: 'discard', reason, error };
}

/**
 * A job that failed for good: dead (or discarded), unless `blockGroup` holds its FIFO group, where it is
 * retried after the backoff until the last receive. `cause` is what the handler threw (its `retryAfter`
 * and a backoff function see it); `error` is what the outcome reports.
 */
function failedForGood(
  ctx: DeliveryContext,
  policy: RetryPolicy,
  reason: string,
  error: unknown,
  cause: unknown = error,
): Outcome {
  const group = ctx.delivery.groupId;
  if (!policy.blockGroup || group === undefined) return giveUp(policy.dead, reason, error);
  // Without the queue's maxReceiveCount nothing would end the hold but the retention period, which
  // deletes the message silently: dead-letter as usual, and say why.
  if (ctx.delivery.maxReceiveCount === undefined) {
    return giveUp(
      policy.dead,
      `${reason} (retry.blockGroup needs a redrive policy's maxReceiveCount to end the hold; the queue has none)`,
      error,
    );
  }
  if (isLastReceive(ctx.delivery)) {
    return giveUp(policy.dead, lastReceiveReason(ctx.delivery, `${reason}; held group "${group}"`), error);
  }
  return {
    type: 'retry',
    delayMs: retryDelay(policy, ctx.attempt, cause),
    error,
    blocksGroup: `${reason}; holding group "${group}" (retry.blockGroup)`,
  };
}

/** A handler failure: permanent, exhausted, on the last receive, or retried after the backoff. */
export function failureOutcome(ctx: DeliveryContext, policy: RetryPolicy, error: unknown): Outcome {
  if (isPermanentJobError(error))
    return failedForGood(ctx, policy, `permanent failure: ${messageOf(error)}`, error);
  if (ctx.attempt >= policy.maxAttempts) {
    return failedForGood(
      ctx,
      policy,
      `retries exhausted after ${ctx.attempt} attempt${ctx.attempt === 1 ? '' : 's'}: ${messageOf(error)}`,
      new RetryExhaustedError(ctx.jobName ?? 'unknown', ctx.attempt, { cause: error }),
      error,
    );
  }
  if (isLastReceive(ctx.delivery))
    return giveUp(policy.dead, lastReceiveReason(ctx.delivery, messageOf(error)), error);
  return { type: 'retry', delayMs: retryDelay(policy, ctx.attempt, error), error };
}

/** Not this delivery's turn; on the last receive it becomes dead, so SQS never moves it silently. */
export function deferOutcome(ctx: DeliveryContext, delayMs: number, reason: string, dead: boolean): Outcome {
  if (!isLastReceive(ctx.delivery)) return { type: 'defer', delayMs: Math.max(0, delayMs), reason };
  return giveUp(dead, lastReceiveReason(ctx.delivery, `deferred (${reason})`), undefined);
}

/** A message arriving after its last attempt: dead-lettered without running. */
export function arrivedTooLateOutcome(ctx: DeliveryContext, policy: RetryPolicy): Outcome {
  const reason = `arrived on attempt ${ctx.attempt}, past maxAttempts ${policy.maxAttempts}; not run`;
  return giveUp(policy.dead, reason, new RetryExhaustedError(ctx.jobName ?? 'unknown', ctx.attempt - 1));
}

/**
 * A message this worker cannot run yet (unknown job or version, payload failing the schema): retried
 * until `windowMs` has passed since its enqueue, since a deploy may be rolling out.
 */
export function incompatibleOutcome(
  ctx: DeliveryContext,
  windowMs: number,
  reason: string,
  error: unknown,
  dead = true,
): Outcome {
  const now = ctx.delivery.receivedAt ?? ctx.now();
  // The earlier of the envelope's time and the queue's: a producer clock in the future cannot stretch the window.
  const enqueued = ctx.envelope ? Date.parse(ctx.envelope.enqueuedAt) : Number.NaN;
  const since = Math.min(Number.isNaN(enqueued) ? now : enqueued, ctx.delivery.sentAt ?? now);
  const age = now - since;
  const err = error ?? new IncompatibleMessageError(reason);
  if (age >= windowMs) {
    return giveUp(
      dead,
      `incompatible for ${Math.round(age / 1000)}s (limit ${Math.round(windowMs / 1000)}s): ${reason}`,
      err,
    );
  }
  if (isLastReceive(ctx.delivery))
    return giveUp(dead, lastReceiveReason(ctx.delivery, `incompatible: ${reason}`), err);
  const backoff = INCOMPATIBLE_BACKOFF.delay(ctx.delivery.receiveCount, err);
  return {
    type: 'retry',
    delayMs: Math.max(MIN_RETRY_DELAY_MS, Math.min(backoff, windowMs - age)),
    error: err,
  };
}
