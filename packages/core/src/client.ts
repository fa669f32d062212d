import type { Duration } from './duration.ts';
import { parseDuration, parseTimeout } from './duration.ts';
import { encodeEnvelope, JOB_NAME_ATTRIBUTE, messageBytes } from './envelope.ts';
import {
  ConfigurationError,
  DelayTooLongError,
  EnqueueError,
  GlassworkError,
  InvalidJobPayloadError,
  PayloadTooLargeError,
} from './errors.ts';
import type { EventBusOptions, HookRegistry } from './hooks.ts';
import { compose, EventBus, orderPlugins, setupPlugins } from './hooks.ts';
import { isJob } from './job.ts';
import { lazy } from './lazy.ts';
import { validate } from './schema.ts';
import type {
  AnyJob,
  AnyPlugin,
  BuildContext,
  EnqueueArgs,
  EnqueueEntries,
  EnqueueEntry,
  EnqueueManyResult,
  EnqueueOptions,
  EnqueueResult,
  OutgoingMessage,
  QueueDriver,
  QueueInfo,
  SendContext,
  SendResult,
} from './types.ts';

/** SQS's historical message size limit, used when neither the option nor the queue says otherwise. */
export const DEFAULT_MAX_MESSAGE_BYTES = 262_144;

export interface ClientOptions extends EventBusOptions {
  /** Where messages go. */
  driver: QueueDriver;
  /** Producer plugins (tracing, outbox, logging). */
  plugins?: readonly AnyPlugin[];
  /** Queue for jobs that name none. */
  defaultQueue?: string;
  /** Largest encoded message. @default the queue's own limit when the driver reports it, else 256 KiB */
  maxMessageBytes?: number;
  /** Driver calls in flight at once for one `enqueueMany` on a standard queue. @default 8 */
  sendConcurrency?: number;
}

/** Enqueues jobs. Create one per process and reuse it. */
export interface Client {
  readonly driver: QueueDriver;
  /** Validates, encodes and sends one job; throws a typed error if it was not accepted. */
  enqueue<J extends AnyJob>(job: J, ...args: EnqueueArgs<J>): Promise<EnqueueResult>;
  /** `enqueue` with a delay. */
  enqueueIn<J extends AnyJob>(job: J, delay: Duration, ...args: EnqueueArgs<J>): Promise<EnqueueResult>;
  /** `enqueue` for a point in time. */
  enqueueAt<J extends AnyJob>(job: J, at: Date | number, ...args: EnqueueArgs<J>): Promise<EnqueueResult>;
  /**
   * Enqueues many jobs of any types in batches; one result per entry, in order. Never throws for an
   * entry: look at `ok`. On FIFO queues, once an entry of a group fails, later entries of that group
   * are not sent (so a retry can never reverse their order).
   */
  enqueueMany<const E extends readonly { job: AnyJob }[]>(
    entries: EnqueueEntries<E>,
  ): Promise<EnqueueManyResult[]>;
  /** Runs plugin setup now instead of on the first enqueue. */
  ready(): Promise<void>;
  /** Fires `flush` on the client's plugins (exporters), e.g. before a producer Lambda returns. */
  flush(): Promise<void>;
}

interface Pipeline {
  build: ((ctx: BuildContext, inner: () => Promise<OutgoingMessage>) => Promise<OutgoingMessage>) | undefined;
  send: ((ctx: SendContext, inner: () => Promise<SendResult[]>) => Promise<SendResult[]>) | undefined;
  events: EventBus;
}

// Printable ASCII without space: what SQS accepts in a deduplication id, and safe in names and logs.
const JOB_ID = /^[\x21-\x7e]{1,128}$/;

