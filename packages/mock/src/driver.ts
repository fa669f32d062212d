import type {
  AnyJob,
  DeadLetterInfo,
  Duration,
  Envelope,
  JobInput,
  Outcome,
  OutcomeType,
  OutgoingMessage,
  QueueDriver,
  QueueInfo,
  ReceivedMessage,
  ReceiveOptions,
  SendResult,
  Worker,
} from '@glasswork/core';
import { applyOutcome, decodeEnvelope, GlassworkError, parseDuration, processBatch } from '@glasswork/core';

/** Settings of one mock queue. */
export interface MockQueueOptions {
  /** @default true when the name ends in `.fifo` */
  fifo?: boolean;
  /** The redrive policy's `maxReceiveCount`; `false` for a queue without one. @default 10 */
  maxReceiveCount?: number | false;
  /** How long a received message stays invisible unless released. @default '30s' */
  visibilityTimeout?: Duration;
  /** Largest message accepted. @default 262144 */
  maxMessageBytes?: number;
}

export interface MockDriverOptions extends MockQueueOptions {
  /** Per-queue settings; other queues get the top-level ones. */
  queues?: Record<string, MockQueueOptions>;
  /** Longest per-message delay, as SQS. @default '15m' */
  maxDelay?: Duration;
  /** Messages per receive in `drain`, as SQS. @default 10 */
  batchSize?: number;
  /** Start of the virtual clock, epoch ms. @default Date.now() */
  startTime?: number;
  /** Make a send fail: return an error for a message to reject it (simulates SQS entry failures). */
  failSend?: (message: RecordedMessage) => Error | undefined;
}

/** A message the mock accepted, decoded for assertions. */
export interface RecordedMessage<TPayload = unknown> {
  readonly id: string;
  readonly job: string;
  readonly payload: TPayload;
  readonly queue: string;
  readonly messageId: string;
  readonly delaySeconds: number;
  readonly groupId: string | undefined;
  readonly dedupeId: string | undefined;
  readonly meta: Readonly<Record<string, string>>;
  readonly envelope: Envelope;
  readonly body: string;
  readonly attributes: Readonly<Record<string, string>>;
  /** Virtual time it was sent. */
  readonly sentAt: number;
}

/** A message that left its queue for the dead-letter list. */
export interface DeadLetterRecord {
  readonly queue: string;
  readonly messageId: string;
  readonly jobId: string | undefined;
  readonly job: string | undefined;
  readonly body: string;
  readonly receiveCount: number;
  /** The worker's reason; for `redrive`, the queue's own move. */
  readonly reason: string;
  readonly info: DeadLetterInfo | undefined;
  /**
   * `worker`: dead-lettered by the worker with a reason. `redrive`: moved by the queue's redrive policy
   * because the worker did not act on its last receive, which Glasswork's worker should never let happen.
   */
  readonly source: 'worker' | 'redrive';
}

/** One outcome applied during a drain. */
export interface DrainEntry {
  readonly at: number;
  readonly queue: string;
  readonly messageId: string;
  readonly jobId: string | undefined;
  readonly job: string | undefined;
  readonly receiveCount: number;
  readonly outcome: Outcome;
}

/** What a drain did. */
export interface DrainReport {
  readonly processed: number;
  readonly counts: Readonly<Record<OutcomeType | 'duplicate', number>>;
  /** Outcomes in the order they were applied. */
  readonly log: readonly DrainEntry[];
  /** Virtual milliseconds the clock moved. */
  readonly elapsedMs: number;
}

export interface DrainOptions {
  /** Stop once the next message is due later than this from now (the clock ends there). @default until empty */
  for?: Duration;
  /** Give up (with an error) after this much virtual time. @default '30d' */
  limit?: Duration;
  /** Give up (with an error) after this many deliveries, e.g. jobs that enqueue each other forever. @default 100000 */
  maxDeliveries?: number;
}

