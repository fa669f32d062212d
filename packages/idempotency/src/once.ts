import { ConfigurationError } from '@glasswork/core';
import {
  IdempotencyLockLostError,
  IdempotencyStepLockedError,
  IdempotencyStoreError,
  InvalidIdempotencyKeyError,
  MAX_KEY_LENGTH,
} from './errors.ts';
import { toJson } from './json.ts';
import { keyPart } from './keys.ts';
import type { Runtime } from './runtime.ts';
import { MIN_LOCK_MS, runtimeOf, stateOf } from './runtime.ts';
import type { ClaimResult, JsonValue, Lease } from './types.ts';

/**
 * Runs one step of a handler once per job key: a step whose completion was recorded is not run again (its
 * recorded result, as JSON, is returned instead), so a retry after a later step failed skips the steps
 * that succeeded. `fn` receives the step's stable key, `<job key>:<step>`: pass it to the downstream API's
 * own idempotency key (Stripe's `Idempotency-Key`, an SES message id), which closes the gap between the
 * side effect and the record when a worker dies in between.
 *
 * Needs `idempotencyPlugin` on the worker and a key for the job. The step is locked for as long as the
 * delivery's lock; if a zombie delivery still holds it, this delivery is deferred until that lock ends.
 */
export async function once<T>(
  ctx: { readonly state: Record<string, unknown> },
  step: string,
  fn: (key: string) => T | Promise<T>,
): Promise<T> {
  const state = stateOf(ctx);
  const runtime = state && runtimeOf(state);
  if (!state?.lease || !runtime) {
    throw new ConfigurationError(
      `once("${step}") runs only inside a handler of a worker with idempotencyPlugin, for a job that has ` +
        'an idempotency key (its key function did not return false)',
    );
  }
  if (typeof step !== 'string' || step === '')
    throw new ConfigurationError('once needs a non-empty step name');
  if (typeof fn !== 'function') throw new ConfigurationError(`once("${step}") needs a function to run`);
  const key = `${state.key}:${keyPart(step)}`;
  if (Buffer.byteLength(key) > MAX_KEY_LENGTH) {
    throw new InvalidIdempotencyKeyError(
      state.key,
      `with step "${step}" is ${Buffer.byteLength(key)} bytes long`,
    );
  }

  const now = runtime.now();
  const claim = await claimStep(runtime, key, {
    now,
    lockExpiresAt: Math.max(state.lease.lockExpiresAt, now + MIN_LOCK_MS),
  });
  if (claim.status === 'completed') return claim.record.result as T;
  if (claim.status === 'in_progress') throw new IdempotencyStepLockedError(key, claim.record.expiresAt);

  const lease: Lease = { key, token: claim.token };
  let value: T;
  try {
    value = await fn(key);
  } catch (error) {
    await runtime.store.release(lease).catch((e: unknown) => runtime.report(e, 'step-release', key));
    throw error;
  }
  let completed: boolean;
  try {
    const at = runtime.now();
    completed = await runtime.store.complete(lease, {
      now: at,
      expiresAt: at + runtime.expiresAfterMs,
      result: runtime.storeResult ? resultOf(runtime, value, key, 'step-complete') : undefined,
    });
  } catch (error) {
    // The side effect happened: carry on. The job's own completion makes this record moot, and if the job
    // fails later, its retry waits for this step's lock to end, then runs it again with the same key.
    runtime.report(error, 'step-complete', key);
    return value;
  }
  if (!completed) throw new IdempotencyLockLostError(key);
  return value;
}

async function claimStep(
  runtime: Runtime,
  key: string,
  options: { now: number; lockExpiresAt: number },
): Promise<ClaimResult> {
  try {
    return await runtime.store.claim(key, options);
  } catch (error) {
    throw new IdempotencyStoreError(runtime.store.name, 'claim', key, { cause: error });
  }
}

/** The JSON form of a result; what JSON cannot hold is reported and not stored. */
export function resultOf(
  runtime: Runtime,
  value: unknown,
  key: string,
  operation: 'complete' | 'step-complete',
): JsonValue | undefined {
  try {
    return toJson(value);
  } catch (error) {
    runtime.report(error, operation, key);
    return undefined;
  }
}
