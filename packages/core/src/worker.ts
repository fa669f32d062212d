import { raceAbort, raceSignal } from './abort.ts';
import { HandlerContext } from './context.ts';
import type { Duration } from './duration.ts';
import { parseDuration, parseTimeout } from './duration.ts';
import { decodeEnvelope } from './envelope.ts';
import {
  ConfigurationError,
  InvalidJobPayloadError,
  JobTimeoutError,
  MalformedMessageError,
} from './errors.ts';
import type { EventBusOptions } from './hooks.ts';
import { compose, EventBus, orderPlugins, setupPlugins } from './hooks.ts';
import { isJob } from './job.ts';
import { lazy } from './lazy.ts';
import {
  arrivedTooLateOutcome,
  deferOutcome,
  failureOutcome,
  incompatibleOutcome,
  isLastReceive,
  messageOf,
} from './outcomes.ts';
import type { RetryPolicy } from './retry.ts';
import { DEFAULT_RETRY, MIN_RETRY_DELAY_MS, resolveRetry } from './retry.ts';
import { validate } from './schema.ts';
import type {
  AnyJob,
  AnyPlugin,
  Delivery,
  DeliveryContext,
  ExecuteContext,
  ExecuteResult,
  GlassworkEvents,
  HandleOptions,
  JobContext,
  JobOutput,
  Outcome,
  PluginContext,
  RetryOption,
} from './types.ts';

export interface WorkerOptions<P extends readonly AnyPlugin[]> extends EventBusOptions {
  /** Consumer plugins; each one's `context` adds to the handler's context type. */
  plugins?: P;
  /** Default retry policy of every job. @default 5 attempts, exponential backoff with full jitter */
  retry?: RetryOption;
  /** Default handler timeout. @default none */
  timeout?: Duration;
  /**
   * How long a message this worker cannot run yet (unknown job or envelope version, payload failing the
   * schema) is retried, counted from its enqueue, before it is dead-lettered. Covers a rolling deploy.
   * @default '1h'
   */
  incompatibleFor?: Duration;
}

/** A handler: gets the schema's output and the job context. */
export type Handler<TPayload, TContext> = (payload: TPayload, ctx: TContext) => unknown;

/** Options of one `worker.run`. */
export interface RunOptions {
  /**
   * Do not start the handler unless more than the job's timeout plus this many ms are left before
   * `delivery.deadline`; defer it instead.
   */
  startMargin?: number;
  /** Defer without running (a FIFO follower of a failed message); dead-lettered on the last receive. */
  defer?: { readonly delayMs: number; readonly reason: string };
}

/** What `worker.run` decided, and how to report what the adapter did with it. */
export interface RunResult {
  readonly outcome: Outcome;
  readonly ctx: DeliveryContext;
  /**
   * Call after applying the outcome to the queue; fires the terminal event. Pass the outcome actually
   * applied when it differs (a dead-letter send that failed and was retried instead).
   */
  settle(applied?: Outcome): Promise<void>;
  /** Settles when the handler's promise does (later than the outcome if it ignored a timeout). */
  readonly finished: Promise<void>;
}

/** Runs handlers for deliveries and decides each one's outcome; adapters apply it. */
export interface Worker<TContext = {}> {
  /** Attaches the handler of a job. */
  handle<J extends AnyJob>(
    job: J,
    handler: Handler<JobOutput<J>, JobContext & TContext>,
    options?: HandleOptions,
  ): this;
  /** Runs one delivery through the hooks and the handler and decides its outcome. Never throws. */
  run(delivery: Delivery, options?: RunOptions): Promise<RunResult>;
  /** Runs plugin setup now (adapters call it at start; it is retried if it fails). */
  ready(): Promise<void>;
  /** The jobs that have handlers. */
  jobs(): AnyJob[];
  /** The effective timeout of a job in ms, if it has one. */
  timeoutOf(jobName: string): number | undefined;
  /** Lets an adapter report `receiveError`, `stopping` or `stopped` to the plugins. */
  emit<E extends 'receiveError' | 'stopping' | 'stopped'>(
    event: E,
    payload: GlassworkEvents[E],
  ): Promise<void>;
  /** Fires `flush` and waits for its observers (exporters). */
  flush(): Promise<void>;
}

interface Registration {
  readonly job: AnyJob;
  readonly handler: Handler<unknown, JobContext>;
  readonly retry: RetryPolicy;
  readonly timeout: number | undefined;
}

const NEVER_ABORTED = new AbortController().signal;

/** Thrown inside the execute stage for a message that arrived after its last attempt. */
class ArrivedTooLate extends Error {}
const TERMINAL_EVENTS = ['success', 'duplicate', 'retry', 'defer', 'dead', 'discard'] as const;
const SETTLED = Promise.resolve();