/** A recording driver with SQS semantics on a virtual clock. */
export interface MockDriver extends QueueDriver {
  /** Every message accepted, in order. */
  readonly enqueued: readonly RecordedMessage[];
  /** Messages that went to a dead-letter list, with their reasons. */
  readonly deadLetters: readonly DeadLetterRecord[];
  /** Payloads enqueued for `job`. */
  payloads<J extends AnyJob>(job: J): JobInput<J>[];
  /** Messages still in queues (visible or not), optionally of one queue. */
  pending(queue?: string): number;
  /** Forgets what was enqueued and dead-lettered, and empties the queues. */
  clear(): void;
  /** The virtual clock, epoch ms. */
  now(): number;
  /** Moves the virtual clock forward. */
  advance(duration: Duration): void;
  /**
   * Runs messages through `worker` with SQS semantics (delays, visibility, receive counts, redrive, FIFO
   * groups), moving the clock to each next due message, until the queues are empty or `for` runs out.
   */
  drain(worker: Worker<any>, options?: DrainOptions): Promise<DrainReport>;
}

interface Stored {
  readonly record: RecordedMessage;
  visibleAt: number;
  receiveCount: number;
  receipt: string | undefined;
  receivedAt: number | undefined;
}

interface MockQueue {
  readonly name: string;
  readonly fifo: boolean;
  readonly maxReceiveCount: number | undefined;
  readonly visibilityMs: number;
  readonly maxMessageBytes: number;
  /** In send order; a Set so that deleting one is not a scan (drains of many thousands stay fast). */
  readonly messages: Set<Stored>;
  readonly receipts: Map<string, Stored>;
  readonly dedupe: Map<string, { at: number; messageId: string }>;
}

const FIFO_DEDUPE_WINDOW_MS = 5 * 60_000;

