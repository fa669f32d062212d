import type { Duration, EnqueueResult, OutgoingMessage, QueueDriver, SendResult } from '@glasswork/core';
import { ConfigurationError, GlassworkError, parseDuration, utf8Bytes } from '@glasswork/core';
import { ScheduleInputTooLargeError } from './errors.ts';
import type { EventBridgeSchedulerOptions } from './eventbridge.ts';
import { eventBridgeScheduler } from './eventbridge.ts';
import type { ScheduleBackend } from './types.ts';

/** Options of the driver wrapper itself. */
export interface WrapperOptions {
  /** Longest delay accepted; longer ones fail with the core's `DelayTooLongError`. @default '3650d' */
  maxDelay?: Duration;
  /** Schedules created at once for one driver call. @default 10 */
  concurrency?: number;
}

/** `withScheduler`'s options: EventBridge Scheduler's, or another backend such as `localScheduler`. */
export type WithSchedulerOptions = WrapperOptions &
  (EventBridgeSchedulerOptions | { readonly scheduler: ScheduleBackend });

/** A driver that delays jobs past the inner driver's limit through a scheduler. */
export interface ScheduledDriver extends QueueDriver {
  /** The driver that sends everything the queue can hold itself. */
  readonly inner: QueueDriver;
  readonly scheduler: ScheduleBackend;
  /**
   * Cancels a job that went to the scheduler and has not been sent yet; false when there is no schedule
   * (never scheduled, already sent to its queue, or cancelled before).
   */
  cancel(jobId: string): Promise<boolean>;
}

/**
 * Wraps a driver so that `enqueueIn`/`enqueueAt` may reach past its delay limit (SQS: 15 minutes). A
 * message the inner driver can hold goes to it as before; a longer one (or any delay on a FIFO queue,
 * which SQS cannot delay per message) becomes a schedule that sends the same envelope to the queue when
 * due. Its result's `scheduled` then holds the due time and the schedule's ARN (see `isScheduled`).
 *
 * A wrapper rather than a plugin: the client checks every delay against `driver.capabilities` before any
 * hook can see the message, so only a driver can announce longer delays.
 */
