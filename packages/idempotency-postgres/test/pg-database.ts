import type { IdempotencyLease } from '@glasswork/idempotency';
import type { PostgresStore } from '@glasswork/idempotency-postgres';
import type pg from 'pg';
import type { TransactionalDatabase } from './transactional-scenarios.ts';

/** The application side of the transactional scenarios on a `pg` pool: BEGIN/COMMIT on one client. */
export function pgDatabase(
  pool: pg.Pool,
  store: PostgresStore,
  shipments = 'shipments',
): TransactionalDatabase {
  return {
    store,
    async inTransaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      } finally {
        client.release();
      }
    },
    ship: (tx, orderId) => tx.query(`INSERT INTO ${shipments} (order_id) VALUES ($1)`, [orderId]),
    async shipped(orderId: string) {
      const { rows } = await pool.query(`SELECT count(*)::int AS n FROM ${shipments} WHERE order_id = $1`, [
        orderId,
      ]);
      return (rows[0] as { n: number }).n;
    },
  };
}

/** Claims a free key at `now` and returns the lease the plugin would hand the handler. */
export async function claimLease(
  store: PostgresStore,
  key: string,
  { now, lockMs, recordMs }: { now: number; lockMs: number; recordMs: number },
): Promise<IdempotencyLease> {
  const claim = await store.claim(key, { now, lockExpiresAt: now + lockMs });
  if (claim.status !== 'acquired') throw new Error(`${key} is not free: ${claim.status}`);
  return { key, token: claim.token, lockExpiresAt: now + lockMs, recordExpiresAt: now + recordMs };
}
