import { setMaxListeners } from 'node:events';
import type { Duration, OutcomeType, RunOptions, Worker } from '@glasswork/core';
import {
  applyOutcome,
  ConfigurationError,
  JobInterruptedError,
  MAX_VISIBILITY_SECONDS,
  parseDuration,
  processBatch,
  visibilitySeconds,
} from '@glasswork/core';
import { backoff, sleep } from './api.ts';
import { MAX_WAIT_SECONDS, sqsDriver } from './driver.ts';
import { isMessageGone, sqsErrorCode } from './errors.ts';
import { createSlots } from './slots.ts';
import type { SqsDriver, SqsDriverOptions, SqsReceivedMessage } from './types.ts';

export interface PollerOptions
  extends Pick<SqsDriverOptions, 'client' | 'region' | 'endpoint' | 'deadLetter'> {
  /** The worker whose handlers run the jobs. */
  worker: Worker<any>;
  /** The queue to poll (a name your jobs use, a URL or an ARN). */
  queue?: string;
  /** Several queues to poll; they share `concurrency`. */
  queues?: readonly string[];
  /** The driver to use (its queue map, dead-letter settings and client); else one is made from the options here. */
  driver?: SqsDriver;
  /** Jobs running at once, across all queues and receives. @default 10 */
  concurrency?: number;
  /** Messages per ReceiveMessage, 1 to 10. @default 10 */
  batchSize?: number;
  /**
   * ReceiveMessage calls in flight per queue: one receive waits a round trip, so a high `concurrency`
   * needs several to keep its slots full. @default `concurrency / batchSize`, rounded up, at most 10
   */
  receivers?: number;
  /** Visibility timeout of received messages. @default the queue's VisibilityTimeout */
  visibilityTimeout?: Duration;
  /**
   * How often the visibility of messages still being worked on is extended (back to the visibility
   * timeout), up to SQS's 12 hours; `false` to never extend, in which case a job must finish within the
   * visibility timeout. @default a third of the visibility timeout
   */
  heartbeat?: Duration | false;
  /** Long-poll wait of each receive, up to 20 s. @default '20s' */
  waitTime?: Duration;
  /** On stop, how long running jobs may take to finish before their signals abort them. @default '30s' */
  gracePeriod?: Duration;
  /** Stop on SIGTERM and SIGINT. @default true */
  handleSignals?: boolean;
}

/** What a poller has done so far. */
export interface PollerStats {
  readonly received: number;
  /** Outcomes applied, by type. */
  readonly outcomes: Readonly<Record<OutcomeType, number>>;
  /** Messages received and not yet done (running, waiting for their turn, or being applied). */
  readonly inFlight: number;
}

export interface Poller {
  /** Checks the queues (dead-letter queue, visibility) and starts receiving. Rejects on a setup problem. */
  start(): Promise<void>;
  /**
   * Stops receiving, lets running jobs finish within the grace period (then aborts their signals), hands
   * back messages that had not started (visible again at once), and resolves when every outcome is applied.
   */
  stop(reason?: string): Promise<void>;
  /** Resolves once the poller has stopped (by `stop()` or a signal). */
  readonly stopped: Promise<void>;
  readonly stats: PollerStats;
}

interface QueueContext {
  readonly name: string;
  readonly fifo: boolean;
  readonly visibilityMs: number;
  readonly requestVisibilityMs: number | undefined;
  readonly heartbeatMs: number | undefined;
}

interface Tracked {
  readonly queue: QueueContext;
  lastBeat: number;
  beat: Promise<void> | undefined;
  /**
   * Its outcome is being applied. A heartbeat may then race the delete: its failures wait in
   * `lateFailures` until the apply is over, to be reported unless they only say the message is gone.
   */
  applying: boolean;
  lateFailures?: Error[];
  /** No more heartbeats: the visibility is about to be set. */
  stopped?: boolean;
}

/** A heartbeat failure that only says the message was deleted (or moved) meanwhile: expected during a delete. */
const saysGone = (error: Error): boolean =>
  isMessageGone((error as { sqsCode?: string }).sqsCode ?? sqsErrorCode(error));

/** Before a job starts without heartbeats, at least this much visibility must be left beyond its timeout. */
const START_MARGIN_MS = 1000;

/**
 * A long-running SQS consumer for ECS, EC2 or Kubernetes: receives from its queues, keeps `concurrency`
 * jobs running through the worker, applies every outcome (deletes in batches, visibility for retries and
 * deferrals, the dead-letter queue), extends the visibility of long jobs, and shuts down cleanly.
 * It reports problems as the worker's `receiveError` events; it has no logger of its own.
 */