/** Creates a worker. Attach handlers with `handle`, then give the worker to an adapter. */
export function createWorker<const P extends readonly AnyPlugin[] = []>(
  options: WorkerOptions<P> = {},
): Worker<PluginContext<P>> {
  const plugins = orderPlugins(options.plugins ?? []);
  const defaultRetry = resolveRetry(options.retry, DEFAULT_RETRY);
  const defaultTimeout = options.timeout === undefined ? undefined : parseTimeout(options.timeout, 'timeout');
  const incompatibleFor = parseDuration(options.incompatibleFor ?? '1h');
  if (options.observerTimeout !== undefined) parseTimeout(options.observerTimeout, 'observerTimeout');
  const registry = new Map<string, Registration>();

  // Once set up, the pipeline is read synchronously: no extra await on every delivery.
  let ready: Pipeline | undefined;
  const pipeline = lazy(async () => {
    const hooks = await setupPlugins(plugins);
    ready = {
      deliver: compose(hooks.deliver),
      execute: compose(hooks.execute),
      contexts: hooks.contexts,
      events: new EventBus(hooks.observers, options),
      timed: TERMINAL_EVENTS.some((e) => hooks.observers.has(e)),
    };
    return ready;
  });
  interface Pipeline {
    readonly deliver: ReturnType<typeof compose<DeliveryContext, Outcome>>;
    readonly execute: ReturnType<typeof compose<ExecuteContext, ExecuteResult>>;
    readonly contexts: { readonly fn: (ctx: ExecuteContext) => object }[];
    readonly events: EventBus;
    /** Whether any terminal event has observers (they get `durationMs`). */
    readonly timed: boolean;
  }

  function createContext(delivery: Delivery): DeliveryContext {
    const decoded = decodeEnvelope(delivery.body);
    const envelope = decoded.ok ? decoded.envelope : undefined;
    const registration = envelope ? registry.get(envelope.name) : undefined;
    let problem = decoded.ok ? undefined : decoded.problem;
    if (envelope && !registration) {
      problem = { kind: 'incompatible', reason: `this worker has no handler for job "${envelope.name}"` };
    }
    return {
      delivery,
      queue: delivery.queue,
      messageId: delivery.messageId,
      envelope,
      jobId: envelope?.id,
      jobName: envelope?.name,
      job: registration?.job,
      attempt: delivery.receiveCount + (envelope?.priorAttempts ?? 0),
      maxAttempts: registration?.retry.maxAttempts,
      meta: envelope?.meta ?? {},
      state: {},
      problem,
      now: delivery.now ?? Date.now,
    };
  }

  const retryOf = (ctx: DeliveryContext): RetryPolicy =>
    (ctx.jobName === undefined ? undefined : registry.get(ctx.jobName))?.retry ?? defaultRetry;

  async function decide(
    p: Pipeline,
    ctx: DeliveryContext,
    run: RunOptions | undefined,
    state: RunState,
  ): Promise<Outcome> {
    const registration = ctx.jobName === undefined ? undefined : registry.get(ctx.jobName);
    const policy = registration?.retry ?? defaultRetry;
    if (run?.defer) return deferOutcome(ctx, run.defer.delayMs, run.defer.reason, policy.dead);
    if (ctx.problem?.kind === 'malformed') {
      return {
        type: 'dead',
        reason: `malformed: ${ctx.problem.reason}`,
        error: new MalformedMessageError(ctx.problem.reason),
      };
    }
    if (ctx.problem || !registration || !ctx.envelope) {
      return incompatibleOutcome(ctx, incompatibleFor, ctx.problem?.reason ?? 'unknown job', undefined);
    }
    let payload: unknown = ctx.envelope.payload;
    const schema = registration.job.schema;
    if (schema) {
      const result = await validate(schema, payload);
      if (result.issues) {
        const error = new InvalidJobPayloadError(registration.job.name, result.issues);
        const reason = `the payload does not match the schema: ${error.message}`;
        return incompatibleOutcome(ctx, incompatibleFor, reason, error, policy.dead);
      }
      payload = result.value;
    }
    const { deadline } = ctx.delivery;
    // On the last receive the queue allows, deferring means dead-lettering a job that never ran, even one
    // already done (a duplicate the execute hooks would answer): run it with the time there is instead.
    if (deadline !== undefined && run?.startMargin !== undefined && !isLastReceive(ctx.delivery)) {
      const left = deadline - ctx.now();
      if (left <= (registration.timeout ?? 0) + run.startMargin) {
        return deferOutcome(ctx, 0, `only ${left}ms left before the deadline`, policy.dead);
      }
    }

    try {
      const result = await execute(p, ctx, registration, payload, state);
      if (result?.type === 'completed') return { type: 'ack', result: result.value };
      if (result?.type === 'duplicate') return { type: 'ack', result: result.value, duplicate: true };
      if (result?.type === 'defer' && isDelay(result.delayMs)) {
        return deferOutcome(ctx, result.delayMs, String(result.reason), policy.dead);
      }
      // An execute hook returned something else (it forgot `return next()`): the handler's own result, if it
      // completed, stands; otherwise this is a failed attempt.
      const error = new ConfigurationError(
        `An execute hook returned ${describe(result)} instead of next()'s result (or a duplicate or defer): return await next()`,
      );
      p.events.report(error, 'execute', 'execute');
      return state.completed
        ? { type: 'ack', result: state.completed.value }
        : failureOutcome(ctx, policy, error);
    } catch (error) {
      if (error instanceof ArrivedTooLate) return arrivedTooLateOutcome(ctx, policy);
      return failureOutcome(ctx, policy, error);
    }
  }

  function execute(
    p: Pipeline,
    ctx: DeliveryContext,
    registration: Registration,
    payload: unknown,
    state: RunState,
  ): Promise<ExecuteResult> {
    const { delivery } = ctx;
    const timeout = registration.timeout;
    const outer = delivery.signal;
    if (outer?.aborted) return Promise.reject(outer.reason);
    // A timeout needs a controller of its own; without one the handler can share the adapter's signal.
    const controller = timeout !== undefined ? new AbortController() : undefined;
    const signal = controller?.signal ?? outer ?? NEVER_ABORTED;
    const ectx = new HandlerContext(
      ctx,
      ctx.envelope!,
      registration.job,
      registration.retry.maxAttempts,
      timeout,
      payload,
      signal,
    );
    for (const extend of p.contexts) Object.assign(ectx, extend.fn(ectx));

    let timer: NodeJS.Timeout | undefined;
    const inner = async (): Promise<ExecuteResult> => {
      // Checked here, inside the execute hooks, so an idempotency record can still answer for a late
      // duplicate; and after validation, so an incompatible message is bounded by time, not attempts.
      // Not on FIFO queues: there a message behind a failing one of its group is received (and released)
      // again and again without running, so its count is no measure of its attempts; the last-receive rule
      // still bounds it.
      if (ctx.attempt > registration.retry.maxAttempts && ctx.delivery.groupId === undefined)
        throw new ArrivedTooLate();
      if (p.events.has('start')) await p.events.emit('start', { ctx });
      // Never start a handler whose outcome was already decided (a timeout or a deadline during the hooks).
      if (signal.aborted) throw signal.reason;
      // The job's timeout counts the handler alone, not observers or execute hooks.
      if (controller) {
        timer = setTimeout(
          () => controller.abort(new JobTimeoutError(registration.job.name, timeout as number)),
          timeout,
        );
      }
      const value = await registration.handler(payload, ectx);
      state.completed = { value };
      return { type: 'completed', value };
    };
    const work = p.execute ? p.execute(ectx, inner) : inner();
    state.finished = work.then(noop, noop);
    if (controller) return raceAbort(work, controller, outer, () => clearTimeout(timer));
    return outer ? raceSignal(work, outer) : work;
  }

  interface RunState {
    finished: Promise<void>;
    /** Set when the handler returned: its value stands whatever a hook does after. */
    completed?: { readonly value: unknown };
  }

  /** The worker's own decision threw (a backoff function, a validator): never lose the message for it. */
  function internalFailure(p: Pipeline | undefined, ctx: DeliveryContext, error: unknown): Outcome {
    if (p) p.events.report(error, 'glasswork', 'run');
    if (isLastReceive(ctx.delivery)) {
      return {
        type: 'dead',
        reason: `the worker failed on the last receive the queue allows: ${messageOf(error)}`,
        error,
      };
    }
    return { type: 'retry', delayMs: MIN_RETRY_DELAY_MS * 5, error };
  }

  async function run(delivery: Delivery, runOptions?: RunOptions): Promise<RunResult> {
    // Durations are for observers; without any, skip the clock reads.
    const started = ready && !ready.timed ? 0 : performance.now();
    const state: RunState = { finished: SETTLED };
    const ctx = createContext(delivery);
    let outcome: Outcome;
    let p: Pipeline | undefined;
    try {
      p = ready ?? (await pipeline());
    } catch (error) {
      // Plugin setup failed: retry soon (the next run tries the setup again), or dead-letter on the last
      // receive rather than let the queue move it without a reason.
      outcome = internalFailure(undefined, ctx, error);
    }
    if (p) {
      const pipe = p;
      let decided: Outcome | undefined;
      const decideSafely = async (): Promise<Outcome> => {
        try {
          decided = await decide(pipe, ctx, runOptions, state);
        } catch (error) {
          decided = internalFailure(pipe, ctx, error);
        }
        return decided;
      };
      if (!pipe.deliver) {
        outcome = await decideSafely();
      } else {
        try {
          const returned = await pipe.deliver(ctx, decideSafely);
          if (isOutcome(returned)) outcome = returned;
          else {
            const error = new ConfigurationError(
              `A deliver hook returned ${describe(returned)} instead of an outcome: return await next()`,
            );
            pipe.events.report(error, 'deliver', 'deliver');
            outcome = decided ?? failureOutcome(ctx, retryOf(ctx), error);
          }
        } catch (error) {
          // A wrap hook threw. If the outcome was already decided (the handler ran), it stands;
          // otherwise this counts as a failed attempt, so nothing is lost.
          pipe.events.report(error, 'deliver', 'deliver');
          outcome = decided ?? failureOutcome(ctx, retryOf(ctx), error);
        }
      }
    }
    const finalCtx = ctx;
    const final = outcome!;
    const durationMs = started === 0 ? 0 : performance.now() - started;
    let settled = false;
    return {
      outcome: final,
      ctx: finalCtx,
      finished: state.finished,
      settle(applied = final) {
        if (settled || !p) return SETTLED;
        settled = true;
        return fireTerminal(p.events, finalCtx, applied, durationMs);
      },
    };
  }

  const worker: Worker<PluginContext<P>> = {
    handle(job, handler, handleOptions = {}) {
      if (!isJob(job)) throw new ConfigurationError('worker.handle needs a job defined with defineJob');
      if (typeof handler !== 'function')
        throw new ConfigurationError(`worker.handle("${job.name}") needs a handler function`);
      if (registry.has(job.name)) {
        throw new ConfigurationError(
          `Job "${job.name}" already has a handler on this worker: attach one handler per job`,
        );
      }
      registry.set(job.name, {
        job,
        handler: handler as Handler<unknown, JobContext>,
        retry: resolveRetry(handleOptions.retry, defaultRetry),
        timeout:
          handleOptions.timeout === undefined
            ? defaultTimeout
            : parseTimeout(handleOptions.timeout, `The timeout of job "${job.name}"`),
      });
      return this;
    },
    run,
    ready: async () => void (await pipeline()),
    jobs: () => [...registry.values()].map((r) => r.job),
    timeoutOf: (name) => registry.get(name)?.timeout,
    async emit(event, payload) {
      const p = await pipeline();
      await p.events.emit(event, payload);
    },
    async flush() {
      const p = await pipeline();
      await p.events.emit('flush', {});
    },
  };
  return worker;
}

