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

/** The facts of a delivery a runtime reads: the handler's context, or anything shaped like it. */
export interface RuntimeContext {
  readonly now: () => number;
  readonly jobId: string;
  readonly jobName: string;
}

/** One per plugin: makes the runtime of a delivery from its context. */
export interface RuntimeSource {
  runtimeFor(ctx: RuntimeContext): Runtime;
}

// Kept under a symbol, which JSON, pino and `Object.keys` skip: `ctx.state` stays plain data that a logging
// plugin can serialise. The slot holds the plugin's one source and the delivery's facts as plain values,
// never a runtime made per delivery: one whose closures reach the delivery's context kept every context
// past the young generation, as the getters of `ctx.idempotency` once did (see plugin.ts). (A WeakMap
// beside the state cost 2% of a delivery.)
export const SOURCE = Symbol('glasswork.idempotency.source');

/** What a claimed state carries under {@link SOURCE}. */
export interface RuntimeSlot extends RuntimeContext {
  readonly source: RuntimeSource;
}

export function stateOf(ctx: { readonly state: Record<string, unknown> }): IdempotencyState | undefined {
  return ctx.state?.[PLUGIN_NAME] as IdempotencyState | undefined;
}

/** The runtime of the delivery whose state this is: its own clock and job, whatever context `once` got. */
export function runtimeOf(state: IdempotencyState): Runtime | undefined {
  const slot = (state as { [SOURCE]?: RuntimeSlot })[SOURCE];
  return slot?.source.runtimeFor(slot);
}