/** Creates a client that enqueues jobs through `driver`. */
export function createClient(options: ClientOptions): Client {
  const { driver } = options;
  if (!driver || typeof driver.send !== 'function' || !driver.capabilities) {
    throw new ConfigurationError(
      'createClient needs a driver: pass driver: sqsDriver({ ... }) or mockDriver()',
    );
  }
  const plugins = orderPlugins(options.plugins ?? []);
  const caps = driver.capabilities;
  const sendConcurrency = Math.max(1, options.sendConcurrency ?? 8);
  if (options.observerTimeout !== undefined) parseTimeout(options.observerTimeout, 'observerTimeout');
  const clock = driver.now ? () => (driver.now as () => number)() : Date.now;

  const pipeline = lazy(async (): Promise<Pipeline> => {
    const registry: HookRegistry = await setupPlugins(plugins);
    return {
      build: compose(registry.build),
      send: compose(registry.send),
      events: new EventBus(registry.observers, options),
    };
  });

  const queueInfo = new Map<string, Promise<QueueInfo>>();
  function describe(queue: string): Promise<QueueInfo> {
    let info = queueInfo.get(queue);
    if (!info) {
      info = driver.describeQueue
        ? driver.describeQueue(queue)
        : Promise.resolve({ fifo: queue.endsWith('.fifo') });
      // A failed lookup is not cached: the next enqueue asks again.
      info.catch(() => queueInfo.delete(queue));
      queueInfo.set(queue, info);
    }
    return info;
  }

  function encode(ctx: BuildContext, info: QueueInfo, payloadJson: string | undefined): OutgoingMessage {
    const { job, payload, options: opts, id, queue, fifo } = ctx;
    const name = job.name;
    if (fifo && !caps.fifo) {
      throw new ConfigurationError(
        `Queue "${queue}" is FIFO but the ${driver.name} driver does not support FIFO queues`,
      );
    }
    let groupId = opts.group ?? (typeof job.group === 'function' ? job.group(payload) : job.group);
    if (fifo && (typeof groupId !== 'string' || groupId === '')) {
      throw new ConfigurationError(
        `Job "${name}" goes to FIFO queue "${queue}" but has no message group: set group in defineJob ` +
          '(a string or a function of the payload) or pass { group } to enqueue',
      );
    }
    if (groupId === '') groupId = undefined;
    const dedupeId = opts.dedupeId ?? (fifo ? (job.dedupe ? job.dedupe(payload) : id) : undefined);

    const delaySeconds = delayOf(name, opts, clock());
    if (delaySeconds > caps.maxDelaySeconds)
      throw new DelayTooLongError(name, delaySeconds, caps.maxDelaySeconds);
    if (fifo && delaySeconds > 0 && !caps.fifoDelay) {
      throw new DelayTooLongError(
        name,
        delaySeconds,
        0,
        `Job "${name}" asks for a delay on FIFO queue "${queue}", which does not support per-message delays: ` +
          'set a queue-level DelaySeconds or wrap the driver with @glasswork/scheduler',
      );
    }

    const nowMs = clock();
    const now = new Date(nowMs).toISOString();
    const notBefore = delaySeconds > 0 ? dueAt(opts, nowMs) : undefined;
    const firstEnqueuedAt =
      opts.firstEnqueuedAt === undefined ? now : timeOf(name, 'firstEnqueuedAt', opts.firstEnqueuedAt);
    const body = encodeEnvelope({
      id,
      name,
      payloadJson,
      enqueuedAt: now,
      firstEnqueuedAt,
      priorAttempts: opts.priorAttempts ?? 0,
      meta: ctx.meta,
      notBefore: notBefore === undefined ? undefined : new Date(notBefore).toISOString(),
    });
    const attributes = { [JOB_NAME_ATTRIBUTE]: name };
    const bytes = messageBytes(body, attributes);
    const limit = options.maxMessageBytes ?? info.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    if (bytes > limit) throw new PayloadTooLargeError(name, bytes, limit);
    return { id, jobName: name, queue, body, attributes, bytes, delaySeconds, notBefore, groupId, dedupeId };
  }

  /** Where an entry goes; throws a `ConfigurationError` naming what to set. */
  function route(entry: EnqueueEntry): { queue: string; opts: EnqueueOptions } {
    if (!isJob(entry.job)) throw new ConfigurationError('enqueue needs a job defined with defineJob');
    const opts = entry.options ?? {};
    const queue = opts.queue ?? entry.job.queue ?? options.defaultQueue;
    if (!queue) {
      throw new ConfigurationError(
        `Job "${entry.job.name}" has no queue: set queue in defineJob, pass { queue } to enqueue, or set defaultQueue in createClient`,
      );
    }
    return { queue, opts };
  }

  /** Builds one message through the `build` stage. */
  async function build(p: Pipeline, entry: EnqueueEntry, id: string): Promise<OutgoingMessage> {
    const { queue, opts } = route(entry);
    const { job } = entry;
    if (typeof id !== 'string' || !JOB_ID.test(id)) {
      throw new ConfigurationError(
        `Invalid job id ${JSON.stringify(id)}: use 1-128 printable ASCII characters without spaces`,
      );
    }
    if (
      opts.priorAttempts !== undefined &&
      (!Number.isInteger(opts.priorAttempts) || opts.priorAttempts < 0)
    ) {
      throw new ConfigurationError(`priorAttempts must be a whole number >= 0, got ${opts.priorAttempts}`);
    }
    const info = await describe(queue);
    const ctx: BuildContext = {
      job,
      payload: entry.payload,
      id,
      queue,
      fifo: info.fifo,
      options: opts,
      meta: opts.meta ? { ...opts.meta } : {},
      state: {},
    };
    const inner = async () => {
      // Validate what the worker will see: the payload after a JSON round trip.
      const payloadJson = toJson(job.name, entry.payload);
      if (job.schema) {
        const value = payloadJson === undefined ? undefined : JSON.parse(payloadJson);
        const result = await validate(job.schema, value);
        if (result.issues) throw new InvalidJobPayloadError(job.name, result.issues);
      }
      return encode(ctx, info, payloadJson);
    };
    return p.build ? p.build(ctx, inner) : inner();
  }

  async function sendChunk(p: Pipeline, queue: string, messages: OutgoingMessage[]): Promise<SendResult[]> {
    const inner = () => driver.send(queue, messages);
    try {
      const results = p.send ? await p.send({ queue, messages, state: {} }, inner) : await inner();
      if (!Array.isArray(results) || results.length !== messages.length) {
        throw new GlassworkError(
          `The ${driver.name} driver returned ${Array.isArray(results) ? results.length : 'no'} results for ${messages.length} messages`,
        );
      }
      return results;
    } catch (error) {
      const failure = error instanceof Error ? error : new GlassworkError(String(error));
      return messages.map(() => ({ ok: false as const, error: failure }));
    }
  }

  async function enqueueMany(entries: readonly EnqueueEntry[]): Promise<EnqueueManyResult[]> {
    const p = await pipeline();
    const results: EnqueueManyResult[] = new Array(entries.length);
    // Build every entry first: nothing is sent for an entry that fails validation.
    const byQueue = new Map<string, { index: number; message: OutgoingMessage }[]>();
    // Per queue: FIFO group -> the position of its first entry that failed.
    const failedGroups = new Map<string, Map<string, number>>();
    for (let index = 0; index < entries.length; index++) {
      const entry = entries[index] as EnqueueEntry;
      const id = entry.options?.id ?? crypto.randomUUID();
      try {
        const message = await build(p, entry, id);
        let list = byQueue.get(message.queue);
        if (!list) {
          list = [];
          byQueue.set(message.queue, list);
        }
        list.push({ index, message });
      } catch (error) {
        results[index] = failure(entry, id, error);
        markGroupFailed(failedGroups, entry, index, () => route(entry).queue);
      }
    }

    await Promise.all(
      [...byQueue].map(async ([queue, items]) => {
        const fifo = (await describe(queue)).fifo;
        const chunks = chunk(items, caps.maxBatchSize, caps.maxBatchBytes);
        const failed = failedGroups.get(queue) ?? new Map<string, number>();
        const sendOne = async (batch: typeof items) => {
          // FIFO: never send a message after an earlier one of its group failed.
          const ready = fifo ? batch.filter((item) => !skipIfGroupFailed(item, failed, results)) : batch;
          if (ready.length === 0) return;
          const sent = await sendChunk(
            p,
            queue,
            ready.map((i) => i.message),
          );
          for (let i = 0; i < ready.length; i++) {
            const { index, message } = ready[i] as (typeof items)[number];
            const result = sent[i] as SendResult;
            if (result.ok) {
              results[index] = {
                ok: true,
                id: message.id,
                job: message.jobName,
                queue,
                messageId: result.messageId,
                ...(result.scheduled ? { scheduled: result.scheduled } : {}),
              };
            } else {
              results[index] = {
                ok: false,
                id: message.id,
                job: message.jobName,
                error: new EnqueueError(message.jobName, message.id, result.error.message, {
                  cause: result.error,
                }),
              };
              if (fifo && message.groupId) failFrom(failed, message.groupId, index);
            }
          }
        };
        if (fifo) {
          for (const batch of chunks) await sendOne(batch);
        } else {
          await runLimited(chunks, sendConcurrency, sendOne);
        }
      }),
    );

    if (p.events.has('enqueued')) {
      const pending: Promise<void>[] = [];
      for (const list of byQueue.values()) {
        for (const { index, message } of list) {
          const result = results[index];
          if (result?.ok) pending.push(p.events.emit('enqueued', { message, messageId: result.messageId }));
        }
      }
      await Promise.all(pending);
    }
    return results;
  }

  async function enqueue(job: AnyJob, payload: unknown, opts?: EnqueueOptions): Promise<EnqueueResult> {
    const [result] = await enqueueMany([{ job, payload, options: opts } as EnqueueEntry]);
    if (!result?.ok) throw result?.error ?? new GlassworkError('enqueue produced no result');
    const { ok: _ok, ...accepted } = result;
    return accepted;
  }

  return {
    driver,
    enqueue: (job, ...args) => enqueue(job, args[0], args[1]),
    enqueueIn: (job, delay, ...args) => enqueue(job, args[0], { ...args[1], delay, at: undefined }),
    enqueueAt: (job, at, ...args) => enqueue(job, args[0], { ...args[1], at, delay: undefined }),
    enqueueMany: enqueueMany as Client['enqueueMany'],
    ready: async () => void (await pipeline()),
    flush: async () => (await pipeline()).events.emit('flush', {}),
  };
}

