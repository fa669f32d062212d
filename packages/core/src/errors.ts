import type { Duration } from './duration.ts';
import { parseDuration } from './duration.ts';

/**
 * Each error class carries a brand under this registry symbol, so an error thrown by one copy of
 * `@glasswork/core` is recognised by another (two versions in one bundle, a plugin with its own copy).
 */
const BRAND = Symbol.for('glasswork.error.brand');

type Branded = { [BRAND]?: string };

function hasBrand(value: unknown, brand: string): boolean {
  let proto: unknown = value;
  while (proto !== null && typeof proto === 'object') {
    const ctor = (proto as { constructor?: Branded }).constructor;
    if (ctor && Object.hasOwn(ctor, BRAND) && ctor[BRAND] === brand) return true;
    proto = Object.getPrototypeOf(proto);
  }
  return false;
}

function brand<T extends abstract new (...args: any[]) => Error>(ctor: T, name: string): void {
  Object.defineProperty(ctor, BRAND, { value: name });
  // `instanceof` checks the brand instead of identity, so it also holds across copies of the core;
  // a user's subclass (which owns no brand) falls back to the ordinary prototype check.
  Object.defineProperty(ctor, Symbol.hasInstance, {
    value(this: Branded & Function, value: unknown): boolean {
      if (!Object.hasOwn(this, BRAND)) return Function.prototype[Symbol.hasInstance].call(this, value);
      return hasBrand(value, this[BRAND] as string);
    },
  });
}

export interface GlassworkErrorOptions {
  cause?: unknown;
}