export function withScheduler(inner: QueueDriver, options: WithSchedulerOptions): ScheduledDriver {
  if (!inner || typeof inner.send !== 'function' || !inner.capabilities) {
    throw new ConfigurationError(
      'withScheduler needs a driver to wrap: withScheduler(sqsDriver({ ... }), { ... })',
    );
  }
  const scheduler = 'scheduler' in options ? options.scheduler : eventBridgeScheduler(options);
  if (!scheduler || typeof scheduler.schedule !== 'function') {
    throw new ConfigurationError(
      'withScheduler: scheduler must be eventBridgeScheduler({ ... }) or localScheduler({ ... })',
    );
  }
  const caps = inner.capabilities;
  const maxDelaySeconds = Math.floor(parseDuration(options.maxDelay ?? '3650d') / 1000);
  const concurrency = Math.max(1, options.concurrency ?? 10);
  const clock = inner.now ? () => (inner.now as () => number)() : Date.now;

  const fifoCache = new Map<string, Promise<boolean>>();
  function isFifo(queue: string): Promise<boolean> {
    let known = fifoCache.get(queue);
    if (!known) {
      known = inner.describeQueue
        ? inner.describeQueue(queue).then((info) => info.fifo)
        : Promise.resolve(queue.endsWith('.fifo'));
      known.catch(() => fifoCache.delete(queue));
      fifoCache.set(queue, known);
    }
    return known;
  }

  const needsScheduler = (message: OutgoingMessage, fifo: boolean) =>
    message.delaySeconds > caps.maxDelaySeconds || (fifo && message.delaySeconds > 0 && !caps.fifoDelay);

  async function schedule(
    queue: string,
    fifo: boolean,
    message: OutgoingMessage,
    now: number,
  ): Promise<SendResult> {
    try {
      const bytes = utf8Bytes(message.body);
      if (bytes > scheduler.maxInputBytes)
        throw new ScheduleInputTooLargeError(message.jobName, bytes, scheduler.maxInputBytes);
      if (fifo && message.dedupeId !== undefined && message.dedupeId !== message.id) {
        throw new ConfigurationError(
          `Job "${message.jobName}" goes to FIFO queue "${queue}" with deduplication id "${message.dedupeId}" and a delay the queue cannot hold: ` +
            'EventBridge Scheduler cannot pass a deduplication id (the queue deduplicates on content), so that id would be ignored. ' +
            'Drop the dedupe option for delayed jobs, or enqueue without the delay',
        );
      }
      // EventBridge takes whole seconds; the client gives the exact due time (older clients only the
      // delay, rounded up from a clock with milliseconds: flooring the sum gives back the second asked for).
      const at = Math.floor((message.notBefore ?? now + message.delaySeconds * 1000) / 1000) * 1000;
      const id = await scheduler.schedule({ message, queue, fifo, at });
      return { ok: true, messageId: undefined, scheduled: { at: new Date(at).toISOString(), id } };
    } catch (error) {
      return { ok: false, error: error instanceof Error ? error : new GlassworkError(String(error)) };
    }
  }

  async function send(queue: string, messages: readonly OutgoingMessage[]): Promise<SendResult[]> {
    const fifo = await isFifo(queue);
    const now = clock();
    const results: SendResult[] = new Array(messages.length);
    const direct: number[] = [];
    const delayed: number[] = [];
    for (const [index, message] of messages.entries()) {
      (needsScheduler(message, fifo) ? delayed : direct).push(index);
    }

    const sendDirect = async () => {
      if (direct.length === 0) return;
      try {
        const sent = await inner.send(
          queue,
          direct.map((i) => messages[i] as OutgoingMessage),
        );
        if (!Array.isArray(sent) || sent.length !== direct.length) {
          throw new GlassworkError(
            `The ${inner.name} driver returned ${sent?.length} results for ${direct.length} messages`,
          );
        }
        for (const [i, index] of direct.entries()) results[index] = sent[i] as SendResult;
      } catch (error) {
        // Only these messages failed; the scheduled ones of the same call keep their own results.
        const failure = error instanceof Error ? error : new GlassworkError(String(error));
        for (const index of direct) results[index] = { ok: false, error: failure };
      }
    };
    const sendDelayed = async () => {
      let next = 0;
      const lane = async () => {
        while (next < delayed.length) {
          const index = delayed[next++] as number;
          results[index] = await schedule(queue, fifo, messages[index] as OutgoingMessage, now);
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, delayed.length) }, lane));
    };
    await Promise.all([sendDirect(), sendDelayed()]);
    return results;
  }

  const driver: ScheduledDriver = {
    name: `${inner.name}+${scheduler.name}`,
    capabilities: {
      ...caps,
      maxDelaySeconds: Math.max(caps.maxDelaySeconds, maxDelaySeconds),
      fifoDelay: true,
    },
    inner,
    scheduler,
    send,
    cancel: (jobId) => scheduler.cancel(jobId),
    async close() {
      await Promise.all([inner.close?.(), scheduler.close?.()]);
    },
  };
  // The consumer side is the inner driver's: a wrapped driver still works with processBatch and pollers.
  const passthrough = driver as unknown as Record<string, unknown>;
  for (const key of ['describeQueue', 'receive', 'ack', 'release', 'deadLetter', 'now'] as const) {
    const fn = inner[key];
    if (typeof fn === 'function') passthrough[key] = fn.bind(inner);
  }
  return driver;
}

/** True when the job went to a scheduler: `result.scheduled` then holds its due time and schedule ARN. */
export function isScheduled(result: Pick<EnqueueResult, 'scheduled'>): boolean {
  return result.scheduled !== undefined;
}
