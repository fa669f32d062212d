import { defineJob } from '@glasswork/core';
import * as v from 'valibot';

/** The contract, shared by the API and the worker. */
export const sendWelcomeEmail = defineJob({
  name: 'send-welcome-email',
  queue: 'emails',
  schema: v.object({ email: v.pipe(v.string(), v.email()) }),
});
