import type { GlassworkErrorOptions } from '@glasswork/core';
import { GlassworkError, PermanentJobError } from '@glasswork/core';

/** Longest key in UTF-8 bytes (job name prefix and step included): fits DynamoDB's key and Postgres's index. */
export const MAX_KEY_LENGTH = 1024;

/** Base class of the errors of the idempotency plugin and its stores. */
export class IdempotencyError extends GlassworkError {
  override readonly code: string = 'IDEMPOTENCY';
}

/**
 * The key was first claimed with another payload. A `PermanentJobError`: the record will not change by
 * retrying, and the message is dead-lettered with its payload so that it can be inspected, not dropped.
 */
export class IdempotencyKeyMismatchError extends PermanentJobError {
  override readonly code: string = 'IDEMPOTENCY_KEY_MISMATCH';
  readonly key: string;
  readonly storedHash: string;
  readonly hash: string;
  constructor(key: string, storedHash: string, hash: string) {
    super(
      `Idempotency key "${key}" was first used with a different payload ` +
        `(hash ${storedHash.slice(0, 12)}… stored, ${hash.slice(0, 12)}… now): derive the key from every ` +
        'field that makes the job distinct, or enqueue the new job under a new id',
    );
    this.key = key;
    this.storedHash = storedHash;
    this.hash = hash;
  }
}

/** A key function returned something that cannot be a key. Permanent: the same payload gives the same key. */
export class InvalidIdempotencyKeyError extends PermanentJobError {
  override readonly code: string = 'INVALID_IDEMPOTENCY_KEY';
  readonly jobName: string;
  constructor(jobName: string, detail: string) {
    super(
      `The idempotency key of job "${jobName}" ${detail}: return a non-empty string of at most ` +
        `${MAX_KEY_LENGTH} bytes, or false to run the job without idempotency`,
    );
    this.jobName = jobName;
  }
}

/** A store call failed before the handler ran; the delivery is retried. */
export class IdempotencyStoreError extends IdempotencyError {
  override readonly code: string = 'IDEMPOTENCY_STORE';
  readonly store: string;
  readonly key: string;
  constructor(store: string, operation: string, key: string, options?: GlassworkErrorOptions) {
    const cause = options?.cause instanceof Error ? `: ${options.cause.message}` : '';
    super(
      `The ${store} idempotency store failed to ${operation} key "${key}"${cause}; the delivery is retried`,
      options,
    );
    this.store = store;
    this.key = key;
  }
}

/**
 * This delivery's lock expired and another delivery claimed the key, so the store refused this one's
 * completion. Thrown by `completeInTransaction` (roll back: the other delivery does the work) and by
 * `once` (stop: this delivery is a zombie). The plugin turns it into `duplicate` or `defer`.
 */
export class IdempotencyLockLostError extends IdempotencyError {
  override readonly code: string = 'IDEMPOTENCY_LOCK_LOST';
  readonly key: string;
  constructor(key: string) {
    super(
      `The lock on idempotency key "${key}" was lost: it expired and another delivery claimed the key. ` +
        'This delivery must not record its work; raise lockTimeout (or the deadline) above the run time',
    );
    this.key = key;
  }
}

/** A step of `once` is locked by another delivery (a zombie past its lock); the plugin defers. */
export class IdempotencyStepLockedError extends IdempotencyError {
  override readonly code: string = 'IDEMPOTENCY_STEP_LOCKED';
  readonly key: string;
  /** When the other delivery's lock on the step ends, epoch ms. */
  readonly lockExpiresAt: number;
  constructor(key: string, lockExpiresAt: number) {
    super(
      `Step "${key}" is locked by another delivery until ${new Date(lockExpiresAt).toISOString()}; ` +
        'this delivery is deferred until then',
    );
    this.key = key;
    this.lockExpiresAt = lockExpiresAt;
  }
}

/** Recognises the plugin's own control errors by code, so two copies of this package agree. */
export function hasCode<T extends IdempotencyError>(error: unknown, code: string): error is T {
  return error instanceof Error && (error as { code?: unknown }).code === code;
}
