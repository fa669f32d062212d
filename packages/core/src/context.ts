import type { AnyJob, DeliveryContext, Envelope, ExecuteContext } from './types.ts';

/**
 * The handler's context. A class with lazy dates: most handlers never read `enqueuedAt`, and a delivery
 * should not pay for two `Date`s it does not use.
 */
export class HandlerContext implements ExecuteContext {
  readonly jobId: string;
  readonly jobName: string;
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly timeout: number | undefined;
  readonly deadline: number | undefined;
  readonly signal: AbortSignal;
  readonly meta: Readonly<Record<string, string>>;
  readonly state: Record<string, unknown>;
  readonly queue: string;
  readonly messageId: string;
  readonly job: AnyJob;
  readonly payload: unknown;
  readonly delivery: DeliveryContext;
  readonly now: () => number;
  #envelope: Envelope;
  #enqueuedAt: Date | undefined;
  #firstEnqueuedAt: Date | undefined;

  constructor(
    delivery: DeliveryContext,
    envelope: Envelope,
    job: AnyJob,
    maxAttempts: number,
    timeout: number | undefined,
    payload: unknown,
    signal: AbortSignal,
  ) {
    this.jobId = envelope.id;
    this.jobName = envelope.name;
    this.attempt = delivery.attempt;
    this.maxAttempts = maxAttempts;
    this.timeout = timeout;
    this.deadline = delivery.delivery.deadline;
    this.signal = signal;
    this.meta = envelope.meta;
    this.state = delivery.state;
    this.queue = delivery.queue;
    this.messageId = delivery.messageId;
    this.job = job;
    this.payload = payload;
    this.delivery = delivery;
    this.now = delivery.now;
    this.#envelope = envelope;
  }

  get enqueuedAt(): Date {
    this.#enqueuedAt ??= new Date(this.#envelope.enqueuedAt);
    return this.#enqueuedAt;
  }

  get firstEnqueuedAt(): Date {
    this.#firstEnqueuedAt ??= new Date(this.#envelope.firstEnqueuedAt);
    return this.#firstEnqueuedAt;
  }
}
