import type { IdempotencyErrorInfo, IdempotencyState, IdempotencyStore } from './types.ts';

/** The key under `ctx.state` where the plugin keeps its per-delivery state. */
export const PLUGIN_NAME = 'idempotency';

/** The shortest lock a claim takes, so a lock never starts out expired. */
export const MIN_LOCK_MS = 1000;

/** What `once` needs from the plugin of the delivery it runs in. */
export interface Runtime {
  readonly store: IdempotencyStore;
  readonly now: () => number;
  readonly expiresAfterMs: number;
  readonly storeResult: boolean;
  report(error: unknown, operation: IdempotencyErrorInfo['operation'], key: string): void;
}

// Kept beside the state, not in it: `ctx.state` stays plain data that a logging plugin can serialise.
const runtimes = new WeakMap<IdempotencyState, Runtime>();

export function attachRuntime(state: IdempotencyState, runtime: Runtime): void {
  runtimes.set(state, runtime);
}

export function stateOf(ctx: { readonly state: Record<string, unknown> }): IdempotencyState | undefined {
  return ctx.state?.[PLUGIN_NAME] as IdempotencyState | undefined;
}

export function runtimeOf(state: IdempotencyState): Runtime | undefined {
  return runtimes.get(state);
}
