import type { DeliveryContext, OutgoingMessage, Plugin } from '@glasswork/core';
import { ConfigurationError, definePlugin } from '@glasswork/core';
import type { ChildLoggerOptions, Logger } from 'pino';
import { stdSerializers, symbols } from 'pino';
import type { TraceContext } from './trace-context.ts';
import { traceContext } from './trace-context.ts';
import type { PinoContext, PinoPluginOptions } from './types.ts';

const NAME = 'pino';

type OtelContext = ReturnType<TraceContext['capture']>;

/** What the plugin keeps per delivery, in `ctx.state.pino`. */
interface DeliveryState {
  readonly log: Logger;
  /** The OpenTelemetry context of the delivery, so terminal lines carry its trace id. */
  readonly trace: OtelContext | undefined;
}

/** What the build stage saw of a message, for its `enqueued` line. */
interface BuiltMessage {
  readonly fields: { payload?: unknown };
  readonly trace: OtelContext | undefined;
}

function bindings(ctx: DeliveryContext): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  if (ctx.jobId !== undefined) out.jobId = ctx.jobId;
  if (ctx.jobName !== undefined) out.jobName = ctx.jobName;
  out.attempt = ctx.attempt;
  out.queue = ctx.queue;
  out.messageId = ctx.messageId;
  return out;
}

function ms(value: number): number {
  return Math.round(value);
}

/** The plugin's base logger: a child with its level, redaction, cause-chain errors and trace ids. */
function baseLogger(options: PinoPluginOptions, trace: TraceContext | undefined): Logger {
  const { logger } = options;
  const childOptions: ChildLoggerOptions = { serializers: { err: stdSerializers.errWithCause } };
  if (options.level !== undefined) childOptions.level = options.level;
  if (options.redact !== undefined) childOptions.redact = options.redact;
  if (trace) {
    // Added when the line is written, so it is the span active then, whichever plugin started it.
    const inherited = (logger as unknown as Record<symbol, { log?: (o: object) => object } | undefined>)[
      symbols.formattersSym
    ]?.log;
    childOptions.formatters = {
      log(object) {
        const base = inherited ? inherited(object) : object;
        if ('trace_id' in base) return base;
        const fields = trace.fields();
        return fields ? { ...fields, ...base } : base;
      },
    };
  }
  return logger.child({}, childOptions);
}

/**
 * Logs every job event through your pino logger, and gives handlers `ctx.log`: a child bound to the
 * job. Attach it to the client (`enqueued` lines) and to the worker.
 */
