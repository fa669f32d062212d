import { defineJob } from '@glasswork/core';
import * as v from 'valibot';

/** The contract, shared by the API (producer) and the worker. No handler code here. */
export const sendWelcomeEmail = defineJob({
  name: 'send-welcome-email',
  queue: 'emails',
  schema: v.object({ userId: v.string(), email: v.pipe(v.string(), v.email()) }),
});

/** Attempts per job: the queue's maxReceiveCount in template.yaml must be at least this plus 5. */
export const MAX_ATTEMPTS = 5;
