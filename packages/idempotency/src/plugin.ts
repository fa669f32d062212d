import type { DeliveryContext, ExecuteContext, ExecuteResult, Plugin } from '@glasswork/core';
import { ConfigurationError, definePlugin, PermanentJobError, parseDuration } from '@glasswork/core';
import {
  hasCode,
  IdempotencyKeyMismatchError,
  IdempotencyLockLostError,
  type IdempotencyStepLockedError,
  IdempotencyStoreError,
} from './errors.ts';
import { hashPayload } from './json.ts';
import { keyResolver } from './keys.ts';
import { once, resultOf } from './once.ts';
import type { Runtime, RuntimeContext, RuntimeSource } from './runtime.ts';
import { MIN_LOCK_MS, PLUGIN_NAME, SOURCE, stateOf } from './runtime.ts';

const DEFAULT_LOCK_MS = 5 * 60_000;
/** Beyond a job's timeout: its handler has been aborted by then, and the outcome applied. */
const LOCK_MARGIN_MS = 30_000;

import type {
  ClaimResult,
  IdempotencyContext,
  IdempotencyErrorInfo,
  IdempotencyLease,
  IdempotencyOptions,
  IdempotencyState,
  IdempotencyStore,
} from './types.ts';

/**
 * Runs each job's handler once per idempotency key (by default the job id). On the `execute` stage, before
 * the handler: claims the key with a lock that ends at the delivery's deadline (or after `lockTimeout`).
 * A completed record answers `duplicate` without running; a live lock answers `defer` until it ends. After
 * the handler: success completes the record with the claim's fencing token, failure releases it.
 * Adds `ctx.idempotency` (the key, the lease, `once`) to handlers of workers that have it.
 */