export function pinoPlugin(options: PinoPluginOptions): Plugin<PinoContext> {
  if (!options || typeof options.logger?.child !== 'function') {
    throw new ConfigurationError('pinoPlugin needs a pino logger: pass pinoPlugin({ logger: pino() })');
  }
  const { level, logPayload = false } = options;
  if (level !== undefined && level !== 'silent' && !(level in options.logger.levels.values)) {
    throw new ConfigurationError(
      `pinoPlugin: unknown level "${level}"; use one of ${Object.keys(options.logger.levels.values).join(', ')} or silent`,
    );
  }
  if (typeof logPayload !== 'boolean' && typeof logPayload !== 'function') {
    throw new ConfigurationError('pinoPlugin: logPayload must be true, false or a function of the job name');
  }
  const wantsPayload = (jobName: string): boolean => {
    if (typeof logPayload !== 'function') return logPayload;
    try {
      return logPayload(jobName) === true;
    } catch {
      // A throwing choice must not fail an enqueue or a delivery: leave the payload out.
      return false;
    }
  };
  const payloadOf = (jobName: string | undefined, payload: unknown): { payload?: unknown } =>
    jobName !== undefined && wantsPayload(jobName) ? { payload } : {};

  let base: Logger | undefined;
  let trace: TraceContext | undefined;
  const logger = () => (base ??= baseLogger(options, trace));

  function stateOf(ctx: DeliveryContext): DeliveryState {
    let state = ctx.state[NAME] as DeliveryState | undefined;
    if (!state) {
      state = { log: logger().child(bindings(ctx)), trace: trace?.capture() };
      ctx.state[NAME] = state;
    }
    return state;
  }

  /** Writes a line of a delivery inside its OpenTelemetry context (terminal events fire after it). */
  function line(ctx: DeliveryContext, write: (log: Logger) => void): void {
    const state = stateOf(ctx);
    if (trace) trace.run(state.trace, () => write(state.log));
    else write(state.log);
  }

  return definePlugin<PinoContext>({
    name: NAME,
    async setup(hooks) {
      trace = await traceContext();
      const log = logger();
      const built = new WeakMap<OutgoingMessage, BuiltMessage>();

      if (trace || logPayload !== false) {
        hooks.build(async (ctx, next) => {
          const message = await next();
          built.set(message, { fields: payloadOf(ctx.job.name, ctx.payload), trace: trace?.capture() });
          return message;
        });
      }
      hooks.on('enqueued', ({ message, messageId }) => {
        if (!log.isLevelEnabled('debug')) return;
        const seen = built.get(message);
        const write = () =>
          log.debug(
            {
              jobId: message.id,
              jobName: message.jobName,
              queue: message.queue,
              messageId,
              ...(message.delaySeconds > 0 ? { delaySeconds: message.delaySeconds } : {}),
              ...(message.groupId !== undefined ? { groupId: message.groupId } : {}),
              ...seen?.fields,
            },
            'job enqueued',
          );
        if (trace && seen) trace.run(seen.trace, write);
        else write();
      });

      hooks.deliver((ctx, next) => {
        stateOf(ctx);
        return next();
      });
      hooks.on('start', ({ ctx }) => {
        // Checked before entering the delivery's trace context: at info, most deployments, this line is off.
        if (!stateOf(ctx).log.isLevelEnabled('debug')) return;
        line(ctx, (l) => l.debug(payloadOf(ctx.jobName, ctx.envelope?.payload), 'job started'));
      });
      hooks.on('success', ({ ctx, durationMs }) =>
        line(ctx, (l) => l.info({ durationMs: ms(durationMs) }, 'job succeeded')),
      );
      hooks.on('duplicate', ({ ctx, durationMs }) =>
        line(ctx, (l) => l.info({ durationMs: ms(durationMs) }, 'job skipped: it already ran')),
      );
      hooks.on('retry', ({ ctx, outcome, durationMs }) =>
        line(ctx, (l) =>
          l.warn(
            // pino leaves out `blocksGroup` when it is undefined (no FIFO group held).
            {
              err: outcome.error,
              delayMs: outcome.delayMs,
              durationMs: ms(durationMs),
              blocksGroup: outcome.blocksGroup,
            },
            `job failed, retrying in ${Math.ceil(outcome.delayMs / 1000)}s`,
          ),
        ),
      );
      hooks.on('defer', ({ ctx, outcome }) =>
        line(ctx, (l) => l.info({ reason: outcome.reason, delayMs: outcome.delayMs }, 'job deferred')),
      );
      hooks.on('dead', ({ ctx, outcome, durationMs }) =>
        line(ctx, (l) =>
          l.error(
            {
              reason: outcome.reason,
              ...(outcome.error === undefined ? {} : { err: outcome.error }),
              durationMs: ms(durationMs),
              ...payloadOf(ctx.jobName, ctx.envelope?.payload),
            },
            'job dead-lettered',
          ),
        ),
      );
      hooks.on('discard', ({ ctx, outcome }) =>
        line(ctx, (l) =>
          l.warn(
            { reason: outcome.reason, ...(outcome.error === undefined ? {} : { err: outcome.error }) },
            'job discarded',
          ),
        ),
      );

      hooks.on('receiveError', ({ error, queue }) => log.warn({ err: error, queue }, 'receive failed'));
      hooks.on('stopping', ({ reason }) => log.info({ reason }, 'worker stopping'));
      hooks.on('stopped', () => log.info('worker stopped'));
      hooks.on('observerError', ({ error, plugin, event }) =>
        log.error({ err: error, plugin, event }, `plugin "${plugin}" failed in "${event}"`),
      );
    },
    context: (ctx) => ({ log: stateOf(ctx.delivery).log }),
  });
}
