import type { OutgoingMessage, PluginHooks } from '@glasswork/core';
import type { Attributes, Context, Link, Span, SpanContext, Tracer } from '@opentelemetry/api';
import { context, isSpanContextValid, propagation, ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import {
  BATCH_MESSAGE_COUNT,
  DESTINATION_NAME,
  JOB_ATTEMPT,
  JOB_ID,
  JOB_NAME,
  MESSAGE_ID,
  MESSAGING_SYSTEM,
  OPERATION_NAME,
  OPERATION_TYPE,
  recordFailure,
  recordOutcome,
} from './attributes.ts';

export interface TracingOptions {
  readonly tracer: Tracer;
  readonly system: string;
  readonly processParent: 'auto' | 'active';
}

/** The span context a message carries in its envelope's `meta`, when it is a valid one. */
function creationContext(meta: Readonly<Record<string, string>>): Context | undefined {
  const extracted = propagation.extract(ROOT_CONTEXT, meta);
  const spanContext = trace.getSpanContext(extracted);
  return spanContext && isSpanContextValid(spanContext) ? extracted : undefined;
}

/** Runs `fn` with `span` active under `parent`; a throw marks the span failed; it ends either way. */
async function within<T>(span: Span, parent: Context, fn: () => Promise<T>): Promise<T> {
  try {
    return await context.with(trace.setSpan(parent, span), fn);
  } catch (error) {
    recordFailure(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/**
 * Producer spans. `create`, one per message, wraps the build stage; its context goes into `meta`
 * through the global propagator. `send`, one per driver call, links to the creation context of every
 * message it carries: the messages in the send stage are the objects the build stage returned.
 */
export function traceProducer(hooks: PluginHooks, options: TracingOptions): void {
  const { tracer, system } = options;
  const created = new WeakMap<OutgoingMessage, SpanContext>();

  hooks.build(async (ctx, next) => {
    // A message that already carries a creation context (a replay) keeps it, as the conventions ask.
    const carried = creationContext(ctx.meta);
    if (carried) {
      const message = await next();
      created.set(message, trace.getSpanContext(carried) as SpanContext);
      return message;
    }
    const parent = context.active();
    const span = tracer.startSpan(
      `create ${ctx.queue}`,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          [MESSAGING_SYSTEM]: system,
          [OPERATION_TYPE]: 'create',
          [OPERATION_NAME]: 'create',
          [DESTINATION_NAME]: ctx.queue,
          [JOB_NAME]: ctx.job.name,
          [JOB_ID]: ctx.id,
        },
      },
      parent,
    );
    propagation.inject(trace.setSpan(parent, span), ctx.meta);
    const message = await within(span, parent, next);
    created.set(message, span.spanContext());
    return message;
  });

  hooks.send(async (ctx, next) => {
    const links: Link[] = [];
    for (const message of ctx.messages) {
      const linked = created.get(message);
      if (linked) links.push({ context: linked, attributes: { [JOB_ID]: message.id } });
    }
    const attributes: Attributes = {
      [MESSAGING_SYSTEM]: system,
      [OPERATION_TYPE]: 'send',
      [OPERATION_NAME]: 'send',
      [DESTINATION_NAME]: ctx.queue,
    };
    // The conventions keep the batch count off spans about one message.
    if (ctx.messages.length > 1) attributes[BATCH_MESSAGE_COUNT] = ctx.messages.length;
    const parent = context.active();
    // CLIENT, not PRODUCER: the create spans are the messages' creation contexts.
    const span = tracer.startSpan(`send ${ctx.queue}`, { kind: SpanKind.CLIENT, attributes, links }, parent);
    return within(span, parent, async () => {
      const results = await next();
      const only = ctx.messages.length === 1 ? results[0] : undefined;
      if (only?.ok && only.messageId) span.setAttribute(MESSAGE_ID, only.messageId);
      const failed = results.filter((r) => !r.ok);
      const first = failed[0];
      if (first && !first.ok) {
        recordFailure(
          span,
          first.error,
          `${failed.length} of ${results.length} messages were not accepted: ${first.error.message}`,
        );
      }
      return results;
    });
  });
}

/**
 * The consumer span: one `process` span per delivery around the whole `deliver` stage, so decoding
 * problems (poison messages) and execute-stage short-circuits (idempotency) are inside it.
 */
export function traceConsumer(hooks: PluginHooks, options: TracingOptions): void {
  const { tracer, system, processParent } = options;

  hooks.deliver(async (ctx, next) => {
    const active = context.active();
    const creation = creationContext(ctx.meta);
    const creationSpan = creation ? trace.getSpanContext(creation) : undefined;
    const ambient = trace.getSpanContext(active);
    const parent =
      processParent === 'auto' && creation && !(ambient && isSpanContextValid(ambient)) ? creation : active;

    const attributes: Attributes = {
      [MESSAGING_SYSTEM]: system,
      [OPERATION_TYPE]: 'process',
      [OPERATION_NAME]: 'process',
      [DESTINATION_NAME]: ctx.queue,
      [MESSAGE_ID]: ctx.messageId,
      [JOB_ATTEMPT]: ctx.attempt,
    };
    if (ctx.jobName !== undefined) attributes[JOB_NAME] = ctx.jobName;
    if (ctx.jobId !== undefined) attributes[JOB_ID] = ctx.jobId;
    const span = tracer.startSpan(
      `process ${ctx.queue}`,
      { kind: SpanKind.CONSUMER, attributes, links: creationSpan ? [{ context: creationSpan }] : [] },
      parent,
    );
    return within(span, parent, async () => {
      const outcome = await next();
      recordOutcome(span, outcome);
      return outcome;
    });
  });
}