/** Creates a mock driver. Pass it to `createClient`, then `drain` a worker over what was enqueued. */
export function mockDriver(options: MockDriverOptions = {}): MockDriver {
  let clock = options.startTime ?? Date.now();
  const now = () => clock;
  let sequence = 0;
  const maxDelaySeconds = Math.floor(parseDuration(options.maxDelay ?? '15m') / 1000);
  const batchSize = options.batchSize ?? 10;
  const enqueued: RecordedMessage[] = [];
  const deadLetters: DeadLetterRecord[] = [];
  const queues = new Map<string, MockQueue>();

  function queueOf(name: string): MockQueue {
    let queue = queues.get(name);
    if (!queue) {
      const own = { ...options, ...options.queues?.[name] };
      const maxReceiveCount = own.maxReceiveCount === false ? undefined : (own.maxReceiveCount ?? 10);
      queue = {
        name,
        fifo: own.fifo ?? name.endsWith('.fifo'),
        maxReceiveCount,
        visibilityMs: parseDuration(own.visibilityTimeout ?? '30s'),
        maxMessageBytes: own.maxMessageBytes ?? 262_144,
        messages: new Set(),
        receipts: new Map(),
        dedupe: new Map(),
      };
      queues.set(name, queue);
    }
    return queue;
  }

  function record(queue: string, message: OutgoingMessage, messageId: string): RecordedMessage {
    const decoded = decodeEnvelope(message.body);
    if (!decoded.ok)
      throw new GlassworkError(`mock driver: the client sent an unreadable body (${decoded.problem.reason})`);
    const { envelope } = decoded;
    return {
      id: message.id,
      job: message.jobName,
      payload: envelope.payload,
      queue,
      messageId,
      delaySeconds: message.delaySeconds,
      groupId: message.groupId,
      dedupeId: message.dedupeId,
      meta: envelope.meta,
      envelope,
      body: message.body,
      attributes: message.attributes,
      sentAt: clock,
    };
  }

  function sendOne(queue: MockQueue, message: OutgoingMessage): SendResult {
    if (message.bytes > queue.maxMessageBytes) {
      return {
        ok: false,
        error: new GlassworkError(`message of ${message.bytes} bytes is over the queue's limit`),
      };
    }
    if (message.delaySeconds > maxDelaySeconds) {
      return {
        ok: false,
        error: new GlassworkError(`DelaySeconds ${message.delaySeconds} is over ${maxDelaySeconds}`),
      };
    }
    if (queue.fifo) {
      if (!message.groupId)
        return { ok: false, error: new GlassworkError('MessageGroupId is required on FIFO queues') };
      if (message.delaySeconds > 0)
        return { ok: false, error: new GlassworkError('FIFO queues take no per-message delay') };
      const key = message.dedupeId ?? message.id;
      const seen = queue.dedupe.get(key);
      if (seen && clock - seen.at < FIFO_DEDUPE_WINDOW_MS) return { ok: true, messageId: seen.messageId };
    }
    const messageId = `mock-${++sequence}`;
    const recorded = record(queue.name, message, messageId);
    const failure = options.failSend?.(recorded);
    if (failure) return { ok: false, error: failure };
    if (queue.fifo) queue.dedupe.set(message.dedupeId ?? message.id, { at: clock, messageId });
    enqueued.push(recorded);
    queue.messages.add({
      record: recorded,
      visibleAt: clock + message.delaySeconds * 1000,
      receiveCount: 0,
      receipt: undefined,
      receivedAt: undefined,
    });
    return { ok: true, messageId };
  }

  /** SQS receive: visible messages in order; on FIFO queues a group with an invisible message is blocked. */
  function receiveNow(queue: MockQueue, max: number, visibilityMs = queue.visibilityMs): ReceivedMessage[] {
    const out: ReceivedMessage[] = [];
    const blocked = new Set<string>();
    const moved: Stored[] = [];
    for (const stored of queue.messages) {
      if (out.length >= max) break;
      const group = stored.record.groupId ?? '';
      if (queue.fifo && blocked.has(group)) continue;
      if (stored.visibleAt > clock) {
        if (queue.fifo) blocked.add(group);
        continue;
      }
      if (queue.maxReceiveCount !== undefined && stored.receiveCount >= queue.maxReceiveCount) {
        moved.push(stored);
        continue;
      }
      stored.receiveCount++;
      if (stored.receipt) queue.receipts.delete(stored.receipt);
      stored.receipt = `receipt-${++sequence}`;
      queue.receipts.set(stored.receipt, stored);
      stored.receivedAt = clock;
      stored.visibleAt = clock + visibilityMs;
      out.push({
        messageId: stored.record.messageId,
        body: stored.record.body,
        receiveCount: stored.receiveCount,
        queue: queue.name,
        attributes: stored.record.attributes,
        groupId: stored.record.groupId,
        sentAt: stored.record.sentAt,
        receivedAt: clock,
        maxReceiveCount: queue.maxReceiveCount,
        // Handlers and plugins (locks, rate limits) see the virtual clock and the visibility deadline.
        deadline: clock + visibilityMs,
        now,
        receipt: stored.receipt,
      });
    }
    for (const stored of moved) {
      remove(queue, stored);
      deadLetters.push({
        queue: queue.name,
        messageId: stored.record.messageId,
        jobId: stored.record.id,
        job: stored.record.job,
        body: stored.record.body,
        receiveCount: stored.receiveCount,
        reason: `moved by the redrive policy after ${stored.receiveCount} receives`,
        info: undefined,
        source: 'redrive',
      });
    }
    return out;
  }

  function remove(queue: MockQueue, stored: Stored): void {
    queue.messages.delete(stored);
    if (stored.receipt) queue.receipts.delete(stored.receipt);
  }

  function byReceipt(queue: string, message: ReceivedMessage): [MockQueue, Stored] | undefined {
    const q = queues.get(queue);
    const stored = q?.receipts.get(message.receipt);
    return q && stored ? [q, stored] : undefined;
  }

  const driver: MockDriver = {
    name: 'mock',
    capabilities: {
      maxBatchSize: 10,
      maxBatchBytes: 1_048_576,
      maxDelaySeconds,
      fifo: true,
      fifoDelay: false,
    },
    async describeQueue(name): Promise<QueueInfo> {
      const queue = queueOf(name);
      return {
        fifo: queue.fifo,
        maxMessageBytes: queue.maxMessageBytes,
        maxReceiveCount: queue.maxReceiveCount,
      };
    },
    async send(name, messages) {
      const queue = queueOf(name);
      // FIFO: after a message of a group fails, later ones of that group in the same call are not sent,
      // so a retry of the failed one can never land behind them (as the SQS driver does).
      const failed = new Set<string>();
      return messages.map((message): SendResult => {
        const group = queue.fifo ? message.groupId : undefined;
        if (group !== undefined && failed.has(group)) {
          return {
            ok: false,
            error: new GlassworkError(`not sent: an earlier message of FIFO group "${group}" failed`),
          };
        }
        const result = sendOne(queue, message);
        if (!result.ok && group !== undefined) failed.add(group);
        return result;
      });
    },
    async receive(name, opts: ReceiveOptions) {
      return receiveNow(queueOf(name), opts.maxMessages, opts.visibilityTimeoutMs);
    },
    async ack(name, messages) {
      for (const message of messages) {
        const found = byReceipt(name, message);
        if (found) remove(found[0], found[1]);
      }
    },
    async release(name, message, delaySeconds) {
      const found = byReceipt(name, message);
      if (found) found[1].visibleAt = clock + delaySeconds * 1000;
    },
    async deadLetter(name, message, info) {
      const found = byReceipt(name, message);
      if (!found) throw new GlassworkError(`mock driver: receipt of ${message.messageId} is no longer valid`);
      remove(found[0], found[1]);
      deadLetters.push({
        queue: name,
        messageId: message.messageId,
        jobId: info.jobId,
        job: info.jobName,
        body: message.body,
        receiveCount: message.receiveCount,
        reason: info.reason,
        info,
        source: 'worker',
      });
    },
    get enqueued() {
      return enqueued;
    },
    get deadLetters() {
      return deadLetters;
    },
    payloads: (job) =>
      enqueued.filter((m) => m.job === job.name).map((m) => m.payload as JobInput<typeof job>),
    pending: (queue) =>
      queue === undefined
        ? [...queues.values()].reduce((n, q) => n + q.messages.size, 0)
        : (queues.get(queue)?.messages.size ?? 0),
    clear() {
      enqueued.length = 0;
      deadLetters.length = 0;
      queues.clear();
    },
    now,
    advance(duration) {
      clock += parseDuration(duration);
    },
    async drain(worker, drainOptions = {}) {
      const start = clock;
      const stopAt =
        drainOptions.for === undefined ? Number.POSITIVE_INFINITY : clock + parseDuration(drainOptions.for);
      const giveUpAt = clock + parseDuration(drainOptions.limit ?? '30d');
      const maxDeliveries = drainOptions.maxDeliveries ?? 100_000;
      const log: DrainEntry[] = [];
      const counts = { ack: 0, retry: 0, defer: 0, dead: 0, discard: 0, duplicate: 0 };
      for (;;) {
        let ran = false;
        for (const queue of queues.values()) {
          for (;;) {
            const batch = receiveNow(queue, batchSize);
            if (batch.length === 0) break;
            ran = true;
            if (log.length + batch.length > maxDeliveries) {
              throw new GlassworkError(
                `drain: more than ${maxDeliveries} deliveries; jobs may be enqueueing each other forever (raise maxDeliveries if not)`,
              );
            }
            const items = await processBatch(worker, batch, {
              fifo: queue.fifo,
              apply: (message, _outcome, result) => applyOutcome(driver, queue.name, message, result),
            });
            for (const { delivery, outcome } of items) {
              counts[outcome.type]++;
              if (outcome.type === 'ack' && outcome.duplicate) counts.duplicate++;
              const envelope = decodeEnvelope(delivery.body);
              log.push({
                at: clock,
                queue: queue.name,
                messageId: delivery.messageId,
                jobId: envelope.ok ? envelope.envelope.id : undefined,
                job: envelope.ok ? envelope.envelope.name : undefined,
                receiveCount: delivery.receiveCount,
                outcome,
              });
            }
          }
        }
        if (ran) continue;
        // Visible messages that were not received sit behind an invisible message of their FIFO group,
        // so the next event is the earliest message that becomes visible later than now.
        let next = Number.POSITIVE_INFINITY;
        for (const queue of queues.values()) {
          for (const m of queue.messages) if (m.visibleAt > clock) next = Math.min(next, m.visibleAt);
        }
        if (next === Number.POSITIVE_INFINITY || next > stopAt) break;
        if (next > giveUpAt) {
          throw new GlassworkError(
            `drain: ${driver.pending()} message(s) still pending after ${Math.round((clock - start) / 1000)}s of virtual time; ` +
              'a job may be deferring forever',
          );
        }
        clock = Math.max(clock, next);
      }
      if (stopAt !== Number.POSITIVE_INFINITY) clock = Math.max(clock, stopAt);
      return { processed: log.length, counts, log, elapsedMs: clock - start };
    },
  };
  return driver;
}
