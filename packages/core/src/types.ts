import type { Duration } from './duration.ts';
import type { SerializedError } from './errors.ts';

// ---------------------------------------------------------------------------------------------------------
// Standard Schema (https://standardschema.dev): the interface valibot, zod, arktype and others implement.
// Declared here so the core needs no dependency for it.
// ---------------------------------------------------------------------------------------------------------

/** A path segment of a Standard Schema issue. */
export interface StandardPathSegment {
  readonly key: PropertyKey;
}

/** An issue reported by a Standard Schema validator. */
export interface StandardIssue {
  readonly message: string;
  readonly path?: readonly (PropertyKey | StandardPathSegment)[] | undefined;
}

/** What a Standard Schema's `validate` returns. */
export type StandardResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: readonly StandardIssue[] };

/** Any schema that implements Standard Schema v1 (valibot, zod, arktype, or a hand-written object). */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => StandardResult<Output> | Promise<StandardResult<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

/** The input type of a Standard Schema. */
export type InferInput<S extends StandardSchemaV1> = NonNullable<S['~standard']['types']>['input'];
/** The output type of a Standard Schema. */
export type InferOutput<S extends StandardSchemaV1> = NonNullable<S['~standard']['types']>['output'];

// ---------------------------------------------------------------------------------------------------------
// Jobs
// ---------------------------------------------------------------------------------------------------------

/** Options of `defineJob`: the contract both producer and worker import. */
export interface JobOptions<TInput> {
  /** Unique job name; travels in the envelope and as a message attribute. */
  name: string;
  /** Queue the job goes to, unless `enqueue` names another. Falls back to the client's `defaultQueue`. */
  queue?: string;
  /** FIFO message group: a constant or derived from the payload. Required for jobs on FIFO queues. */
  group?: string | ((payload: TInput) => string);
  /** FIFO deduplication id derived from the payload. @default the job id */
  dedupe?: (payload: TInput) => string;
}

/** A job contract: name, schema and routing. Holds no handler, so producers import it freely. */
export interface Job<TInput = unknown, TOutput = TInput> {
  readonly kind: 'glasswork.job';
  readonly name: string;
  readonly schema: StandardSchemaV1<TInput, TOutput> | undefined;
  readonly queue: string | undefined;
  readonly group: string | ((payload: TInput) => string) | undefined;
  readonly dedupe: ((payload: TInput) => string) | undefined;
  /** Type-only: carries the payload types. Never set at runtime. */
  readonly '~types'?: { readonly input: TInput; readonly output: TOutput };
}

export type AnyJob = Job<any, any>;
/** The payload a producer passes (the schema's input). */
export type JobInput<J extends AnyJob> = NonNullable<J['~types']>['input'];
/** The payload a handler receives (the schema's output). */
export type JobOutput<J extends AnyJob> = NonNullable<J['~types']>['output'];

// ---------------------------------------------------------------------------------------------------------
// The envelope
// ---------------------------------------------------------------------------------------------------------