export function createPoller(options: PollerOptions): Poller {
  const { worker } = options;
  if (!worker || typeof worker.run !== 'function') {
    throw new ConfigurationError('createPoller needs a worker: pass worker: createWorker().handle(...)');
  }
  const names = options.queues ?? (options.queue === undefined ? [] : [options.queue]);
  if (names.length === 0 || (options.queue !== undefined && options.queues !== undefined)) {
    throw new ConfigurationError('createPoller needs queue: "name" or queues: ["a", "b"] (one of them)');
  }
  const concurrency = options.concurrency ?? 10;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new ConfigurationError(`createPoller: concurrency must be a whole number >= 1, got ${concurrency}`);
  }
  const batchSize = options.batchSize ?? 10;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10) {
    throw new ConfigurationError(`createPoller: batchSize must be 1 to 10 (SQS's limit), got ${batchSize}`);
  }
  const receivers = options.receivers ?? Math.min(10, Math.ceil(concurrency / batchSize));
  if (!Number.isInteger(receivers) || receivers < 1) {
    throw new ConfigurationError(`createPoller: receivers must be a whole number >= 1, got ${receivers}`);
  }
  const waitTimeMs = parseDuration(options.waitTime ?? '20s');
  if (waitTimeMs > MAX_WAIT_SECONDS * 1000)
    throw new ConfigurationError('createPoller: waitTime is at most 20s (SQS long polling)');
  const graceMs = parseDuration(options.gracePeriod ?? '30s');
  const requestVisibilityMs =
    options.visibilityTimeout === undefined ? undefined : parseDuration(options.visibilityTimeout);
  if (
    requestVisibilityMs !== undefined &&
    (requestVisibilityMs < 1000 || requestVisibilityMs > MAX_VISIBILITY_SECONDS * 1000)
  ) {
    throw new ConfigurationError('createPoller: visibilityTimeout must be between 1s and 12h');
  }
  const ownDriver = !options.driver;
  const driver =
    options.driver ??
    sqsDriver({
      ...(options.client ? { client: options.client } : {}),
      ...(options.region === undefined ? {} : { region: options.region }),
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      ...(options.deadLetter === undefined ? {} : { deadLetter: options.deadLetter }),
    });

  type State = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';
  let state: State = 'idle';
  let loops: Promise<void>[] = [];
  let heartbeatTimer: NodeJS.Timeout | undefined;
  let stopping: Promise<void> | undefined;
  const receiveAbort = new AbortController();
  const jobsAbort = new AbortController();
  // Every running handler listens on this signal; there may be many more than the default warning level.
  setMaxListeners(0, jobsAbort.signal);
  const slots = createSlots(concurrency);
  const tracked = new Map<SqsReceivedMessage, Tracked>();
  const beating = new Set<Promise<void>>();
  let held = 0;
  // Slots promised to receives in flight, so several receivers never take more than `concurrency`.
  let reserved = 0;
  let unapplied = 0;
  let received = 0;
  const outcomes: Record<OutcomeType, number> = { ack: 0, retry: 0, defer: 0, dead: 0, discard: 0 };
  const wake: (() => void)[] = [];
  const notify = () => {
    for (const resolve of wake.splice(0)) resolve();
  };
  const changed = () => new Promise<void>((resolve) => wake.push(resolve));
  async function until(done: () => boolean): Promise<void> {
    while (!done()) await changed();
  }
  let resolveStopped: () => void = () => {};
  const stopped = new Promise<void>((resolve) => {
    resolveStopped = resolve;
  });

  const report = (error: unknown, queue?: string) => {
    worker.emit('receiveError', { error, queue }).catch(() => {});
  };

  async function prepare(name: string): Promise<QueueContext> {
    const info = await driver.describeQueue(name);
    await driver.deadLetterTarget(name);
    const visibilityMs = requestVisibilityMs ?? info.visibilityTimeoutSeconds * 1000;
    const heartbeatMs =
      options.heartbeat === false
        ? undefined
        : options.heartbeat === undefined
          ? Math.max(200, Math.floor(visibilityMs / 3))
          : parseDuration(options.heartbeat);
    if (heartbeatMs !== undefined && heartbeatMs >= visibilityMs) {
      throw new ConfigurationError(
        `createPoller: heartbeat (${heartbeatMs}ms) must be shorter than the visibility timeout of "${name}" (${visibilityMs}ms)`,
      );
    }
    if (heartbeatMs === undefined) {
      // Without heartbeats a job starts only with START_MARGIN_MS of visibility left: a shorter visibility
      // would defer every message forever.
      if (visibilityMs <= START_MARGIN_MS) {
        throw new ConfigurationError(
          `createPoller: messages of "${name}" stay invisible for ${visibilityMs}ms, too short to start any job with heartbeat off: ` +
            `raise visibilityTimeout above ${START_MARGIN_MS}ms or turn the heartbeat on`,
        );
      }
      for (const job of worker.jobs()) {
        const timeout = worker.timeoutOf(job.name);
        if (timeout !== undefined && timeout + START_MARGIN_MS >= visibilityMs) {
          throw new ConfigurationError(
            `Job "${job.name}" may run ${timeout}ms but messages of "${name}" stay invisible for ${visibilityMs}ms and heartbeat is off: ` +
              'raise visibilityTimeout or turn the heartbeat on',
          );
        }
      }
    }
    return { name, fifo: info.fifo, visibilityMs, requestVisibilityMs, heartbeatMs };
  }

  function runOptions(queue: QueueContext): RunOptions | undefined {
    if (state !== 'running') return { defer: { delayMs: 0, reason: 'the poller is stopping' } };
    return queue.heartbeatMs === undefined ? { startMargin: START_MARGIN_MS } : undefined;
  }

  function dispatch(queue: QueueContext, messages: readonly SqsReceivedMessage[]): void {
    received += messages.length;
    held += messages.length;
    unapplied += messages.length;
    const deliveries = messages.map((message) => {
      const delivery: SqsReceivedMessage = {
        ...message,
        signal: jobsAbort.signal,
        // With heartbeats the visibility keeps moving; the hard end is SQS's 12 hours from the receive.
        deadline:
          queue.heartbeatMs === undefined
            ? message.deadline
            : (message.receivedAt ?? Date.now()) + (MAX_VISIBILITY_SECONDS - 5) * 1000,
      };
      tracked.set(delivery, {
        queue,
        lastBeat: message.receivedAt ?? Date.now(),
        beat: undefined,
        applying: false,
      });
      return delivery;
    });
    processBatch(worker, deliveries, {
      fifo: queue.fifo,
      concurrency: slots.limit,
      runOptions: () => runOptions(queue),
      async apply(delivery, _outcome, result) {
        slots.hold(result.finished);
        // Heartbeats go on while the outcome is applied, so a slow delete or dead-letter send cannot let
        // the message come back and run again; they stop before any change of visibility, and a heartbeat
        // already on its way lands first, or it would undo a retry delay.
        const entry = tracked.get(delivery);
        if (entry) entry.applying = true;
        const stopHeartbeat = async () => {
          if (!entry) return;
          entry.stopped = true;
          await entry.beat;
        };
        let applyFailed = false;
        try {
          const applied = await applyOutcome(driver, queue.name, delivery, result, {
            onError: (error) => {
              applyFailed = true;
              report(error, queue.name);
            },
            beforeRelease: stopHeartbeat,
          });
          outcomes[applied.type]++;
          return applied;
        } finally {
          tracked.delete(delivery);
          // A heartbeat that failed during the apply matters if the apply failed too, or if it failed for
          // another reason than the message being gone (throttling, the network).
          for (const error of entry?.lateFailures ?? []) {
            if (applyFailed || !saysGone(error)) report(error, queue.name);
          }
          unapplied--;
          notify();
          result.finished.then(() => {
            held--;
            notify();
          });
        }
      },
    }).catch((error) => report(error, queue.name));
  }

  async function receiveLoop(queue: QueueContext): Promise<void> {
    let failures = 0;
    while (state === 'running') {
      const free = concurrency - held - reserved;
      if (free <= 0) {
        await changed();
        continue;
      }
      const want = Math.min(batchSize, free);
      reserved += want;
      let messages: SqsReceivedMessage[];
      try {
        messages = await driver.receive(queue.name, {
          maxMessages: want,
          waitTimeMs,
          ...(queue.requestVisibilityMs === undefined
            ? {}
            : { visibilityTimeoutMs: queue.requestVisibilityMs }),
          signal: receiveAbort.signal,
        });
        failures = 0;
      } catch (error) {
        reserved -= want;
        notify();
        if (state !== 'running') break;
        failures++;
        report(error, queue.name);
        await sleep(backoff(failures, 200, 20_000), receiveAbort.signal);
        continue;
      }
      // Synchronously from here to dispatch: no other receiver sees the slots free in between.
      reserved -= want;
      if (messages.length < want) notify();
      // Received while stopping: dispatched anyway, and handed back at once without running.
      if (messages.length > 0) dispatch(queue, messages);
    }
  }

  function heartbeat(): void {
    const now = Date.now();
    const due = new Map<string, { queue: QueueContext; seconds: number; messages: SqsReceivedMessage[] }>();
    for (const [message, entry] of tracked) {
      const every = entry.queue.heartbeatMs;
      if (every === undefined || entry.beat || entry.stopped || now - entry.lastBeat < every) continue;
      const seconds = visibilitySeconds(entry.queue.visibilityMs, { receivedAt: message.receivedAt, now });
      if (seconds <= 0) continue;
      const key = `${entry.queue.name}\n${seconds}`;
      const group = due.get(key) ?? { queue: entry.queue, seconds, messages: [] };
      group.messages.push(message);
      due.set(key, group);
    }
    for (const { queue, seconds, messages } of due.values()) {
      const beat: Promise<void> = driver
        .extendVisibility(queue.name, messages, seconds)
        .then((failures) => {
          // A message deleted while its heartbeat was on the way is done, not failing.
          for (const failure of failures) {
            const entry = tracked.get(failure.message as SqsReceivedMessage);
            if (!entry) continue; // done: its apply is over
            if (!entry.applying) report(failure.error, queue.name);
            else if (entry.lateFailures) entry.lateFailures.push(failure.error);
            else entry.lateFailures = [failure.error];
          }
        })
        .catch((error) => report(error, queue.name))
        .finally(() => {
          for (const message of messages) {
            const entry = tracked.get(message);
            if (entry) {
              entry.beat = undefined;
              entry.lastBeat = now;
            }
          }
        });
      for (const message of messages) {
        const entry = tracked.get(message);
        if (entry) entry.beat = beat;
      }
      beating.add(beat);
      void beat.then(() => beating.delete(beat));
    }
  }

  const onTerm = () => void stop('received SIGTERM');
  const onInt = () => void stop('received SIGINT');
  const handleSignals = options.handleSignals ?? true;

  async function start(): Promise<void> {
    if (state !== 'idle') throw new ConfigurationError(`poller.start(): the poller is already ${state}`);
    state = 'starting';
    let queues: QueueContext[];
    try {
      await worker.ready();
      queues = await Promise.all(names.map(prepare));
    } catch (error) {
      state = 'idle';
      throw error;
    }
    if ((state as State) !== 'starting') return;
    state = 'running';
    if (handleSignals) {
      process.once('SIGTERM', onTerm);
      process.once('SIGINT', onInt);
    }
    const beats = queues.map((q) => q.heartbeatMs).filter((ms): ms is number => ms !== undefined);
    if (beats.length > 0) {
      heartbeatTimer = setInterval(heartbeat, Math.max(50, Math.floor(Math.min(...beats) / 4)));
      heartbeatTimer.unref();
    }
    loops = queues.flatMap((queue) => Array.from({ length: receivers }, () => receiveLoop(queue)));
  }

  function stop(reason = 'stop() was called'): Promise<void> {
    stopping ??= (async () => {
      const wasRunning = state === 'running';
      state = 'stopping';
      if (handleSignals) {
        process.removeListener('SIGTERM', onTerm);
        process.removeListener('SIGINT', onInt);
      }
      if (wasRunning) {
        await worker.emit('stopping', { reason });
        slots.open();
        notify();
        // Receives in flight are let finish (at most the long-poll wait): aborting one on our side does not
        // cancel it on SQS's, and messages it is then handed stay invisible for their whole visibility
        // timeout. What they bring is handed back at once. Aborted only if SQS does not answer in time.
        const abortTimer = setTimeout(() => receiveAbort.abort(), waitTimeMs + 5000);
        await Promise.all(loops);
        clearTimeout(abortTimer);
        let timer: NodeJS.Timeout | undefined;
        const graceOver = new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), graceMs);
        });
        const graceRanOut = await Promise.race([until(() => held === 0).then(() => false), graceOver]);
        clearTimeout(timer);
        if (graceRanOut) {
          jobsAbort.abort(
            new JobInterruptedError('shutdown', 'the poller is stopping and the grace period ran out', {
              retryAfter: '1s',
            }),
          );
        }
        await until(() => unapplied === 0);
        if (heartbeatTimer) clearInterval(heartbeatTimer);
        // Heartbeats still on their way (for messages deleted meanwhile) land before the client closes,
        // within another grace period: a request that hangs must not keep stop() from finishing.
        let beatsTimer: NodeJS.Timeout | undefined;
        await Promise.race([
          Promise.all(beating),
          new Promise((resolve) => {
            beatsTimer = setTimeout(resolve, graceMs);
          }),
        ]);
        clearTimeout(beatsTimer);
      }
      if (ownDriver) await driver.close();
      state = 'stopped';
      if (wasRunning) await worker.emit('stopped', {});
      resolveStopped();
    })();
    return stopping;
  }

  return {
    start,
    stop,
    stopped,
    get stats(): PollerStats {
      return { received, outcomes: { ...outcomes }, inFlight: held };
    },
  };
}
