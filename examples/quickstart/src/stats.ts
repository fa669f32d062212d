import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DeliveryContext, Plugin } from '@glasswork/core';
import { definePlugin } from '@glasswork/core';

/** What happened to the jobs of one name. */
export interface JobStats {
  readonly job: string;
  queue: string;
  enqueued: number;
  succeeded: number;
  retried: number;
  dead: number;
  /** From when each job was due (its enqueue, or the end of its delay) to its success, ms. */
  readonly latencies: number[];
}

/** Counts job events for the summary: a plugin of a dozen lines, attached to the client and the worker. */
export function jobStats(): { plugin: Plugin; byJob: Map<string, JobStats>; finished(): number } {
  const byJob = new Map<string, JobStats>();
  const of = (job: string, queue: string): JobStats => {
    let stats = byJob.get(job);
    if (!stats) {
      stats = { job, queue, enqueued: 0, succeeded: 0, retried: 0, dead: 0, latencies: [] };
      byJob.set(job, stats);
    }
    return stats;
  };
  const name = (ctx: DeliveryContext) => ctx.jobName ?? '(malformed)';
  const plugin = definePlugin({
    name: 'demo-stats',
    setup(hooks) {
      hooks.on('enqueued', ({ message }) => void of(message.jobName, message.queue).enqueued++);
      hooks.on('success', ({ ctx }) => {
        const stats = of(name(ctx), ctx.queue);
        stats.succeeded++;
        const due = ctx.envelope?.notBefore ?? ctx.envelope?.enqueuedAt;
        if (due) stats.latencies.push(Date.now() - Date.parse(due));
      });
      hooks.on('retry', ({ ctx }) => void of(name(ctx), ctx.queue).retried++);
      hooks.on('dead', ({ ctx }) => void of(name(ctx), ctx.queue).dead++);
    },
  });
  const finished = () => {
    let total = 0;
    for (const stats of byJob.values()) total += stats.succeeded + stats.dead;
    return total;
  };
  return { plugin, byJob, finished };
}

/** The value below which `p` percent of the values fall (nearest rank). */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/**
 * Counts the requests a client sends, by API action: the SDK's own retries included (the middleware sits
 * inside the retry loop), so the numbers are what SQS bills.
 */
export function countRequests(client: SQSClient): Record<string, number> {
  const counts: Record<string, number> = {};
  client.middlewareStack.add(
    (next, context) => (args) => {
      const action = (context.commandName ?? 'Unknown').replace(/Command$/, '');
      counts[action] = (counts[action] ?? 0) + 1;
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low', name: 'glassworkDemoRequestCounter' },
  );
  return counts;
}
