import { createWorker, PermanentJobError } from '@glasswork/core';
import { createSqsHandler } from '@glasswork/lambda';
import { MAX_ATTEMPTS, sendWelcomeEmail } from './jobs.ts';

/** Stands in for your mail provider; the test swaps in its own. */
export const mailer = {
  async send(to: string, subject: string): Promise<void> {
    console.log(`mail to ${to}: ${subject}`);
  },
};

export const worker = createWorker({ retry: { maxAttempts: MAX_ATTEMPTS }, timeout: '20s' }).handle(
  sendWelcomeEmail,
  async ({ userId, email }) => {
    if (email.endsWith('@invalid.example')) throw new PermanentJobError(`cannot deliver to ${email}`);
    await mailer.send(email, `Welcome, ${userId}`);
  },
);

/** The Lambda entry point (template.yaml: Handler: worker.handler). */
export const handler = createSqsHandler(worker);
