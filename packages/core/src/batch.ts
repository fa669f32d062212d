import { GlassworkError, serializeError } from './errors.ts';
import type {
  DeadLetterInfo,
  Delivery,
  DeliveryContext,
  Outcome,
  QueueDriver,
  ReceivedMessage,
} from './types.ts';
import type { RunOptions, RunResult, Worker } from './worker.ts';

/** SQS keeps a message invisible for at most 12 hours from its receive. */
export const MAX_VISIBILITY_SECONDS = 43_200;

/**
 * Seconds of visibility for a `retry` or `defer` delay: whole seconds (a positive delay never rounds to
 * 0), clamped so the total since the receive stays within `maxSeconds` less `slackSeconds`.
 */
export function visibilitySeconds(
  delayMs: number,
  options: { receivedAt?: number | undefined; now?: number; maxSeconds?: number; slackSeconds?: number } = {},
): number {
  const max = options.maxSeconds ?? MAX_VISIBILITY_SECONDS;
  const slack = options.slackSeconds ?? 5;
  const elapsed =
    options.receivedAt === undefined
      ? 0
      : Math.max(0, ((options.now ?? Date.now()) - options.receivedAt) / 1000);
  const limit = Math.max(0, Math.floor(max - elapsed - slack));
  return Math.min(Math.ceil(Math.max(0, delayMs) / 1000), limit);
}

/** What goes beside a dead-lettered message: its reason, error and origin. */
export function deadLetterInfo(
  ctx: DeliveryContext,
  outcome: Extract<Outcome, { type: 'dead' }>,
): DeadLetterInfo {
  return {
    reason: outcome.reason,
    error: outcome.error === undefined ? undefined : serializeError(outcome.error),
    attempts: ctx.attempt,
    sourceQueue: ctx.queue,
    messageId: ctx.messageId,
    jobId: ctx.jobId,
    jobName: ctx.jobName,
    deadAt: new Date().toISOString(),
  };
}

/** Runs `fn` with at most `concurrency` calls in flight. */
export type Limiter = <T>(fn: () => Promise<T>) => Promise<T>;

