import { PGlite } from '@electric-sql/pglite';
import type { QueueDriver, ReceivedMessage } from '@glasswork/core';
import {
  applyOutcome,
  createClient,
  createWorker,
  defineJob,
  PermanentJobError,
  processBatch,
} from '@glasswork/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { postgresQueueDriver, SCHEMA_SQL } from '../src/index.ts';

// One embedded Postgres for the file: starting PGlite takes a moment.
let db: PGlite;
beforeAll(async () => {
  db = await PGlite.create();
  await db.exec(SCHEMA_SQL);
});
afterAll(async () => db?.close());
beforeEach(async () => {
  await db.exec('TRUNCATE glasswork_messages, glasswork_dead_letters');
});

function setup(queues = {}) {
  let clock = Date.parse('2026-06-01T00:00:00Z');
  const driver = postgresQueueDriver({ db, now: () => clock, queues, maxReceiveCount: 5 });
  const advance = (ms: number) => {
    clock += ms;
  };
  return { driver, client: createClient({ driver }), advance };
}

async function runOnce(
  driver: QueueDriver,
  worker: ReturnType<typeof createWorker>,
  queue: string,
  fifo = false,
) {
  const batch = (await driver.receive?.(queue, { maxMessages: 10 })) ?? [];
  return processBatch(worker, batch, {
    fifo,
    apply: (m: ReceivedMessage, _o, r) => applyOutcome(driver, queue, m, r),
  });
}

const charge = defineJob<{ cents: number }>({ name: 'charge', queue: 'payments' });

describe('postgresQueueDriver', () => {
  it('sends, receives, acks', async () => {
    const { driver, client } = setup();
    await client.enqueueMany([1, 2, 3].map((cents) => ({ job: charge, payload: { cents } })));
    const seen: number[] = [];
    const worker = createWorker().handle(charge, ({ cents }) => void seen.push(cents));
    const items = await runOnce(driver, worker, 'payments');
    expect(items.map((i) => i.outcome.type)).toEqual(['ack', 'ack', 'ack']);
    expect(seen.sort()).toEqual([1, 2, 3]);
    expect((await db.query('SELECT count(*)::int AS n FROM glasswork_messages')).rows).toEqual([{ n: 0 }]);
  });

  it('retries after the backoff and dead-letters a permanent failure with its reason', async () => {
    const { driver, client, advance } = setup();
    let calls = 0;
    const worker = createWorker().handle(
      charge,
      ({ cents }) => {
        if (cents < 0) throw new PermanentJobError('negative amount');
        if (++calls === 1) throw new Error('gateway down');
      },
      { retry: { backoff: '10s' } },
    );
    await client.enqueue(charge, { cents: 5 });
    await client.enqueue(charge, { cents: -1 });
    const first = await runOnce(driver, worker, 'payments');
    expect(first.map((i) => i.outcome.type).sort()).toEqual(['dead', 'retry']);
    expect(await runOnce(driver, worker, 'payments')).toEqual([]); // still invisible
    advance(10_000);
    const second = await runOnce(driver, worker, 'payments');
    expect(second.map((i) => [i.outcome.type, i.delivery.receiveCount])).toEqual([['ack', 2]]);
    const dead = await db.query<{ info: { reason: string; jobName: string } }>(
      'SELECT info FROM glasswork_dead_letters',
    );
    expect(dead.rows.map((r) => [r.info.jobName, r.info.reason])).toEqual([
      ['charge', 'permanent failure: negative amount'],
    ]);
  });

  it('holds delayed messages back', async () => {
    const { driver, client, advance } = setup();
    await client.enqueueIn(charge, '2h', { cents: 1 });
    const worker = createWorker().handle(charge, () => {});
    expect(await runOnce(driver, worker, 'payments')).toEqual([]);
    advance(2 * 3_600_000);
    expect((await runOnce(driver, worker, 'payments')).length).toBe(1);
  });

  it('keeps FIFO groups in order when a head fails', async () => {
    const { driver, client, advance } = setup();
    const entry = defineJob<{ g: string; n: number }>({
      name: 'entry',
      queue: 'ledger.fifo',
      group: (p) => p.g,
    });
    await client.enqueueMany(
      [1, 2, 3].flatMap((n) => ['a', 'b'].map((g) => ({ job: entry, payload: { g, n } }))),
    );
    const ran: string[] = [];
    let failed = false;
    const worker = createWorker().handle(
      entry,
      ({ g, n }) => {
        ran.push(`${g}${n}`);
        if (g === 'a' && n === 1 && !failed) {
          failed = true;
          throw new Error('conflict');
        }
      },
      { retry: { backoff: '5s' } },
    );
    await runOnce(driver, worker, 'ledger.fifo', true);
    // a2 and a3 were released at once, but group a waits behind a1's backoff.
    expect(await runOnce(driver, worker, 'ledger.fifo', true)).toEqual([]);
    advance(5_000);
    await runOnce(driver, worker, 'ledger.fifo', true);
    expect(ran.filter((r) => r.startsWith('a'))).toEqual(['a1', 'a1', 'a2', 'a3']);
    expect(ran.filter((r) => r.startsWith('b'))).toEqual(['b1', 'b2', 'b3']);
  });

  it('deduplicates FIFO messages by dedup id while they are queued', async () => {
    const { client } = setup();
    const once = defineJob<{ k: string }>({ name: 'once', queue: 'q.fifo', group: 'g', dedupe: (p) => p.k });
    const a = await client.enqueue(once, { k: 'x' });
    const b = await client.enqueue(once, { k: 'x' });
    expect(b.messageId).toBe(a.messageId);
    expect((await db.query('SELECT count(*)::int AS n FROM glasswork_messages')).rows).toEqual([{ n: 1 }]);
  });

  it('hands a message to one of two concurrent receivers only', async () => {
    const { driver, client } = setup();
    await client.enqueueMany(Array.from({ length: 20 }, (_, cents) => ({ job: charge, payload: { cents } })));
    const [a, b] = await Promise.all([
      driver.receive?.('payments', { maxMessages: 10 }),
      driver.receive?.('payments', { maxMessages: 10 }),
    ]);
    const ids = [...(a ?? []), ...(b ?? [])].map((m) => m.messageId);
    expect(ids).toHaveLength(20);
    expect(new Set(ids).size).toBe(20);
  });
});