export function idempotencyPlugin(
  options: IdempotencyOptions,
): Plugin<{ readonly idempotency: IdempotencyContext }> {
  const store = checkStore(options?.store);
  const resolveKey = keyResolver(options.key, options.jobs);
  const expiresAfterMs = parseDuration(options.expiresAfter ?? '24h');
  const lockTimeoutMs = options.lockTimeout === undefined ? undefined : parseDuration(options.lockTimeout);
  const hashing = options.hashPayload ?? true;
  const storeResult = options.storeResult ?? true;
  const onError =
    options.onError ??
    ((error: unknown, info: IdempotencyErrorInfo) =>
      console.error(
        `[glasswork] idempotency: ${info.operation} of key "${info.key}" (job ${info.jobName} ${info.jobId}) failed; the outcome stands:`,
        error,
      ));

  // The adapter's clock (virtual under the mock driver) unless the options name one.
  const runtimeFor = (ctx: RuntimeContext): Runtime => ({
    store,
    now: options.now ?? ctx.now,
    expiresAfterMs,
    storeResult,
    report(error, operation, key) {
      try {
        onError(error, { key, jobId: ctx.jobId, jobName: ctx.jobName, operation });
      } catch {
        // A reporting callback must not change an outcome.
      }
    },
  });

  const source: RuntimeSource = { runtimeFor };

  /** The hash stored beside a claim: of the envelope's payload, which a schema change cannot alter. */
  const hashOf = (ctx: DeliveryContext): string | undefined => {
    if (!hashing || !ctx.envelope) return undefined;
    try {
      return hashPayload(ctx.envelope.payload);
    } catch (error) {
      // JSON.parse reads nesting that JSON.stringify cannot write (about 10,000 levels): no producer of ours
      // sent this, and every attempt would fail the same way.
      throw new PermanentJobError(
        `the payload cannot be hashed for the idempotency check (${(error as Error)?.message ?? error}): ` +
          'it is nested too deeply for JSON; set hashPayload: false for this job, or send a flatter payload',
        { cause: error },
      );
    }
  };

  const checkHash = (key: string, stored: string | undefined, hash: string | undefined) => {
    if (stored !== undefined && hash !== undefined && stored !== hash) {
      throw new IdempotencyKeyMismatchError(key, stored, hash);
    }
  };

  const lockedUntil = (key: string, until: number, at: number): ExecuteResult => ({
    type: 'defer',
    delayMs: Math.max(0, until - at),
    reason: `idempotency key "${key}" is locked by another delivery until ${new Date(until).toISOString()}`,
  });

  async function execute(ctx: ExecuteContext, next: () => Promise<ExecuteResult>): Promise<ExecuteResult> {
    const key = resolveKey(ctx.payload, { jobId: ctx.jobId, jobName: ctx.jobName, meta: ctx.meta });
    if (key === false) return next();
    const runtime = runtimeFor(ctx);
    const at = runtime.now();
    const hash = hashOf(ctx.delivery);
    // The delivery's deadline bounds the lock (a Lambda invocation's end), but a far deadline (a poller that
    // heartbeats may keep a message for 12 hours) must not keep a crashed worker's lock that long.
    const lockExpiresAt = Math.max(
      Math.min(ctx.deadline ?? Number.POSITIVE_INFINITY, at + maxLockMs(ctx)),
      at + MIN_LOCK_MS,
    );
    let claim: ClaimResult;
    try {
      claim = await store.claim(key, { now: at, lockExpiresAt, hash });
    } catch (error) {
      throw new IdempotencyStoreError(store.name, 'claim', key, { cause: error });
    }
    if (claim.status !== 'acquired') {
      checkHash(key, claim.record.hash, hash);
      const done = claim.status === 'completed';
      ctx.state[PLUGIN_NAME] = { key, status: done ? 'duplicate' : 'locked', lease: undefined };
      return done
        ? { type: 'duplicate', value: claim.record.result }
        : lockedUntil(key, claim.record.expiresAt, at);
    }

    const state: IdempotencyState = {
      key,
      status: 'claimed',
      lease: { key, token: claim.token, lockExpiresAt, recordExpiresAt: at + expiresAfterMs },
      // Plain facts of the delivery, no closure over its context (see runtime.ts).
      [SOURCE]: { source, now: runtime.now, jobId: ctx.jobId, jobName: ctx.jobName },
    } as IdempotencyState;
    ctx.state[PLUGIN_NAME] = state;
    let result: ExecuteResult;
    try {
      result = await next();
    } catch (error) {
      return afterFailure(state, runtime, error);
    }
    if (result.type !== 'completed') {
      // An inner plugin answered instead of the handler: nothing was done under this claim.
      await release(state, runtime);
      return result;
    }
    await complete(state, runtime, result.value);
    return result;
  }

  async function release(state: IdempotencyState, runtime: Runtime): Promise<void> {
    try {
      if (await store.release(state.lease!)) state.status = 'released';
    } catch (error) {
      // The lock ends on its own; until then, deliveries of this key are deferred.
      state.error = error;
      runtime.report(error, 'release', state.key);
    }
  }

  async function complete(state: IdempotencyState, runtime: Runtime, value: unknown): Promise<void> {
    // The handler succeeded: its side effects happened, so the delivery is acknowledged whatever the store
    // says. A failure here is reported; a retry would repeat the side effects.
    try {
      const at = runtime.now();
      const result = storeResult ? resultOf(runtime, value, state.key, 'complete') : undefined;
      if (await store.complete(state.lease!, { now: at, expiresAt: at + expiresAfterMs, result })) {
        state.status = 'completed';
        return;
      }
      state.status = 'lock-lost';
      state.error = new IdempotencyLockLostError(state.key);
    } catch (error) {
      state.status = 'complete-failed';
      state.error = error;
    }
    runtime.report(state.error, 'complete', state.key);
  }

  async function afterFailure(
    state: IdempotencyState,
    runtime: Runtime,
    error: unknown,
  ): Promise<ExecuteResult> {
    if (hasCode<IdempotencyStepLockedError>(error, 'IDEMPOTENCY_STEP_LOCKED')) {
      await release(state, runtime);
      state.status = 'locked';
      return lockedUntil(error.key, error.lockExpiresAt, runtime.now());
    }
    if (!hasCode(error, 'IDEMPOTENCY_LOCK_LOST')) {
      await release(state, runtime);
      throw error;
    }
    // Another delivery claimed the key after this one's lock ended: let its record answer.
    state.status = 'lock-lost';
    state.error = error;
    const at = runtime.now();
    const record = await store.get(state.key, { now: at }).catch(() => undefined);
    if (record?.status === 'completed') return { type: 'duplicate', value: record.result };
    if (record?.status === 'in_progress') return lockedUntil(state.key, record.expiresAt, at);
    throw error;
  }

  /** The longest lock: the explicit `lockTimeout`, else the job's timeout plus a margin, else 5 minutes. */
  const maxLockMs = (ctx: ExecuteContext): number =>
    lockTimeoutMs ?? (ctx.timeout === undefined ? DEFAULT_LOCK_MS : ctx.timeout + LOCK_MARGIN_MS);

  return definePlugin({
    name: PLUGIN_NAME,
    setup(hooks) {
      hooks.execute(execute);
    },
    context: (ctx) => ({ idempotency: new DeliveryIdempotency(ctx) }),
  });
}

/**
 * `ctx.idempotency`. A class, not an object literal whose getters close over the context: with those, V8
 * kept every delivery's context past the young generation (measured with a heap sampling profile that
 * leaves out what minor collections free: 142 MB per 200,000 deliveries), and collections took a third of
 * a delivery's time.
 */
class DeliveryIdempotency implements IdempotencyContext {
  readonly #ctx: ExecuteContext;
  constructor(ctx: ExecuteContext) {
    this.#ctx = ctx;
  }
  get key(): string | undefined {
    return stateOf(this.#ctx)?.key;
  }
  get lease(): IdempotencyLease | undefined {
    return stateOf(this.#ctx)?.lease;
  }
  /**
   * A function of its own, so `const { once } = ctx.idempotency` works. Made on each read and not kept:
   * a closure over the context kept on this object is what drags the context into the old generation.
   */
  get once(): IdempotencyContext['once'] {
    const ctx = this.#ctx;
    return (step, fn) => once(ctx, step, fn);
  }
  /** What a logger that serialises the context sees. */
  toJSON(): { key: string | undefined; lease: IdempotencyLease | undefined } {
    return { key: this.key, lease: this.lease };
  }
}

function checkStore(store: IdempotencyStore | undefined): IdempotencyStore {
  const methods = ['claim', 'complete', 'release', 'get'] as const;
  if (!store || methods.some((m) => typeof store[m] !== 'function')) {
    throw new ConfigurationError(
      'idempotencyPlugin needs a store with claim, complete, release and get: pass ' +
        '{ store: memoryStore() } or a store from @glasswork/idempotency-dynamodb or -postgres',
    );
  }
  return store;
}
