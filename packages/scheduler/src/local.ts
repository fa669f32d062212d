import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Duration } from '@glasswork/core';
import { ConfigurationError, parseDuration } from '@glasswork/core';
import { SCHEDULER_MAX_INPUT_BYTES } from './eventbridge.ts';
import { assertSameJob, oneTimeScheduleName } from './names.ts';
import type { PeriodicJob } from './periodic.ts';
import { isPeriodicJob, nextRunTime, periodicInput, substituteContext } from './periodic.ts';
import { loadSqsSdk } from './sdk.ts';
import type { ScheduleBackend, SqsClientLike } from './types.ts';

export interface LocalSchedulerOptions {
  /** An SQS client for your local queues, with its endpoint: `new SQSClient({ endpoint: 'http://localhost:4566' })`. */
  sqs: SqsClientLike;
  /** Queue name, as jobs name it, to queue URL. */
  queues: Readonly<Record<string, string>>;
  /** Periodic jobs to fire on their schedules. */
  periodic?: readonly PeriodicJob<any, any>[];
  /** The clock; pass a virtual or accelerated one in tests. @default Date.now */
  now?: () => number;
  /** Keeps waiting one-time jobs in this JSON file, so a restart loses none. @default memory only */
  file?: string;
  /** How often `start()` looks for due jobs, in real time. @default '1s' */
  pollInterval?: Duration;
  /** Reports a failed send; the job stays and is tried again on the next check. @default console.error */
  onError?: (error: unknown) => void;
  /** Largest envelope a schedule may carry, as EventBridge Scheduler limits it. @default 262144 */
  maxInputBytes?: number;
}

/** A job waiting in the local scheduler. */
export interface LocalPending {
  readonly jobId: string;
  readonly queue: string;
  /** Epoch ms. */
  readonly at: number;
}

/** The local stand-in for EventBridge Scheduler; also a `ScheduleBackend` for `withScheduler`. */
export interface LocalScheduler extends ScheduleBackend {
  /** Sends every one-time and periodic job due by `now()`; resolves to the number of messages sent. */
  runDue(): Promise<number>;
  /** Runs `runDue` every `pollInterval` until `stop()`. The timer does not keep the process alive. */
  start(): void;
  stop(): Promise<void>;
  /** One-time jobs still waiting. */
  pending(): readonly LocalPending[];
  /** When the next job (one-time or periodic) is due, if any. */
  nextDueAt(): number | undefined;
}

interface Entry extends LocalPending {
  readonly name: string;
  readonly input: string;
  readonly groupId: string | undefined;
}

interface Periodic {
  readonly job: PeriodicJob;
  readonly start: number;
  next: number | undefined;
  input?: Promise<string>;
}

// EventBridge Scheduler stops retrying a run after its maximum event age (at most 24 hours); so does this
// stand-in, which keeps a laptop that slept overnight from sending a flood of minute-by-minute runs.
const MAX_EVENT_AGE_MS = 86_400_000;

/**
 * Holds jobs and fires periodic jobs the way EventBridge Scheduler would, for development and tests:
 * when due, each is a `SendMessage` of its envelope to its queue (with the message group on FIFO queues,
 * and no message attributes or deduplication id, as the scheduler sends them).
 */