function toJson(name: string, payload: unknown): string | undefined {
  if (payload === undefined) return undefined;
  let json: string | undefined;
  try {
    json = JSON.stringify(payload);
  } catch (error) {
    throw new InvalidJobPayloadError(
      name,
      `the payload cannot be encoded as JSON (${(error as Error).message}): pass plain data, with BigInt as strings and no cycles`,
      { cause: error },
    );
  }
  if (json === undefined) {
    throw new InvalidJobPayloadError(name, `a payload of type ${typeof payload} cannot be encoded as JSON`);
  }
  return json;
}

function delayOf(name: string, opts: EnqueueOptions, now: number): number {
  if (opts.delay !== undefined && opts.at !== undefined) {
    throw new ConfigurationError(`Job "${name}": pass delay or at, not both`);
  }
  if (opts.delay !== undefined) return Math.ceil(parseDuration(opts.delay) / 1000);
  if (opts.at !== undefined) {
    const at = typeof opts.at === 'number' ? opts.at : opts.at.getTime();
    if (!Number.isFinite(at)) throw new ConfigurationError(`Job "${name}": at is not a valid time`);
    return Math.max(0, Math.ceil((at - now) / 1000));
  }
  return 0;
}

/** A Date or ISO string as ISO; a `ConfigurationError` naming the option when it is not a valid time. */
function timeOf(name: string, option: string, value: Date | string): string {
  const time = new Date(value);
  if (Number.isNaN(time.getTime())) {
    throw new ConfigurationError(
      `Job "${name}": ${option} is not a valid time: pass a Date or an ISO string`,
    );
  }
  return time.toISOString();
}

