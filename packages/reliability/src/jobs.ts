import { defineJob } from '@glasswork/core';
import type { ChaosPayload } from './plan.ts';

/** The one job of the fault suite, on every queue; FIFO jobs carry their group. */
export const chaosJob = defineJob<ChaosPayload>({
  name: 'chaos',
  group: (payload) => payload.group ?? '', // no MessageGroupId on standard queues
});
