import { randomUUID } from 'node:crypto';
import { defineJob } from '@glasswork/core';
import type { PgQueryable, PostgresStore } from '@glasswork/idempotency-postgres';
import * as v from 'valibot';
import { expect, it } from 'vitest';
import type { QueueHarness } from '../../idempotency/test/scenarios.ts';
import { crash, gate, kind, setup } from '../../idempotency/test/scenarios.ts';

/** Runs `fn` in a transaction of the application's database (pg: BEGIN/COMMIT on a client; PGlite: transaction). */
export type InTransaction = <T>(fn: (tx: PgQueryable) => Promise<T>) => Promise<T>;

/** The application's side: its transactions, its business write, and a count of what was written. */
export interface TransactionalDatabase {
  readonly store: PostgresStore;
  readonly inTransaction: InTransaction;
  ship(tx: PgQueryable, orderId: string): Promise<unknown>;
  shipped(orderId: string): Promise<number>;
}

/**
 * The Postgres store's own promise, as scenarios on a harness: a job that writes its effect and marks
 * itself done in one transaction runs exactly once, even when its worker dies between commit and ack.
 */
export function transactionalScenarios(
  makeHarness: () => QueueHarness | Promise<QueueHarness>,
  db: () => TransactionalDatabase,
): void {
  const start = async () => {
    const h = await makeHarness();
    const job = defineJob({ name: 'ship', queue: h.queue, schema: v.object({ orderId: v.string() }) });
    return { h, job, ...db(), id: randomUUID(), orderId: `o-${randomUUID()}` };
  };

  it('is exactly once when the worker dies between the business commit and the ack', async () => {
    const { h, job, store, inTransaction, ship, shipped, id, orderId } = await start();
    const { worker } = setup(h, store);
    const committed = gate();
    let dies = true;
    worker.handle(job, async (p, ctx) => {
      await inTransaction(async (tx) => {
        await ship(tx, p.orderId);
        await store.completeInTransaction(tx, ctx.idempotency.lease, { result: 'shipped' });
      });
      if (dies) {
        dies = false;
        committed.open();
        await new Promise(() => {}); // dies after the commit: no ack, no completion by the plugin
      }
      return 'shipped';
    });
    await h.client.enqueue(job, { orderId }, { id });
    await crash(h, worker);
    await committed.promise;
    // The redelivery finds the record the transaction committed: a duplicate, not a second shipment.
    const log = await h.run(worker);
    expect(log.map(kind)).toEqual(['duplicate']);
    expect(log[0]?.outcome).toMatchObject({ result: 'shipped' });
    expect(await shipped(orderId)).toBe(1);
    expect(await h.deadLetters()).toBe(0);
  });

  it('without completeInTransaction the same crash repeats the write (at least once)', async () => {
    const { h, job, store, inTransaction, ship, shipped, id, orderId } = await start();
    const { worker } = setup(h, store);
    const committed = gate();
    let dies = true;
    worker.handle(job, async (p) => {
      await inTransaction((tx) => ship(tx, p.orderId));
      if (dies) {
        dies = false;
        committed.open();
        await new Promise(() => {});
      }
    });
    await h.client.enqueue(job, { orderId }, { id });
    await crash(h, worker);
    await committed.promise;
    expect((await h.run(worker)).map(kind).at(-1)).toBe('success');
    expect(await shipped(orderId)).toBe(2);
  });

  it('rolls back a zombie whose lock expired and was re-claimed, instead of completing twice', async () => {
    const { h, job, store, inTransaction, ship, shipped, id, orderId } = await start();
    const { worker } = setup(h, store);
    const stalled = gate();
    const resume = gate();
    let stalls = true;
    worker.handle(job, async (p, ctx) => {
      if (stalls) {
        stalls = false;
        stalled.open();
        await resume.promise; // stalls past its lock before writing anything
      }
      await inTransaction(async (tx) => {
        await ship(tx, p.orderId);
        await store.completeInTransaction(tx, ctx.idempotency.lease, { result: `by attempt ${ctx.attempt}` });
      });
      return 'shipped';
    });
    await h.client.enqueue(job, { orderId }, { id });
    const zombie = await crash(h, worker);
    await stalled.promise;
    expect((await h.run(worker)).map(kind).at(-1)).toBe('success');
    resume.open();
    const late = await zombie.run;
    expect(late.outcome).toMatchObject({ type: 'ack', duplicate: true });
    expect(late.ctx.state.idempotency).toMatchObject({ status: 'lock-lost' });
    expect(await shipped(orderId)).toBe(1);
    expect(await store.get(`ship:${id}`, { now: h.now() })).toMatchObject({ status: 'completed' });
  });
}
