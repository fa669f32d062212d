import type { Duration } from './duration.ts';
import { parseDuration } from './duration.ts';
import { ConfigurationError, isTransientJobError } from './errors.ts';
import type { Backoff, RetryOption } from './types.ts';

/** No retry is scheduled sooner than this, so a failing job can never spin. */
export const MIN_RETRY_DELAY_MS = 1000;

/** A resolved retry policy. */
export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly dead: boolean;
  /** On FIFO queues, a job that failed for good keeps retrying (holding its group) until the last receive. */
  readonly blockGroup: boolean;
  /** Delay before the attempt after `attempt` (1-based), never below `MIN_RETRY_DELAY_MS`. */
  delay(attempt: number, error: unknown): number;
}

const DEFAULT_MAX_ATTEMPTS = 5;

/** Turns a backoff option into a delay function (milliseconds). */
export function backoffDelay(backoff: Backoff): (attempt: number, error: unknown) => number {
  if (typeof backoff === 'function') return (attempt, error) => parseDuration(backoff(attempt, error));
  if (typeof backoff === 'number' || typeof backoff === 'string') {
    const ms = parseDuration(backoff);
    return () => ms;
  }
  if (Array.isArray(backoff)) {
    if (backoff.length === 0) throw new ConfigurationError('A backoff list needs at least one delay');
    const list = backoff.map((d) => parseDuration(d));
    return (attempt) => list[Math.min(Math.max(attempt, 1), list.length) - 1] as number;
  }
  const shape = backoff as Exclude<Backoff, Duration | readonly Duration[] | ((...a: never[]) => unknown)>;
  if (shape.type === 'fixed') {
    const ms = parseDuration(shape.delay);
    return () => ms;
  }
  if (shape.type === 'exponential') {
    const base = parseDuration(shape.base ?? '1s');
    const max = parseDuration(shape.max ?? '15m');
    const min = parseDuration(shape.min ?? '1s');
    const full = (shape.jitter ?? 'full') === 'full';
    return (attempt) => {
      const ceiling = Math.min(max, base * 2 ** Math.min(Math.max(attempt, 1) - 1, 52));
      return Math.max(min, full ? Math.random() * ceiling : ceiling);
    };
  }
  throw new ConfigurationError(
    `Unknown backoff ${JSON.stringify(backoff)}: use a duration, a list, a function, { type: 'fixed' } or { type: 'exponential' }`,
  );
}

/** The default: 5 attempts, exponential backoff with full jitter from 1s up to 15m, dead-lettered at the end. */
export const DEFAULT_RETRY: RetryPolicy = resolveRetry(undefined);

/** Resolves a retry option; fields it leaves out come from `base` (the worker's policy). */
export function resolveRetry(option: RetryOption | undefined, base?: RetryPolicy): RetryPolicy {
  // `false` is one attempt, then dead: it holds no FIFO group, whatever the worker's default.
  if (option === false) option = { maxAttempts: 1, blockGroup: false };
  if (
    typeof option === 'object' &&
    option.blockGroup !== undefined &&
    typeof option.blockGroup !== 'boolean'
  ) {
    throw new ConfigurationError(`retry.blockGroup must be true or false, got ${String(option.blockGroup)}`);
  }
  if (typeof option === 'number') option = { maxAttempts: option };
  const maxAttempts = option?.maxAttempts ?? base?.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new ConfigurationError(`maxAttempts must be a whole number >= 1, got ${maxAttempts}`);
  }
  const compute = option?.backoff !== undefined ? backoffDelay(option.backoff) : undefined;
  const fallback = base?.delay ?? backoffDelay({ type: 'exponential' });
  return {
    maxAttempts,
    dead: option?.dead ?? base?.dead ?? true,
    blockGroup: option?.blockGroup ?? base?.blockGroup ?? false,
    delay(attempt, error) {
      const ms = compute ? compute(attempt, error) : fallback(attempt, error);
      return Math.max(MIN_RETRY_DELAY_MS, Number.isFinite(ms) ? ms : MIN_RETRY_DELAY_MS);
    },
  };
}

/** The delay for a failed attempt: the error's `retryAfter` wins over the policy. */
export function retryDelay(policy: RetryPolicy, attempt: number, error: unknown): number {
  if (isTransientJobError(error) && error.retryAfter !== undefined) {
    return Math.max(MIN_RETRY_DELAY_MS, error.retryAfter);
  }
  return policy.delay(attempt, error);
}
