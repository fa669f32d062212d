import type { AnyJob, Delivery, GlassworkEventName, Plugin } from '../src/index.ts';
import { definePlugin, encodeEnvelope } from '../src/index.ts';

let sequence = 0;

/** A delivery of `job` with `payload`, as an adapter would build it. */
export function deliveryOf(
  job: AnyJob | string,
  payload: unknown,
  overrides: Partial<Delivery> & { priorAttempts?: number; enqueuedAt?: Date; id?: string } = {},
): Delivery {
  const { priorAttempts = 0, enqueuedAt = new Date(), id = `job-${++sequence}`, ...rest } = overrides;
  const at = enqueuedAt.toISOString();
  return {
    messageId: `msg-${++sequence}`,
    body: encodeEnvelope({
      id,
      name: typeof job === 'string' ? job : job.name,
      payloadJson: payload === undefined ? undefined : JSON.stringify(payload),
      enqueuedAt: at,
      firstEnqueuedAt: at,
      priorAttempts,
      meta: {},
    }),
    receiveCount: 1,
    queue: 'jobs',
    ...rest,
  };
}

/** A raw delivery with any body. */
export function rawDelivery(body: string, overrides: Partial<Delivery> = {}): Delivery {
  return { messageId: `msg-${++sequence}`, body, receiveCount: 1, queue: 'jobs', ...overrides };
}

/** Every event a plugin can observe. */
export const ALL_EVENTS: GlassworkEventName[] = [
  'enqueued',
  'start',
  'success',
  'duplicate',
  'retry',
  'defer',
  'dead',
  'discard',
  'receiveError',
  'stopping',
  'stopped',
  'flush',
];

/** A plugin that records every event it sees, as `name` or `name:jobName`. */
export function eventRecorder(): Plugin & { events: string[] } {
  const events: string[] = [];
  const plugin = definePlugin({
    name: 'recorder',
    setup(hooks) {
      for (const event of ALL_EVENTS) {
        hooks.on(event, (e) => {
          events.push(event);
          void e;
        });
      }
    },
  });
  return Object.assign(plugin, { events });
}