/** Base class of every error Glasswork throws or recognises. */
export class GlassworkError extends Error {
  /** A stable, machine-readable code, e.g. `PAYLOAD_TOO_LARGE`. */
  readonly code: string = 'GLASSWORK_ERROR';
  constructor(message: string, options?: GlassworkErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}
brand(GlassworkError, 'GlassworkError');

/** Options or wiring that cannot work; the message says what to change. */
export class ConfigurationError extends GlassworkError {
  override readonly code: string = 'CONFIGURATION';
}
brand(ConfigurationError, 'ConfigurationError');

/** An issue reported by a Standard Schema validator. */
export interface SchemaIssue {
  readonly message: string;
  readonly path?: readonly (PropertyKey | { readonly key: PropertyKey })[] | undefined;
}

function formatIssues(issues: readonly SchemaIssue[]): string {
  return issues
    .slice(0, 5)
    .map((issue) => {
      const path = issue.path
        ?.map((p) => (typeof p === 'object' && p !== null ? String(p.key) : String(p)))
        .join('.');
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
}

/** The payload is not JSON, or its JSON round trip does not pass the job's schema. */
export class InvalidJobPayloadError extends GlassworkError {
  override readonly code: string = 'INVALID_PAYLOAD';
  readonly job: string;
  readonly issues: readonly SchemaIssue[];
  constructor(job: string, detail: string | readonly SchemaIssue[], options?: GlassworkErrorOptions) {
    const issues = typeof detail === 'string' ? [{ message: detail }] : detail;
    super(`Invalid payload for job "${job}": ${formatIssues(issues)}`, options);
    this.job = job;
    this.issues = issues;
  }
}
brand(InvalidJobPayloadError, 'InvalidJobPayloadError');

/** The encoded message is larger than the queue accepts. */
export class PayloadTooLargeError extends GlassworkError {
  override readonly code: string = 'PAYLOAD_TOO_LARGE';
  readonly job: string;
  readonly bytes: number;
  readonly limit: number;
  constructor(job: string, bytes: number, limit: number) {
    super(
      `Job "${job}" encodes to ${bytes} bytes, over the limit of ${limit} bytes: ` +
        'store large data elsewhere (S3, a database) and enqueue a reference to it',
    );
    this.job = job;
    this.bytes = bytes;
    this.limit = limit;
  }
}
brand(PayloadTooLargeError, 'PayloadTooLargeError');

/** The requested delay is longer than the driver can hold. */
export class DelayTooLongError extends GlassworkError {
  override readonly code: string = 'DELAY_TOO_LONG';
  readonly job: string;
  readonly delaySeconds: number;
  readonly maxDelaySeconds: number;
  constructor(job: string, delaySeconds: number, maxDelaySeconds: number, detail?: string) {
    super(
      detail ??
        `Job "${job}" asks for a delay of ${delaySeconds}s but the driver holds at most ${maxDelaySeconds}s: ` +
          'wrap the driver with @glasswork/scheduler for longer delays',
    );
    this.job = job;
    this.delaySeconds = delaySeconds;
    this.maxDelaySeconds = maxDelaySeconds;
  }
}
brand(DelayTooLongError, 'DelayTooLongError');

/** The driver did not accept a message (or it was not sent because an earlier one of its FIFO group failed). */
export class EnqueueError extends GlassworkError {
  override readonly code: string = 'ENQUEUE_FAILED';
  readonly job: string;
  readonly jobId: string;
  constructor(job: string, jobId: string, message: string, options?: GlassworkErrorOptions) {
    super(`Could not enqueue job "${job}" (${jobId}): ${message}`, options);
    this.job = job;
    this.jobId = jobId;
  }
}
brand(EnqueueError, 'EnqueueError');

export interface TransientJobErrorOptions extends GlassworkErrorOptions {
  /** Run again after this delay instead of the backoff policy's. */
  retryAfter?: Duration;
}

/** Throw from a handler to fail this attempt and retry later; `retryAfter` overrides the backoff. */
export class TransientJobError extends GlassworkError {
  override readonly code: string = 'TRANSIENT';
  /** Milliseconds, when given. */
  readonly retryAfter: number | undefined;
  constructor(message: string, options?: TransientJobErrorOptions) {
    super(message, options);
    this.retryAfter = options?.retryAfter === undefined ? undefined : parseDuration(options.retryAfter);
  }
}
brand(TransientJobError, 'TransientJobError');

/** Why an adapter stopped a running job. */
export type InterruptionCause = 'deadline' | 'shutdown';

/**
 * The reason a handler's `ctx.signal` carries when the adapter stops it: the Lambda invocation is about to
 * time out (`deadline`), or the poller is stopping and its grace period ran out (`shutdown`). A handler
 * that sees it can tell an interruption from its own timeout (a `JobTimeoutError`). The attempt counts as
 * failed and is retried after the job's backoff; the poller passes `retryAfter: '1s'` on shutdown, when the
 * message is only handed back to another worker.
 */
export class JobInterruptedError extends TransientJobError {
  override readonly code: string = 'INTERRUPTED';
  readonly interruption: InterruptionCause;
  constructor(interruption: InterruptionCause, message: string, options?: TransientJobErrorOptions) {
    super(message, options);
    this.interruption = interruption;
  }
}
brand(JobInterruptedError, 'JobInterruptedError');

/** Throw from a handler when retrying cannot help: the job is dead-lettered at once. */
export class PermanentJobError extends GlassworkError {
  override readonly code: string = 'PERMANENT';
}
brand(PermanentJobError, 'PermanentJobError');

/** The job used all its attempts; `cause` is the last attempt's error. */
export class RetryExhaustedError extends GlassworkError {
  override readonly code: string = 'RETRY_EXHAUSTED';
  readonly job: string;
  readonly attempts: number;
  constructor(job: string, attempts: number, options?: GlassworkErrorOptions) {
    super(`Job "${job}" failed after ${attempts} attempt${attempts === 1 ? '' : 's'}`, options);
    this.job = job;
    this.attempts = attempts;
  }
}
brand(RetryExhaustedError, 'RetryExhaustedError');

/** The handler ran past its `timeout`; its `AbortSignal` fired first. */
export class JobTimeoutError extends GlassworkError {
  override readonly code: string = 'TIMEOUT';
  readonly job: string;
  readonly timeoutMs: number;
  constructor(job: string, timeoutMs: number) {
    super(`Job "${job}" timed out after ${timeoutMs}ms`);
    this.job = job;
    this.timeoutMs = timeoutMs;
  }
}
brand(JobTimeoutError, 'JobTimeoutError');

/** A message no Glasswork producer would send: not JSON, not an envelope, no job name. */
export class MalformedMessageError extends GlassworkError {
  override readonly code: string = 'MALFORMED';
}
brand(MalformedMessageError, 'MalformedMessageError');

/**
 * A well-formed message this worker cannot run yet: an unknown envelope version or job name, or a payload
 * that fails the schema. Retried within a time budget, since a deploy may be rolling out.
 */
export class IncompatibleMessageError extends GlassworkError {
  override readonly code: string = 'INCOMPATIBLE';
}
brand(IncompatibleMessageError, 'IncompatibleMessageError');

/** True for a `PermanentJobError` from any copy of the core. */
export function isPermanentJobError(error: unknown): error is PermanentJobError {
  return hasBrand(error, 'PermanentJobError');
}

/** True for a `TransientJobError` from any copy of the core. */
export function isTransientJobError(error: unknown): error is TransientJobError {
  return hasBrand(error, 'TransientJobError');
}

/** True for any Glasswork error from any copy of the core. */
export function isGlassworkError(error: unknown): error is GlassworkError {
  return hasBrand(error, 'GlassworkError');
}

/** A plain-object copy of an error with its cause chain, safe to JSON-encode (DLQ attributes, logs). */
export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  stack?: string;
  cause?: SerializedError | string;
}

/** Serialises an error and its `cause` chain (at most 5 deep) without recursion. */
export function serializeError(error: unknown, options: { stack?: boolean } = {}): SerializedError {
  const root: SerializedError = { name: 'Error', message: '' };
  let target = root;
  let current: unknown = error;
  for (let depth = 0; ; depth++) {
    if (current instanceof Error) {
      target.name = current.name;
      target.message = current.message;
      const code = (current as { code?: unknown }).code;
      if (typeof code === 'string') target.code = code;
      if (options.stack && current.stack) target.stack = current.stack;
    } else {
      target.name = typeof current;
      target.message = safeString(current);
    }
    const cause = current instanceof Error ? current.cause : undefined;
    if (cause === undefined) return root;
    if (depth >= 4) {
      target.cause = '[cause chain truncated]';
      return root;
    }
    const next: SerializedError = { name: 'Error', message: '' };
    target.cause = next;
    target = next;
    current = cause;
  }
}

function safeString(value: unknown): string {
  try {
    return typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  } catch {
    return String(value);
  }
}
