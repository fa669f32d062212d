import type { DeliveryContext, GlassworkEventName, PluginHooks } from '@glasswork/core';
import type { Attributes, Counter, Meter } from '@opentelemetry/api';
import { DESTINATION_NAME, JOB_NAME, MESSAGING_SYSTEM, OUTCOME, outcomeName } from './attributes.ts';

// Seconds: from a few milliseconds to the 15 minutes a Lambda function may run.
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900];
// Seconds: queue lag reaches far longer than a job runs when workers fall behind.
const LAG_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800, 3600, 7200, 21600, 86400];

type TerminalEventName = 'success' | 'duplicate' | 'retry' | 'defer' | 'dead' | 'discard';

/** The counter of each terminal event. */
const COUNTERS: Record<TerminalEventName, { name: string; description: string }> = {
  success: { name: 'glasswork.jobs.succeeded', description: 'Deliveries whose handler returned' },
  retry: { name: 'glasswork.jobs.retried', description: 'Failed deliveries that will be retried' },
  defer: { name: 'glasswork.jobs.deferred', description: 'Deliveries put back without a failure' },
  dead: { name: 'glasswork.jobs.dead_lettered', description: 'Jobs moved to the dead-letter queue' },
  discard: { name: 'glasswork.jobs.discarded', description: 'Jobs given up without a dead-letter copy' },
  duplicate: {
    name: 'glasswork.jobs.duplicates',
    description: 'Deliveries answered by an idempotency record instead of the handler',
  },
};

function jobAttributes(system: string, queue: string, jobName: string | undefined): Attributes {
  // A poison message has no job name; `_unknown` keeps it countable without inventing a name.
  return { [MESSAGING_SYSTEM]: system, [DESTINATION_NAME]: queue, [JOB_NAME]: jobName ?? '_unknown' };
}

/** Lag: from the enqueue to the receive that runs the handler, on a message's first receive. */
function lagSeconds(ctx: DeliveryContext): number | undefined {
  if (!ctx.envelope || ctx.delivery.receiveCount !== 1) return undefined;
  // A delayed message is not late while it waits for its time: count from when it was due.
  const due = Date.parse(ctx.envelope.notBefore ?? ctx.envelope.enqueuedAt);
  if (Number.isNaN(due)) return undefined;
  return Math.max(0, (ctx.delivery.receivedAt ?? Date.now()) - due) / 1000;
}

/**
 * Job metrics, recorded from events, so they count what the adapter applied (a dead-letter send that
 * failed and became a retry counts as a retry). Each carries the job name and the queue.
 */
export function recordMetrics(hooks: PluginHooks, meter: Meter, system: string): void {
  const duration = meter.createHistogram('glasswork.job.duration', {
    description: 'Time from the start of a delivery to its outcome',
    unit: 's',
    advice: { explicitBucketBoundaries: DURATION_BUCKETS },
  });
  const lag = meter.createHistogram('glasswork.job.lag', {
    description: 'Time from the enqueue to the start of the first delivery',
    unit: 's',
    advice: { explicitBucketBoundaries: LAG_BUCKETS },
  });
  const enqueued = meter.createCounter('glasswork.jobs.enqueued', {
    description: 'Jobs accepted by the queue',
    unit: '{job}',
  });

  hooks.on('enqueued', ({ message }) => {
    enqueued.add(1, jobAttributes(system, message.queue, message.jobName));
  });
  hooks.on('start', ({ ctx }) => {
    const seconds = lagSeconds(ctx);
    if (seconds !== undefined) lag.record(seconds, jobAttributes(system, ctx.queue, ctx.jobName));
  });
  for (const event of Object.keys(COUNTERS) as TerminalEventName[]) {
    const spec = COUNTERS[event];
    const counter: Counter = meter.createCounter(spec.name, { description: spec.description, unit: '{job}' });
    hooks.on(event satisfies GlassworkEventName, ({ ctx, outcome, durationMs }) => {
      const attributes = jobAttributes(system, ctx.queue, ctx.jobName);
      counter.add(1, attributes);
      duration.record(durationMs / 1000, { ...attributes, [OUTCOME]: outcomeName(outcome) });
    });
  }
}
