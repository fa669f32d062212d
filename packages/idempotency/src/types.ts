import type { AnyJob, Duration, JobOutput } from '@glasswork/core';

/** A JSON value: what stores keep as a result. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** What a store holds under one key. */
export interface IdempotencyRecord {
  readonly key: string;
  /** `in_progress` while a delivery holds the lock; `completed` once it recorded its success. */
  readonly status: 'in_progress' | 'completed';
  /** Hash of the payload that claimed the key, when hashing is on. */
  readonly hash: string | undefined;
  /** The completed job's result, as JSON; undefined when none was stored. */
  readonly result: JsonValue | undefined;
  /**
   * Epoch ms after which the record counts as absent: the end of the lock while in progress, the end of
   * the retention once completed. Stores treat an expired record as absent even before they delete it.
   */
  readonly expiresAt: number;
}

/** Options of `claim`. Times are epoch ms from the plugin's clock, so every store agrees on "now". */
export interface ClaimOptions {
  readonly now: number;
  /** When the lock ends unless completed or released first. */
  readonly lockExpiresAt: number;
  /** Hash of the payload, stored with the claim so a later claim can detect a different payload. */
  readonly hash?: string | undefined;
}

/** What `claim` found. */
export type ClaimResult =
  /** The key was absent or expired: it is now locked by this claim, under a new fencing token. */
  | { readonly status: 'acquired'; readonly token: string }
  /** Another claim holds a lock that has not expired. */
  | { readonly status: 'in_progress'; readonly record: IdempotencyRecord }
  /** A completed record that has not expired. */
  | { readonly status: 'completed'; readonly record: IdempotencyRecord };

/** A held claim: the key and the fencing token the claim returned. */
export interface Lease {
  readonly key: string;
  /** Unique per claim: a store completes or releases a record only for the token it holds. */
  readonly token: string;
}

/** Options of `complete`. */
export interface CompleteOptions {
  readonly now: number;
  /** When the completed record is forgotten (epoch ms). */
  readonly expiresAt: number;
  /** The result to keep; undefined keeps whatever was recorded under the same token before. */
  readonly result?: JsonValue | undefined;
}

/**
 * Where idempotency records live. Four methods; each is one atomic step on one key. A store never decides
 * by its own clock: every time comes from the caller, so workers (and virtual clocks in tests) agree.
 * Check a store with `storeTestSuite`.
 */
export interface IdempotencyStore {
  /** Shown in errors, e.g. `'memory'`, `'dynamodb'`, `'postgres'`. */
  readonly name: string;
  /**
   * Atomically: if the key is absent or its record expired, lock it until `lockExpiresAt` under a new
   * token; otherwise report the live record. Exactly one of concurrent claims of a free key acquires it.
   */
  claim(key: string, options: ClaimOptions): Promise<ClaimResult>;
  /**
   * Marks the record completed, if it still carries the lease's token (even past the lock's end, as long
   * as nobody claimed it since). Completing twice with the same token succeeds. Returns false for a stale
   * token: the key was claimed again, released, or forgotten.
   */
  complete(lease: Lease, options: CompleteOptions): Promise<boolean>;
  /** Removes an in-progress record that carries the lease's token, freeing the key. False otherwise. */
  release(lease: Lease): Promise<boolean>;
  /** The live record of a key, or undefined when it is absent or expired. */
  get(key: string, options: { readonly now: number }): Promise<IdempotencyRecord | undefined>;
}

/** What a key function gets besides the payload. */
export interface KeyInfo {
  readonly jobId: string;
  readonly jobName: string;
  readonly meta: Readonly<Record<string, string>>;
}

/** Derives a job's idempotency key from its validated payload; `false` runs the delivery without one. */
export type KeyFunction<TPayload = unknown> = (payload: TPayload, info: KeyInfo) => string | false;

/** A per-job key, made with `jobKey`. */
export interface JobKeyRule {
  readonly job: AnyJob;
  readonly key: KeyFunction<any>;
}

/** Typed helper for `idempotencyPlugin({ jobs: [...] })`: the key of one job, from its payload. */
export type JobKeyFunction<J extends AnyJob> = KeyFunction<JobOutput<J>>;

/** What the plugin reports when a store call fails where it cannot change the outcome. */
export interface IdempotencyErrorInfo {
  readonly key: string;
  readonly jobId: string;
  readonly jobName: string;
  /** The step that failed: completing after success, releasing after failure, or a step of `once`. */
  readonly operation: 'complete' | 'release' | 'step-complete' | 'step-release';
}

/** Options of `idempotencyPlugin`. */
export interface IdempotencyOptions {
  /** Where records live: `memoryStore()`, `dynamoDbStore()`, `postgresStore()`, or your own. */
  readonly store: IdempotencyStore;
  /**
   * The key of every job without a rule in `jobs`, from its validated payload. Return `false` to run a
   * delivery without idempotency. Keys are prefixed with the job name, so jobs never share one.
   * @default the job id
   */
  readonly key?: KeyFunction;
  /** Per-job keys (typed by each job's payload) that override `key`: `[jobKey(charge, (p) => p.orderId)]`. */
  readonly jobs?: readonly JobKeyRule[];
  /** How long a completed record answers duplicates. @default '24h' */
  readonly expiresAfter?: Duration;
  /**
   * The longest a claim holds its lock; it ends sooner at the delivery's deadline (a Lambda invocation's
   * end). Set it above your longest handler run, or give long jobs a `timeout`.
   * @default the job's `timeout` plus 30 s, or 5 minutes for jobs without one
   */
  readonly lockTimeout?: Duration;
  /** Store a hash of the payload and refuse the same key with another payload. @default true */
  readonly hashPayload?: boolean;
  /** Store the handler's return value (as JSON) so duplicates can return it. @default true */
  readonly storeResult?: boolean;
  /** The clock for locks and expiry, epoch ms. @default the adapter's clock (`ctx.now`: virtual under the mock driver) */
  readonly now?: () => number;
  /**
   * Called when a store call fails after the handler ran, where it can no longer change the outcome
   * (the delivery is acknowledged anyway).
   * @default console.error
   */
  readonly onError?: (error: unknown, info: IdempotencyErrorInfo) => void;
}

/** A claim the current delivery holds, with the times the plugin chose for it. */
export interface IdempotencyLease extends Lease {
  /** When the lock ends, epoch ms. */
  readonly lockExpiresAt: number;
  /** When a completion recorded under this lease is forgotten, epoch ms (counted from the claim). */
  readonly recordExpiresAt: number;
}

/**
 * What the plugin keeps in `ctx.state.idempotency` for this delivery (plain data, safe to log).
 * `status`: `claimed` while the handler runs; `completed`; `released` after a failure; `duplicate` or
 * `locked` when the handler did not run; `lock-lost` when the completion was refused because another
 * delivery re-claimed the key; `complete-failed` when the store failed to record the success.
 */
export interface IdempotencyState {
  readonly key: string;
  status: 'claimed' | 'completed' | 'released' | 'duplicate' | 'locked' | 'lock-lost' | 'complete-failed';
  lease: IdempotencyLease | undefined;
  error?: unknown;
}

/** What `ctx.idempotency` holds on workers with the plugin. */
export interface IdempotencyContext {
  /** The key this delivery claimed (`<job name>:<key>`); undefined when the job runs without one. */
  readonly key: string | undefined;
  /** The lease this delivery holds; pass it to a store's `completeInTransaction`. */
  readonly lease: IdempotencyLease | undefined;
  /** Runs `fn` unless this step already completed for this key; see `once`. */
  once<T>(step: string, fn: (key: string) => T | Promise<T>): Promise<T>;
}
