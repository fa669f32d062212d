import type { DeliveryContext, Outcome, Plugin } from '@glasswork/core';
import { definePlugin, encodeEnvelope, utf8Bytes, visibilitySeconds } from '@glasswork/core';
import { ScheduleInputTooLargeError } from './errors.ts';
import type { ScheduleBackend } from './types.ts';

export interface SchedulerRetriesOptions {
  /** Where long retries wait: `eventBridgeScheduler({ ... })`, or `localScheduler({ ... })` in development. */
  scheduler: ScheduleBackend;
  /** The queue name the scheduler knows for a delivery. @default the delivery's `queue` */
  queueOf?: (ctx: DeliveryContext) => string;
  /** The clock. @default the adapter's clock (`ctx.now`) */
  now?: () => number;
  /** Told when a hand-off fails; the retry then stays in SQS, cut to what visibility allows. @default console.error */
  onError?: (error: unknown, ctx: DeliveryContext) => void;
}

/**
 * A worker plugin for retries longer than SQS can hold a message invisible (12 hours from its receive).
 * Such a retry is handed to the scheduler as a new message of the same job, due after the full backoff,
 * with `priorAttempts` set to the attempts made so far, so the count (and `maxAttempts`) carries over;
 * the received message is then deleted. Standard queues only: on a FIFO queue the failed message stays,
 * holding its group back, as the core decides.
 *
 * The delivery ends as a `retry` marked `handedOff`: observers see the retry and its full delay, and the
 * adapter deletes the received message instead of changing its visibility.
 */
export function schedulerRetries(options: SchedulerRetriesOptions): Plugin {
  const { scheduler } = options;

  const queueOf = options.queueOf ?? ((ctx: DeliveryContext) => ctx.queue);
  const onError =
    options.onError ??
    ((error: unknown) => console.error('[glasswork] scheduler retry hand-off failed:', error));

  async function handOff(
    ctx: DeliveryContext,
    outcome: Extract<Outcome, { type: 'retry' }>,
  ): Promise<Outcome> {
    const envelope = ctx.envelope;
    // The adapter's clock (virtual under the mock driver), which `receivedAt` comes from.
    const t = (options.now ?? ctx.now)();
    const fits =
      visibilitySeconds(outcome.delayMs, { receivedAt: ctx.delivery.receivedAt, now: t }) * 1000 >=
      outcome.delayMs;
    if (!envelope || ctx.delivery.groupId !== undefined || fits) return outcome;
    const next = ctx.attempt + 1;
    const at = Math.floor((t + outcome.delayMs) / 1000) * 1000;
    const queue = queueOf(ctx);
    try {
      // Inside the try: a payload JSON cannot write again (too deep) keeps the plain retry, reported.
      const body = encodeEnvelope({
        id: envelope.id,
        name: envelope.name,
        payloadJson: envelope.payload === undefined ? undefined : JSON.stringify(envelope.payload),
        enqueuedAt: new Date(t).toISOString(),
        firstEnqueuedAt: envelope.firstEnqueuedAt,
        priorAttempts: ctx.attempt,
        meta: envelope.meta,
      });
      const bytes = utf8Bytes(body);
      if (bytes > scheduler.maxInputBytes)
        throw new ScheduleInputTooLargeError(envelope.name, bytes, scheduler.maxInputBytes);
      await scheduler.schedule({
        // Named per attempt: a retry never meets the job's earlier schedule (or a retry of another attempt).
        message: {
          id: `${envelope.id}#attempt-${next}`,
          jobName: envelope.name,
          queue,
          body,
          attributes: {},
          bytes,
          delaySeconds: Math.ceil((at - t) / 1000),
        },
        queue,
        fifo: false,
        at,
      });
    } catch (error) {
      onError(error, ctx);
      return outcome;
    }
    return { ...outcome, handedOff: true };
  }

  return definePlugin({
    name: 'scheduler-retries',
    // Innermost: every other plugin's deliver hook sees the outcome the terminal event reports.
    enforce: 'post',
    setup(hooks) {
      hooks.deliver(async (ctx, next) => {
        const outcome = await next();
        return outcome.type === 'retry' ? handOff(ctx, outcome) : outcome;
      });
    },
  });
}