export function localScheduler(options: LocalSchedulerOptions): LocalScheduler {
  if (!options?.sqs || typeof options.sqs.send !== 'function') {
    throw new ConfigurationError(
      "localScheduler needs sqs: new SQSClient({ endpoint: 'http://localhost:4566' })",
    );
  }
  const queues = options.queues ?? {};
  const now = options.now ?? Date.now;
  const onError =
    options.onError ?? ((error: unknown) => console.error('[glasswork] local scheduler:', error));
  const pollMs = parseDuration(options.pollInterval ?? '1s');
  const urlOf = (queue: string): string => {
    const url = queues[queue];
    if (!url)
      throw new ConfigurationError(
        `localScheduler has no URL for queue "${queue}": pass queues: { ${JSON.stringify(queue)}: '<queue url>' }`,
      );
    return url;
  };

  const entries = new Map<string, Entry>(load(options.file).map((e) => [e.name, e]));
  const periodic: Periodic[] = [];
  const startedAt = now();
  for (const job of options.periodic ?? []) {
    if (!isPeriodicJob(job))
      throw new ConfigurationError('localScheduler: periodic jobs must come from definePeriodicJob');
    const url = urlOf(job.periodic.queue);
    if (url.endsWith('.fifo') && !job.periodic.group) {
      throw new ConfigurationError(
        `Periodic job "${job.periodic.name}" goes to FIFO queue "${job.periodic.queue}": give it a group`,
      );
    }
    periodic.push({ job, start: startedAt, next: nextRunTime(job.periodic, startedAt - 1, startedAt) });
  }

  const persist = () => {
    if (!options.file) return;
    const tmp = `${options.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify([...entries.values()], null, 2));
    renameSync(tmp, options.file);
  };

  async function deliver(
    queue: string,
    input: string,
    groupId: string | undefined,
    name: string,
    at: number,
  ): Promise<void> {
    const sdk = await loadSqsSdk();
    const body = substituteContext(input, {
      scheduleArn: `arn:aws:scheduler:local:000000000000:schedule/local/${name}`,
      scheduledTime: at,
      executionId: randomBytes(8).toString('hex'),
      attemptNumber: 1,
    });
    await options.sqs.send(
      new sdk.SendMessageCommand({
        QueueUrl: urlOf(queue),
        MessageBody: body,
        ...(groupId ? { MessageGroupId: groupId } : {}),
      }),
    );
  }

  let running: Promise<number> | undefined;
  async function runOnce(): Promise<number> {
    const t = now();
    let sent = 0;
    for (const entry of [...entries.values()].sort((a, b) => a.at - b.at)) {
      if (entry.at > t) break;
      try {
        await deliver(entry.queue, entry.input, entry.groupId, entry.name, entry.at);
        entries.delete(entry.name);
        persist();
        sent++;
      } catch (error) {
        onError(error);
      }
    }
    for (const p of periodic) {
      while (p.next !== undefined && p.next <= t) {
        const due = p.next;
        if (due >= t - MAX_EVENT_AGE_MS) {
          try {
            p.input ??= periodicInput(p.job);
            await deliver(
              p.job.periodic.queue,
              await p.input,
              p.job.periodic.group,
              p.job.periodic.scheduleName,
              due,
            );
            sent++;
          } catch (error) {
            onError(error);
            break; // try this run again on the next check
          }
        }
        p.next = nextRunTime(p.job.periodic, due, p.start);
      }
    }
    return sent;
  }

  let timer: NodeJS.Timeout | undefined;
  const scheduler: LocalScheduler = {
    name: 'local',
    maxInputBytes: options.maxInputBytes ?? SCHEDULER_MAX_INPUT_BYTES,
    async schedule({ message, queue, at }) {
      urlOf(queue);
      const name = oneTimeScheduleName(message.id);
      // Same job id, same job: as EventBridge rejects a second schedule of one name, keep the first.
      const existing = entries.get(name);
      if (existing) assertSameJob(name, message.id, message.jobName, existing.input);
      else {
        entries.set(name, {
          name,
          jobId: message.id,
          queue,
          at,
          input: message.body,
          groupId: message.groupId,
        });
        persist();
      }
      return `arn:aws:scheduler:local:000000000000:schedule/local/${name}`;
    },
    async cancel(jobId) {
      const deleted = entries.delete(oneTimeScheduleName(jobId));
      if (deleted) persist();
      return deleted;
    },
    runDue() {
      // One pass at a time: the timer and a test calling runDue() never send a job twice.
      const pass = (running ?? Promise.resolve(0)).then(runOnce, runOnce);
      running = pass;
      return pass;
    },
    start() {
      if (timer) return;
      timer = setInterval(() => void scheduler.runDue().catch(onError), pollMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await running?.catch(() => {});
    },
    async close() {
      await scheduler.stop();
    },
    pending: () =>
      [...entries.values()].map(({ jobId, queue, at }) => ({ jobId, queue, at })).sort((a, b) => a.at - b.at),
    nextDueAt() {
      const times = [
        ...[...entries.values()].map((e) => e.at),
        ...periodic.map((p) => p.next ?? Number.POSITIVE_INFINITY),
      ];
      const min = Math.min(...times);
      return Number.isFinite(min) ? min : undefined;
    },
  };
  return scheduler;
}

function load(file: string | undefined): Entry[] {
  if (!file) return [];
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const data: unknown = JSON.parse(text);
  if (!Array.isArray(data))
    throw new ConfigurationError(`localScheduler: ${file} does not hold a list of pending jobs`);
  return data as Entry[];
}
