import { randomUUID } from 'node:crypto';
import { defineJob, encodeEnvelope } from '@glasswork/core';

/** The job every scenario runs: no schema (no contender validates), a 200-character payload. */
export const benchJob = defineJob<{ n: number; text: string }>({ name: 'bench' });

export const payload = (n: number) => ({ n, text: 'x'.repeat(200) });

const now = new Date().toISOString();

/** A message body as the Glasswork client writes it, for seeding queues and building Lambda events. */
export function envelopeBody(n: number, id: string = randomUUID()): string {
  return encodeEnvelope({
    id,
    name: benchJob.name,
    payloadJson: JSON.stringify(payload(n)),
    enqueuedAt: now,
    firstEnqueuedAt: now,
    priorAttempts: 0,
    meta: {},
  });
}

/** Runs `count` lanes of `fn` at once; each lane takes the next index until all are taken. */
export async function lanes(count: number, total: number, fn: (index: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(count, total) }, async () => {
      while (next < total) await fn(next++);
    }),
  );
}