/** The JSON body of every message (version 1). */
export interface Envelope {
  readonly v: 1;
  readonly id: string;
  readonly name: string;
  readonly payload: unknown;
  /** ISO time of this enqueue. */
  readonly enqueuedAt: string;
  /** ISO time of the first enqueue of this job (differs after a replay or a scheduler hop). */
  readonly firstEnqueuedAt: string;
  /** Attempts made before this message was enqueued (a replay or long backoff keeps its count). */
  readonly priorAttempts: number;
  /** String key/values written by plugins (trace context, correlation ids). */
  readonly meta: Readonly<Record<string, string>>;
  /** ISO time the message was due, when it was enqueued with a delay (queue lag counts from here). */
  readonly notBefore?: string | undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Producer side: the client and the driver
// ---------------------------------------------------------------------------------------------------------

interface EnqueueOptionsBase {
  /** Job id. @default a random UUID */
  id?: string;
  /** Queue to use instead of the job's. */
  queue?: string;
  /** FIFO message group, instead of the job's `group`. */
  group?: string;
  /** FIFO deduplication id, instead of the job's `dedupe` or the job id. */
  dedupeId?: string;
  /** Extra string key/values for the envelope's `meta`. */
  meta?: Readonly<Record<string, string>>;
  /** Attempts already made (for replays): counted against `maxAttempts`. @default 0 */
  priorAttempts?: number;
  /** When the job was first enqueued (for replays). @default now */
  firstEnqueuedAt?: Date | string;
}

/** Options of one enqueue: `delay` or `at`, not both. */
export type EnqueueOptions = EnqueueOptionsBase &
  (
    | { /** Hold the message back for this long. */ delay?: Duration; at?: undefined }
    | { /** Deliver at (or after) this time. */ at?: Date | number; delay?: undefined }
  );

/** The arguments after the job: the payload may be left out when the job takes none. */
export type EnqueueArgs<J extends AnyJob> =
  undefined extends JobInput<J>
    ? [payload?: JobInput<J>, options?: EnqueueOptions]
    : [payload: JobInput<J>, options?: EnqueueOptions];

/** A job held by a scheduler rather than the queue, because its delay is longer than the queue allows. */
export interface ScheduledEnqueue {
  /** ISO time it is due on the queue. */
  readonly at: string;
  /** The scheduler's id for it (an EventBridge schedule ARN); cancel it through the driver that made it. */
  readonly id: string;
}

/** A job that was accepted by the driver. */
export interface EnqueueResult {
  readonly id: string;
  readonly job: string;
  readonly queue: string;
  /** The driver's id for the message (SQS `MessageId`), when it gives one. */
  readonly messageId: string | undefined;
  /** Set when a scheduler holds the job until it is due (`@glasswork/scheduler`). */
  readonly scheduled?: ScheduledEnqueue | undefined;
}

/** One entry of `enqueueMany`. */
export interface EnqueueEntry<J extends AnyJob = AnyJob> {
  job: J;
  payload: JobInput<J>;
  options?: EnqueueOptions;
}

/** The entries of `enqueueMany`, each payload checked against its own job's input type. */
export type EnqueueEntries<E extends readonly unknown[]> = {
  [K in keyof E]: E[K] extends { job: infer J extends AnyJob } ? EnqueueEntry<J> : E[K];
};

/** Per-entry result of `enqueueMany`, in the order of the entries. */
export type EnqueueManyResult =
  | ({ readonly ok: true } & EnqueueResult)
  | { readonly ok: false; readonly id: string; readonly job: string; readonly error: Error };

/** An encoded message, ready for the driver. */
export interface OutgoingMessage {
  readonly id: string;
  readonly jobName: string;
  readonly queue: string;
  /** The envelope as JSON. */
  readonly body: string;
  /** String message attributes (the job name among them). */
  readonly attributes: Readonly<Record<string, string>>;
  /** UTF-8 bytes of the body plus the attributes, as SQS counts them. */
  readonly bytes: number;
  /** Whole seconds to hold the message back; 0 for none. */
  readonly delaySeconds: number;
  /** When a delayed message is due, epoch ms (exact, where `delaySeconds` is rounded up). */
  readonly notBefore?: number | undefined;
  readonly groupId?: string | undefined;
  readonly dedupeId?: string | undefined;
}

/** What the driver says about one message of a `send` call. */
export type SendResult =
  | {
      readonly ok: true;
      readonly messageId?: string | undefined;
      readonly scheduled?: ScheduledEnqueue | undefined;
    }
  | { readonly ok: false; readonly error: Error };

/** What a driver supports; the client checks every message against it before sending. */
export interface DriverCapabilities {
  /** Most messages in one `send` call. */
  readonly maxBatchSize: number;
  /** Most bytes (as `OutgoingMessage.bytes` counts them) in one `send` call. */
  readonly maxBatchBytes: number;
  /** Longest per-message delay the driver holds, in seconds. */
  readonly maxDelaySeconds: number;
  /** Whether FIFO queues (groups, deduplication) are supported. */
  readonly fifo: boolean;
  /** Whether a per-message delay is allowed on FIFO queues (SQS: no). */
  readonly fifoDelay: boolean;
}

/** What a driver knows of one queue. */
export interface QueueInfo {
  readonly fifo: boolean;
  /** Largest message the queue accepts, in bytes. */
  readonly maxMessageBytes?: number | undefined;
  /** The redrive policy's `maxReceiveCount`, when there is one. */
  readonly maxReceiveCount?: number | undefined;
}

/** Options of one `receive` call. */
export interface ReceiveOptions {
  readonly maxMessages: number;
  /** Long-poll wait. */
  readonly waitTimeMs?: number;
  /** Visibility timeout for these messages, instead of the queue's. */
  readonly visibilityTimeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** A delivery a driver received, with the handle it needs to act on it. */
export interface ReceivedMessage extends Delivery {
  readonly receipt: string;
}

/** What goes with a dead-lettered message: the reason, the error and where it came from. */
export interface DeadLetterInfo {
  readonly reason: string;
  readonly error: SerializedError | undefined;
  readonly attempts: number;
  /** The source queue as the driver knows it: a name, or (SQS) its URL. */
  readonly sourceQueue: string;
  readonly messageId: string;
  readonly jobId: string | undefined;
  readonly jobName: string | undefined;
  /** ISO time. */
  readonly deadAt: string;
}

/**
 * A queue driver: a plain object. `send` is all a producer needs; the consumer methods let the generic
 * consumer tools (the mock drain, the conformance suite, pollers) run jobs from the driver's queues.
 */
export interface QueueDriver {
  /** Shown in errors and logs, e.g. `'sqs'`. */
  readonly name: string;
  readonly capabilities: DriverCapabilities;
  /** Queue facts the client and consumers use; without it, FIFO means a name ending in `.fifo`. */
  describeQueue?(queue: string): Promise<QueueInfo>;
  /**
   * Sends one batch (within `capabilities`) to one queue; one result per message, in order. On FIFO
   * queues, once a message of a group fails, later messages of that group in the call must not be sent.
   */
  send(queue: string, messages: readonly OutgoingMessage[]): Promise<SendResult[]>;
  /** Receives up to `maxMessages` visible messages. */
  receive?(queue: string, options: ReceiveOptions): Promise<ReceivedMessage[]>;
  /** Deletes messages that are done. */
  ack?(queue: string, messages: readonly ReceivedMessage[]): Promise<void>;
  /** Makes a message visible again after `delaySeconds` (0: at once). */
  release?(queue: string, message: ReceivedMessage, delaySeconds: number): Promise<void>;
  /**
   * Moves a message to the queue's dead-letter queue with `info`, then deletes the original. Rejects
   * when the copy was not made; when the copy was made but the delete failed, rejects with an error whose
   * `sent` is `true` (the outcome then stands as `dead`).
   */
  deadLetter?(queue: string, message: ReceivedMessage, info: DeadLetterInfo): Promise<void>;
  /** Releases connections and timers. */
  close?(): Promise<void>;
  /** The driver's clock, when it is not the wall clock (the mock's virtual clock). @default Date.now */
  now?(): number;
}

// ---------------------------------------------------------------------------------------------------------
// Consumer side: deliveries, outcomes, contexts
// ---------------------------------------------------------------------------------------------------------

/** One receive of one message, as an adapter hands it to `worker.run`. */
export interface Delivery {
  /** The queue's id for the message (SQS `MessageId`). */
  readonly messageId: string;
  readonly body: string;
  /** How many times the queue has handed this message out, this time included (SQS `ApproximateReceiveCount`). */
  readonly receiveCount: number;
  /** Queue name (or URL) for logs, metrics and dead-letter info. */
  readonly queue: string;
  /** String message attributes. */
  readonly attributes?: Readonly<Record<string, string>> | undefined;
  /** FIFO message group of this message. */
  readonly groupId?: string | undefined;
  /** When the queue first received the message (SQS `SentTimestamp`), epoch ms. */
  readonly sentAt?: number | undefined;
  /** When this receive happened, epoch ms. Used as "now" for time budgets. @default Date.now() */
  readonly receivedAt?: number | undefined;
  /** The queue's redrive `maxReceiveCount`; on that receive, failures are dead-lettered by the worker. */
  readonly maxReceiveCount?: number | undefined;
  /** When the handler must be done (Lambda's deadline, the end of the visibility timeout), epoch ms. */
  readonly deadline?: number | undefined;
  /** Aborts the handler from outside (shutdown, an invocation deadline). */
  readonly signal?: AbortSignal | undefined;
  /** The adapter's clock (the mock's virtual clock), epoch ms. @default Date.now */
  readonly now?: (() => number) | undefined;
}

/** What should happen to a delivery. Adapters apply it to the queue. */
export type Outcome =
  /** Done: delete it. `duplicate` when an idempotency record answered instead of the handler. */
  | { readonly type: 'ack'; readonly result?: unknown; readonly duplicate?: boolean }
  /**
   * Failed with attempts left: make it visible again after `delayMs` (never 0). `handedOff`: a new message
   * already carries the retry (a scheduler holds it past SQS's 12 hours), so delete this one.
   */
  | {
      readonly type: 'retry';
      readonly delayMs: number;
      readonly error: unknown;
      readonly handedOff?: boolean;
      /** Set when the job failed for good but `retry.blockGroup` holds its FIFO group: why it would be dead. */
      readonly blocksGroup?: string;
    }
  /** Not its turn (a lock, a deadline, a FIFO predecessor): visible again after `delayMs`, not a failure. */
  | { readonly type: 'defer'; readonly delayMs: number; readonly reason: string }
  /** Send to the dead-letter queue with the reason, then delete. */
  | { readonly type: 'dead'; readonly reason: string; readonly error: unknown }
  /** Give up without a dead-letter copy (the job said `dead: false`): delete. */
  | { readonly type: 'discard'; readonly reason: string; readonly error: unknown };

export type OutcomeType = Outcome['type'];

/** Why a delivery could not be decoded. */
export interface DeliveryProblem {
  /** `malformed` is dead-lettered at once; `incompatible` is retried within a time budget. */
  readonly kind: 'malformed' | 'incompatible';
  readonly reason: string;
}

/** What the `deliver` stage and the events see of a delivery. */
export interface DeliveryContext {
  readonly delivery: Delivery;
  readonly queue: string;
  readonly messageId: string;
  /** Undefined when the body is not a Glasswork envelope. */
  readonly envelope: Envelope | undefined;
  readonly jobId: string | undefined;
  readonly jobName: string | undefined;
  /** Undefined for an unknown job or a malformed message. */
  readonly job: AnyJob | undefined;
  /** `receiveCount + priorAttempts`. */
  readonly attempt: number;
  readonly maxAttempts: number | undefined;
  readonly meta: Readonly<Record<string, string>>;
  /** Per-delivery plugin state: use your plugin's name as the key. */
  readonly state: Record<string, unknown>;
  /** Set when the body could not be decoded into a job this worker knows. */
  readonly problem: DeliveryProblem | undefined;
  /** The adapter's clock, epoch ms: use it for locks and rate limits so tests on a virtual clock work. */
  readonly now: () => number;
}

/** The context a handler receives (plus what the worker's plugins add). */
export interface JobContext {
  readonly jobId: string;
  readonly jobName: string;
  /** 1 on the first attempt. */
  readonly attempt: number;
  readonly maxAttempts: number;
  /** The job's timeout in ms, when it has one. */
  readonly timeout: number | undefined;
  readonly enqueuedAt: Date;
  readonly firstEnqueuedAt: Date;
  /** Epoch ms by which the work must be done, when the adapter knows one. */
  readonly deadline: number | undefined;
  /** Fires on the job's timeout, an adapter's deadline or shutdown. */
  readonly signal: AbortSignal;
  readonly meta: Readonly<Record<string, string>>;
  readonly state: Record<string, unknown>;
  readonly queue: string;
  readonly messageId: string;
  /** The adapter's clock, epoch ms (virtual under the mock driver). */
  readonly now: () => number;
}

/** What the `execute` stage sees: the handler's context plus the payload and the delivery. */
export interface ExecuteContext extends JobContext {
  readonly job: AnyJob;
  /** The validated payload (the schema's output). */
  readonly payload: unknown;
  readonly delivery: DeliveryContext;
}

/** What the `execute` stage returns: the handler's value, or a short-circuit by a plugin. */
export type ExecuteResult =
  | { readonly type: 'completed'; readonly value: unknown }
  /** An idempotency record answered: acknowledge without running. */
  | { readonly type: 'duplicate'; readonly value?: unknown }
  /** Not this delivery's turn: make it visible again later, without counting a failure. */
  | { readonly type: 'defer'; readonly delayMs: number; readonly reason: string };

// ---------------------------------------------------------------------------------------------------------
// Hooks and plugins
// ---------------------------------------------------------------------------------------------------------

/** What the `build` stage sees: one message being built. Write `meta` before calling `next`. */
export interface BuildContext {
  readonly job: AnyJob;
  /** The payload as passed to `enqueue`. */
  readonly payload: unknown;
  readonly id: string;
  readonly queue: string;
  readonly fifo: boolean;
  readonly options: Readonly<EnqueueOptions>;
  /** Goes into the envelope's `meta`. */
  readonly meta: Record<string, string>;
  readonly state: Record<string, unknown>;
}

/** What the `send` stage sees: one driver call. */
export interface SendContext {
  readonly queue: string;
  readonly messages: readonly OutgoingMessage[];
  readonly state: Record<string, unknown>;
}

export type BuildHook = (ctx: BuildContext, next: () => Promise<OutgoingMessage>) => Promise<OutgoingMessage>;
export type SendHook = (ctx: SendContext, next: () => Promise<SendResult[]>) => Promise<SendResult[]>;
export type DeliverHook = (ctx: DeliveryContext, next: () => Promise<Outcome>) => Promise<Outcome>;
export type ExecuteHook = (ctx: ExecuteContext, next: () => Promise<ExecuteResult>) => Promise<ExecuteResult>;

/** Fields of every terminal event. */
export interface TerminalEvent<T extends OutcomeType> {
  readonly ctx: DeliveryContext;
  readonly outcome: Extract<Outcome, { type: T }>;
  /** From the start of `worker.run` to the outcome. */
  readonly durationMs: number;
}

/** Events and their payloads. Observers are awaited (with a timeout) and can never change an outcome. */
export interface GlassworkEvents {
  /** Producer: a message was accepted by the driver. */
  enqueued: { readonly message: OutgoingMessage; readonly messageId: string | undefined };
  /** The handler is about to run (not fired for poison messages, duplicates or deferrals). */
  start: { readonly ctx: DeliveryContext };
  success: TerminalEvent<'ack'> & { readonly result: unknown };
  duplicate: TerminalEvent<'ack'> & { readonly result: unknown };
  retry: TerminalEvent<'retry'>;
  defer: TerminalEvent<'defer'>;
  dead: TerminalEvent<'dead'>;
  discard: TerminalEvent<'discard'>;
  /** An adapter failed to receive or to apply an outcome. */
  receiveError: { readonly error: unknown; readonly queue?: string | undefined };
  /** An adapter is shutting down. */
  stopping: { readonly reason?: string | undefined };
  stopped: Record<string, never>;
  /** Awaited by adapters before they return (Lambda), so exporters can send what they hold. */
  flush: Record<string, never>;
  /** An observer or a wrap hook threw; the outcome stood. */
  observerError: { readonly error: unknown; readonly plugin: string; readonly event: string };
}

export type GlassworkEventName = keyof GlassworkEvents;
export type Observer<E extends GlassworkEventName> = (event: GlassworkEvents[E]) => void | Promise<void>;

/** What a plugin's `setup` registers on. Producer stages are ignored by workers, consumer stages by clients. */
export interface PluginHooks {
  /** Producer, per message: wraps validation, encoding and the size check. */
  build(hook: BuildHook): void;
  /** Producer, per driver call: wraps sending one message or one batch. */
  send(hook: SendHook): void;
  /** Consumer, per delivery: wraps job lookup, validation, running and the outcome. */
  deliver(hook: DeliverHook): void;
  /** Consumer, per delivery: wraps the handler alone, with the validated payload. */
  execute(hook: ExecuteHook): void;
  /** Observes an event. */
  on<E extends GlassworkEventName>(event: E, observer: Observer<E>): void;
}

/** A plugin; create one with `definePlugin`. `TContext` is what it adds to handler contexts. */
export interface Plugin<TContext extends object = {}> {
  /** Unique within a client or worker. */
  readonly name: string;
  /** `pre` plugins register before the others, `post` after; otherwise the order of the `plugins` list. */
  readonly enforce?: 'pre' | 'post' | undefined;
  /** Registers hooks; may be async (awaited before the first message; retried if it fails). */
  readonly setup?: ((hooks: PluginHooks) => void | Promise<void>) | undefined;
  /** Adds fields to the handler's context, per delivery, just before the `execute` stage. */
  readonly context?: ((ctx: ExecuteContext) => TContext) | undefined;
}

export type AnyPlugin = Plugin<any>;

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void
  ? I
  : never;

// Distributes over the union, so `{ log } | {}` is not collapsed into the common supertype `{}`.
type ContextOf<T> = T extends Plugin<infer C> ? C : never;

/** What a list of plugins adds to the handler context. */
export type PluginContext<P extends readonly AnyPlugin[]> = [P[number]] extends [never]
  ? {}
  : UnionToIntersection<ContextOf<P[number]>>;

// ---------------------------------------------------------------------------------------------------------
// Worker options
// ---------------------------------------------------------------------------------------------------------

/** How the delay before the next attempt is chosen. `attempt` is the attempt that just failed (1-based). */
export type Backoff =
  | Duration
  | readonly Duration[]
  | {
      readonly type: 'exponential';
      /** Delay cap of the first retry; doubles each attempt. @default '1s' */
      readonly base?: Duration;
      /** Longest delay. @default '15m' */
      readonly max?: Duration;
      /** Shortest delay, also after jitter. @default '1s' */
      readonly min?: Duration;
      /** `full`: a random delay up to the exponential value. @default 'full' */
      readonly jitter?: 'full' | 'none';
    }
  | { readonly type: 'fixed'; readonly delay: Duration }
  | ((attempt: number, error: unknown) => Duration);

/** Retry policy: a number of attempts, `false` for one attempt, or the full form. */
export type RetryOption =
  | number
  | false
  | {
      /** Attempts in all, the first included. @default 5 */
      readonly maxAttempts?: number;
      /** @default exponential with full jitter, 1s base, 15m cap */
      readonly backoff?: Backoff;
      /** `false`: delete a job that failed for good instead of dead-lettering it. @default true */
      readonly dead?: boolean;
      /**
       * FIFO queues only: a message that failed for good (a `PermanentJobError`, or out of attempts) is not
       * dead-lettered but retried after the backoff, so the rest of its group keeps waiting behind it in
       * order, until the last receive the queue's redrive policy allows (then it is dead-lettered with its
       * reason, and the group moves on). The messages behind it use up their receives in step with it, so
       * give the queue a `maxReceiveCount` well above the hold you want. Without a redrive policy the option
       * does not hold (nothing but the retention period would end the hold). `retry: false` never holds.
       * @default false
       */
      readonly blockGroup?: boolean;
    };

/** Options of `worker.handle`. */
export interface HandleOptions {
  /** @default the worker's `retry` */
  retry?: RetryOption;
  /** Abort the handler and count a transient failure after this long. @default the worker's `timeout` */
  timeout?: Duration;
}
