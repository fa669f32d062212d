import type { Delivery, GlassworkEventName } from '@glasswork/core';
import { definePlugin } from '@glasswork/core';

export interface Recorded {
  readonly event: GlassworkEventName;
  readonly at: number;
  readonly jobId: string | undefined;
  readonly payload: any;
  readonly delivery: Delivery | undefined;
  readonly detail: any;
}

const EVENTS: GlassworkEventName[] = [
  'start',
  'success',
  'retry',
  'defer',
  'dead',
  'discard',
  'receiveError',
  'stopping',
  'stopped',
];

/** A plugin that records every event with its delivery, for assertions on what the poller did. */
export function recorder() {
  const log: Recorded[] = [];
  const plugin = definePlugin({
    name: 'recorder',
    setup(hooks) {
      for (const event of EVENTS) {
        hooks.on(
          event,
          (e: any) =>
            void log.push({
              event,
              at: Date.now(),
              jobId: e?.ctx?.jobId,
              payload: e?.ctx?.envelope?.payload,
              delivery: e?.ctx?.delivery,
              detail: e?.outcome ?? e?.error ?? e?.reason,
            }),
        );
      }
    },
  });
  const of = (event: GlassworkEventName) => log.filter((r) => r.event === event);
  return { plugin, log, of, events: () => log.map((r) => r.event) };
}
