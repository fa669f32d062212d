import { randomUUID } from 'node:crypto';
import { IdempotencyLockLostError, storeTestSuite } from '@glasswork/idempotency';
import { postgresStore } from '@glasswork/idempotency-postgres';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idempotencyScenarios, mockHarness } from '../../idempotency/test/scenarios.ts';
import { claimLease, pgDatabase } from './pg-database.ts';
import { transactionalScenarios } from './transactional-scenarios.ts';

// Row locks between connections need a real server: PGlite (and its socket server) has one session.
const url = process.env.DATABASE_URL;
const SKIP_REASON =
  'DATABASE_URL is not set: connection-contention tests need a real Postgres (PGlite has one session)';
if (!url) console.info(`[idempotency-postgres] skipped contention.test.ts: ${SKIP_REASON}`);

const T0 = Date.parse('2030-01-01T00:00:00Z');
const table = `glasswork_idempotency_test_${randomUUID().slice(0, 8)}`;

describe.skipIf(!url)(
  `contention on a real Postgres (${url ? 'DATABASE_URL' : `skipped: ${SKIP_REASON}`})`,
  () => {
    let pool: pg.Pool;
    beforeAll(async () => {
      pool = new pg.Pool({ connectionString: url, max: 12 });
      await postgresStore({ pool, table }).migrate();
      await pool.query(`CREATE TABLE ${table}_shipments (id serial PRIMARY KEY, order_id text NOT NULL)`);
    });
    afterAll(async () => {
      await pool?.query(`DROP TABLE IF EXISTS ${table}, ${table}_shipments`);
      await pool?.end();
    });
    const store = () => postgresStore({ pool, table });

    storeTestSuite({ it, expect }, store, {
      name: 'postgres store (real server, 12 connections)',
      concurrency: 24,
    });

    /** Waits until some backend is blocked on a lock, so the race is set up, not hoped for. */
    async function untilBlocked() {
      for (let i = 0; i < 500; i++) {
        const { rows } = await pool.query(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()",
        );
        if ((rows[0] as { n: number }).n > 0) return;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      throw new Error('no backend ever waited on a lock');
    }

    it('deleteExpired keeps a key that another connection re-claimed while it waited for the row', async () => {
      const s = store();
      const key = `sweep-${randomUUID()}`;
      await claimLease(s, key, { now: T0, lockMs: 1000, recordMs: 1000 });
      const tx = await pool.connect();
      try {
        await tx.query('BEGIN');
        // Another delivery takes the expired key over, in a transaction still open.
        const reclaimed = await postgresStore({ pool: tx, table }).claim(key, {
          now: T0 + 2000,
          lockExpiresAt: T0 + 60_000,
        });
        expect(reclaimed.status).toBe('acquired');
        const sweeping = s.deleteExpired({ now: T0 + 3000 });
        await untilBlocked();
        await tx.query('COMMIT');
        await sweeping;
      } finally {
        tx.release();
      }
      expect(await s.get(key, { now: T0 + 3000 })).toMatchObject({ status: 'in_progress' });
      expect((await s.claim(key, { now: T0 + 3000, lockExpiresAt: T0 + 4000 })).status).toBe('in_progress');
    });

    it('a claim racing an uncommitted completeInTransaction waits for it, then sees the completion', async () => {
      const s = store();
      const key = `race-${randomUUID()}`;
      const lease = await claimLease(s, key, { now: T0, lockMs: 1000, recordMs: 60_000 });
      const tx = await pool.connect();
      try {
        await tx.query('BEGIN');
        await s.completeInTransaction(tx, lease, { result: 'done' });
        // The lock has expired by the other claim's clock: without the row lock it would take the key over.
        const rival = s.claim(key, { now: T0 + 2000, lockExpiresAt: T0 + 3000 });
        await untilBlocked();
        await tx.query('COMMIT');
        expect(await rival).toMatchObject({ status: 'completed', record: { result: 'done' } });
      } finally {
        tx.release();
      }
    });

    it('a transaction that completes after its key was re-claimed fails and rolls back its writes', async () => {
      const s = store();
      const key = `zombie-${randomUUID()}`;
      const orderId = `o-${randomUUID()}`;
      const stale = await claimLease(s, key, { now: T0, lockMs: 1000, recordMs: 60_000 });
      const db = pgDatabase(pool, s, `${table}_shipments`);
      const takeover = await s.claim(key, { now: T0 + 1000, lockExpiresAt: T0 + 5000 });
      expect(takeover.status).toBe('acquired');
      await expect(
        db.inTransaction(async (tx) => {
          await db.ship(tx, orderId);
          await s.completeInTransaction(tx, stale);
        }),
      ).rejects.toThrow(IdempotencyLockLostError);
      expect(await db.shipped(orderId)).toBe(0);
    });

    describe('end to end through the mock drain', () => {
      idempotencyScenarios(mockHarness, store);
      transactionalScenarios(mockHarness, () => pgDatabase(pool, store(), `${table}_shipments`));
    });
  },
);