/** A limiter of `concurrency` slots, shareable across batches. */
export function createLimiter(concurrency: number): Limiter {
  if (!(concurrency >= 1)) throw new GlassworkError(`concurrency must be at least 1, got ${concurrency}`);
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (fn) => {
    // A freed slot passes straight to the next waiter, so a caller arriving meanwhile cannot take it too.
    if (active >= concurrency) await new Promise<void>((resolve) => waiting.push(resolve));
    else active++;
    try {
      return await fn();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}

export interface ProcessBatchOptions<D extends Delivery> {
  /** Run each message group in order (FIFO queues); groups run concurrently. @default false */
  fifo?: boolean;
  /** Deliveries in flight at once, or a limiter shared with other batches. @default all of them */
  concurrency?: number | Limiter;
  /** Applies an outcome to the queue; returns the outcome actually applied when it differs. */
  apply(delivery: D, outcome: Outcome, result: RunResult): Promise<Outcome | undefined>;
  /** Options for each `worker.run`. */
  runOptions?: (delivery: D) => RunOptions | undefined;
  /** Once aborted, deliveries that have not started are skipped and left to the queue (a Lambda's hard stop). */
  signal?: AbortSignal;
  /** Told when `apply` throws; the message is then left to the queue and no terminal event fires. */
  onApplyError?: (error: unknown, delivery: D) => void;
}

/** A delivery that ran and whose outcome was applied; skipped deliveries are not listed. */
export interface BatchItem<D extends Delivery> {
  readonly delivery: D;
  /** The outcome applied to the queue. */
  readonly outcome: Outcome;
}

/** Marks a delivery left to the queue (skipped, or its outcome not applied); never applied or reported. */
const SKIPPED: Outcome = { type: 'defer', delayMs: 0, reason: 'skipped' };

/**
 * Runs a batch of deliveries and applies each outcome. On FIFO queues the messages of a group run one
 * after another; when one fails (retry or defer), the rest of its group in this batch is deferred with
 * no delay, without running, so the group resumes in order once the failed message is back.
 * A dead-lettered message does not hold its group back.
 */
export async function processBatch<D extends Delivery>(
  worker: Worker<any>,
  deliveries: readonly D[],
  options: ProcessBatchOptions<D>,
): Promise<BatchItem<D>[]> {
  // Without a shared limiter and with room for every delivery, no limiter: one async layer less per record.
  const { concurrency = deliveries.length } = options;
  const limit: Limiter =
    typeof concurrency === 'function'
      ? concurrency
      : concurrency >= deliveries.length
        ? (fn) => fn()
        : createLimiter(concurrency);
  const results: BatchItem<D>[] = new Array(deliveries.length);

  const one = async (index: number, runOptions: RunOptions | undefined): Promise<Outcome> => {
    const delivery = deliveries[index] as D;
    if (options.signal?.aborted) return SKIPPED;
    const result = await worker.run(delivery, runOptions ?? options.runOptions?.(delivery));
    let applied: Outcome;
    try {
      applied = (await options.apply(delivery, result.outcome, result)) || result.outcome;
    } catch (error) {
      // Not applied: the message comes back when its visibility ends; one failed apply must not fail
      // the rest of the batch.
      options.onApplyError?.(error, delivery);
      return SKIPPED;
    }
    await result.settle(applied);
    results[index] = { delivery, outcome: applied };
    return applied;
  };
  const listed = () => results.filter((item): item is BatchItem<D> => item !== undefined);

  if (!options.fifo) {
    await Promise.all(deliveries.map((_, index) => limit(() => one(index, undefined))));
    return listed();
  }

  const groups = new Map<string, number[]>();
  deliveries.forEach((delivery, index) => {
    const key = delivery.groupId ?? '';
    let list = groups.get(key);
    if (!list) {
      list = [];
      groups.set(key, list);
    }
    list.push(index);
  });
  await Promise.all(
    [...groups].map(async ([group, indexes]) => {
      let blocked: string | undefined;
      for (const index of indexes) {
        const outcome = await limit(() =>
          one(index, blocked === undefined ? undefined : { defer: { delayMs: 0, reason: blocked } }),
        );
        if (outcome === SKIPPED) break; // the rest of the group stays behind it, in order
        if (blocked === undefined && (outcome.type === 'retry' || outcome.type === 'defer')) {
          blocked = `an earlier message of group "${group}" (${(deliveries[index] as D).messageId}) is waiting to run again`;
        }
      }
    }),
  );
  return listed();
}

/** Options of {@link applyOutcome}. */
export interface ApplyOptions {
  /** The clock that measures time since the receive; the driver's own clock, else `Date.now`. */
  now?: () => number;
  /** Told about consumer calls that failed; the outcome is still applied as well as it can be. */
  onError?: (error: unknown) => void;
  /**
   * Awaited just before the message's visibility is set (`retry`, `defer`, a failed dead-letter). An
   * adapter that extends visibility while an outcome is applied stops doing so here, and waits for an
   * extension in flight, so that no extension lands after the new visibility and undoes it.
   */
  beforeRelease?: () => void | Promise<void>;
}

/**
 * Applies an outcome with a driver's consumer methods: `ack`/`discard` delete, `retry`/`defer` set the
 * visibility, `dead` moves the message to the dead-letter queue. When dead-lettering fails, the message
 * is made visible again in a minute and the applied outcome is a `retry`, so it is never lost.
 */
export async function applyOutcome(
  driver: QueueDriver,
  queue: string,
  message: ReceivedMessage,
  result: RunResult,
  options: ApplyOptions = {},
): Promise<Outcome> {
  const { outcome } = result;
  // The driver's clock (a virtual one in tests) measures time since the receive.
  const now = options.now ?? (driver.now ? () => (driver.now as () => number)() : Date.now);
  const report = options.onError ?? (() => {});
  const need = <K extends 'ack' | 'release' | 'deadLetter'>(name: K): NonNullable<QueueDriver[K]> => {
    const fn = driver[name];
    if (!fn)
      throw new GlassworkError(`The ${driver.name} driver has no ${name}(): it cannot be used by a consumer`);
    return fn.bind(driver) as NonNullable<QueueDriver[K]>;
  };
  // A hook that fails must not keep the visibility from being set.
  const prepareRelease = async () => {
    try {
      await options.beforeRelease?.();
    } catch (error) {
      report(error);
    }
  };
  // A retry handed off to another message: this one is done.
  const done = outcome.type === 'retry' && outcome.handedOff === true;
  if (done) {
    await need('ack')(queue, [message]).catch(report);
    return outcome;
  }
  switch (outcome.type) {
    case 'ack':
    case 'discard':
      // A failed delete leaves the message to come back; idempotency absorbs the repeat.
      await need('ack')(queue, [message]).catch(report);
      return outcome;
    case 'retry':
    case 'defer':
      await prepareRelease();
      await need('release')(
        queue,
        message,
        visibilitySeconds(outcome.delayMs, { receivedAt: message.receivedAt, now: now() }),
      ).catch(report);
      return outcome;
    case 'dead':
      try {
        await need('deadLetter')(queue, message, deadLetterInfo(result.ctx, outcome));
        return outcome;
      } catch (error) {
        report(error);
        // The copy is in the dead-letter queue but the original was not deleted: it is dead all the
        // same; the original comes back and is dead-lettered again (dead is at least once per job).
        if ((error as { sent?: unknown } | null)?.sent === true) return outcome;
        const delayMs = 60_000;
        await prepareRelease();
        await need('release')(
          queue,
          message,
          visibilitySeconds(delayMs, { receivedAt: message.receivedAt, now: now() }),
        ).catch(report);
        return {
          type: 'retry',
          delayMs,
          error: new GlassworkError(`dead-lettering failed, will try again (${outcome.reason})`, {
            cause: error,
          }),
        };
      }
  }
}