/** When a delayed message is due, epoch ms: `at` exactly, or now plus the delay. */
function dueAt(opts: EnqueueOptions, now: number): number {
  if (opts.at !== undefined) return typeof opts.at === 'number' ? opts.at : opts.at.getTime();
  return now + parseDuration(opts.delay ?? 0);
}

function failure(entry: EnqueueEntry, id: string, error: unknown): EnqueueManyResult {
  return {
    ok: false,
    id,
    job: isJob(entry.job) ? entry.job.name : String((entry.job as { name?: unknown } | undefined)?.name),
    error: error instanceof Error ? error : new GlassworkError(String(error)),
  };
}

/** Records the first failed position of a FIFO group: entries after it are not sent, entries before it are. */
function failFrom(failed: Map<string, number>, group: string, index: number): void {
  const first = failed.get(group);
  if (first === undefined || index < first) failed.set(group, index);
}

/** After an entry fails to build, later entries of its FIFO group must not be sent either. */
function markGroupFailed(
  failed: Map<string, Map<string, number>>,
  entry: EnqueueEntry,
  index: number,
  queueOf: () => string,
): void {
  const job = entry.job;
  let queue: string;
  let group: unknown = entry.options?.group;
  try {
    queue = queueOf();
    if (group === undefined) group = typeof job.group === 'function' ? job.group(entry.payload) : job.group;
  } catch {
    return;
  }
  if (typeof group !== 'string') return;
  let groups = failed.get(queue);
  if (!groups) {
    groups = new Map();
    failed.set(queue, groups);
  }
  failFrom(groups, group, index);
}

function skipIfGroupFailed(
  item: { index: number; message: OutgoingMessage },
  failed: Map<string, number>,
  results: EnqueueManyResult[],
): boolean {
  const group = item.message.groupId;
  const first = group === undefined ? undefined : failed.get(group);
  if (first === undefined || item.index < first) return false;
  results[item.index] = {
    ok: false,
    id: item.message.id,
    job: item.message.jobName,
    error: new EnqueueError(
      item.message.jobName,
      item.message.id,
      `not sent because an earlier message of FIFO group "${group}" failed; enqueue it again after that one`,
    ),
  };
  return true;
}

/** Splits in order into chunks of at most `size` items and `maxBytes` bytes. */
function chunk<T extends { message: OutgoingMessage }>(
  items: readonly T[],
  size: number,
  maxBytes: number,
): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    if (current.length > 0 && (current.length >= size || bytes + item.message.bytes > maxBytes)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += item.message.bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

async function runLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}
