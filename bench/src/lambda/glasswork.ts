import { createWorker } from '@glasswork/core';
import type { IdempotencyStore } from '@glasswork/idempotency';
import { idempotencyPlugin, memoryStore } from '@glasswork/idempotency';
import { createSqsHandler } from '@glasswork/lambda';
import { pinoPlugin } from '@glasswork/pino';
import { pino } from 'pino';
import { benchJob } from '../jobs.ts';
import type { Built, Contender } from './contenders.ts';
import { discard } from './contenders.ts';
import { recordingSqs } from './recording-sqs.ts';

function built(handler: Built['handler'], sqs: ReturnType<typeof recordingSqs>): Built {
  return {
    handler,
    stats: () => ({ 'ChangeMessageVisibility calls': sqs.calls.get('ChangeMessageVisibility') ?? 0 }),
  };
}

/** The Lambda adapter with no plugins; retries set the visibility through an in-memory SQS client. */
export const glasswork: Contender = ({ work }) => {
  const sqs = recordingSqs();
  const worker = createWorker().handle(benchJob, (payload) => work(payload));
  return built(createSqsHandler(worker, { client: sqs }), sqs);
};

/** Every call of a store waits `ms` first, like a store across a network. */
function slow(store: IdempotencyStore, ms: number): IdempotencyStore {
  if (ms <= 0) return store;
  const later = <T>(call: () => Promise<T>) =>
    new Promise<void>((resolve) => setTimeout(resolve, ms)).then(call);
  return {
    name: store.name,
    claim: (key, options) => later(() => store.claim(key, options)),
    complete: (lease, options) => later(() => store.complete(lease, options)),
    release: (lease) => later(() => store.release(lease)),
    get: (key, options) => later(() => store.get(key, options)),
  };
}

/** With pino (level info: one line per job, to a discarding stream) and idempotency on a memory store. */
export const glassworkFull: Contender = ({ work, storeDelayMs }) => {
  const sqs = recordingSqs();
  const worker = createWorker({
    plugins: [
      pinoPlugin({ logger: pino({ level: 'info' }, discard()) }),
      idempotencyPlugin({ store: slow(memoryStore(), storeDelayMs) }),
    ],
  }).handle(benchJob, (payload) => work(payload));
  return built(createSqsHandler(worker, { client: sqs }), sqs);
};
