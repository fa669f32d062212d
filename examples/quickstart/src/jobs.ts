import { defineJob } from '@glasswork/core';
import * as v from 'valibot';

// The contracts: what a producer imports. No handler code here (that is worker.ts).

/** Enqueues `count` thumbnails in one `enqueueMany` (ten per SendMessageBatch). */
export const importAlbum = defineJob({
  name: 'import-album',
  queue: 'jobs',
  schema: v.object({ albumId: v.string(), count: v.pipe(v.number(), v.integer(), v.minValue(0)) }),
});

/** The small jobs of the fan-out. */
export const makeThumbnail = defineJob({
  name: 'make-thumbnail',
  queue: 'jobs',
  schema: v.object({ albumId: v.string(), photo: v.number() }),
});

/** Fails twice (the CRM answers 503), then succeeds: backoff of 1 s, then 2 s. */
export const syncCustomer = defineJob({
  name: 'sync-customer',
  queue: 'jobs',
  schema: v.object({ customerId: v.string() }),
});

/** Throws PermanentJobError: no retry, straight to the dead-letter queue with the reason. */
export const chargeCard = defineJob({
  name: 'charge-card',
  queue: 'jobs',
  schema: v.object({ orderId: v.string(), cents: v.number() }),
});

/** On a FIFO queue: entries of one account run strictly in order, accounts in parallel. */
export const postLedgerEntry = defineJob({
  name: 'post-ledger-entry',
  queue: 'ledger.fifo',
  group: (entry) => entry.account,
  schema: v.object({ account: v.string(), seq: v.number(), cents: v.number() }),
});

/** Enqueued with a delay (`enqueueIn`). */
export const sendReminder = defineJob({
  name: 'send-reminder',
  queue: 'jobs',
  schema: v.object({ userId: v.string() }),
});