function fireTerminal(
  events: EventBus,
  ctx: DeliveryContext,
  outcome: Outcome,
  durationMs: number,
): Promise<void> {
  switch (outcome.type) {
    case 'ack': {
      const name = outcome.duplicate ? 'duplicate' : 'success';
      if (!events.has(name)) return SETTLED;
      return events.emit(name, { ctx, outcome, durationMs, result: outcome.result });
    }
    case 'retry':
      return events.has('retry') ? events.emit('retry', { ctx, outcome, durationMs }) : SETTLED;
    case 'defer':
      return events.has('defer') ? events.emit('defer', { ctx, outcome, durationMs }) : SETTLED;
    case 'dead':
      return events.has('dead') ? events.emit('dead', { ctx, outcome, durationMs }) : SETTLED;
    case 'discard':
      return events.has('discard') ? events.emit('discard', { ctx, outcome, durationMs }) : SETTLED;
  }
}

function noop() {}

const OUTCOME_TYPES = new Set(['ack', 'retry', 'defer', 'dead', 'discard']);

function isDelay(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

/** A well-formed outcome, as a deliver hook must return (adapters act on it). */
function isOutcome(value: unknown): value is Outcome {
  const outcome = value as Outcome | null | undefined;
  if (!outcome || !OUTCOME_TYPES.has(outcome.type)) return false;
  if (outcome.type === 'retry' || outcome.type === 'defer') return isDelay(outcome.delayMs);
  return true;
}

function describe(value: unknown): string {
  if (value === undefined || value === null) return String(value);
  if (typeof value !== 'object') return typeof value;
  const type = (value as { type?: unknown }).type;
  return typeof type === 'string'
    ? `{ type: ${JSON.stringify(type)} } with missing or invalid fields`
    : 'an object without a type';
}
