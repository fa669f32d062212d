import { setTimeout as sleep } from 'node:timers/promises';
import type { Client, Plugin } from '@glasswork/core';
import { createWorker, PermanentJobError, TransientJobError } from '@glasswork/core';
import type { PinoContext } from '@glasswork/pino';
import {
  chargeCard,
  importAlbum,
  makeThumbnail,
  postLedgerEntry,
  sendReminder,
  syncCustomer,
} from './jobs.ts';

export interface DemoWorkerOptions {
  /** For the fan-out: handlers may enqueue too. */
  readonly client: Client;
  readonly tracing: Plugin;
  readonly logging: Plugin<PinoContext>;
  readonly stats: Plugin;
  /** Receives each ledger entry as it is posted, so the demo can check the FIFO order. */
  readonly onLedgerEntry: (account: string, seq: number) => void;
}

/** The worker: one handler per job, the plugins attached once. `createSqsHandler(worker)` runs it. */
export function createDemoWorker(options: DemoWorkerOptions) {
  const { client } = options;
  return createWorker({
    plugins: [options.tracing, options.logging, options.stats],
    retry: { maxAttempts: 5 },
    timeout: '5s',
  })
    .handle(importAlbum, async ({ albumId, count }, ctx) => {
      ctx.log.info({ count }, `fanning out ${count} thumbnails with enqueueMany`);
      const results = await client.enqueueMany(
        Array.from({ length: count }, (_, photo) => ({
          job: makeThumbnail,
          payload: { albumId, photo },
          // A deterministic id: if this handler is retried, the thumbnails keep their ids.
          options: { id: `${albumId}-photo-${photo}` },
        })),
      );
      const failed = results.filter((result) => !result.ok).length;
      if (failed > 0) throw new Error(`${failed} of ${count} thumbnails were not enqueued`);
    })
    .handle(makeThumbnail, async (_photo, ctx) => {
      await sleep(5 + Math.random() * 25, undefined, { signal: ctx.signal }); // "image work"
    })
    .handle(
      syncCustomer,
      async ({ customerId }, ctx) => {
        if (ctx.attempt < 3) throw new TransientJobError(`CRM answered 503 for ${customerId}`);
        ctx.log.info(`synced ${customerId} on attempt ${ctx.attempt}`);
      },
      { retry: { maxAttempts: 5, backoff: ['1s', '2s'] } },
    )
    .handle(chargeCard, async ({ orderId }) => {
      throw new PermanentJobError(`card declined for order ${orderId}: insufficient funds`);
    })
    .handle(postLedgerEntry, async ({ account, seq, cents }, ctx) => {
      options.onLedgerEntry(account, seq);
      ctx.log.info({ account, seq, cents }, `posted entry ${seq} of ${account}`);
    })
    .handle(sendReminder, async ({ userId }, ctx) => {
      ctx.log.info(
        `reminding ${userId}, ${Math.round((ctx.now() - ctx.enqueuedAt.getTime()) / 1000)} s after the enqueue`,
      );
    });
}
