import { readFileSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { ConfigurationError } from '@glasswork/core';
import { IdempotencyLockLostError, storeTestSuite } from '@glasswork/idempotency';
import { migrationSql, postgresStore } from '@glasswork/idempotency-postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idempotencyScenarios, mockHarness } from '../../idempotency/test/scenarios.ts';
import { claimLease } from './pg-database.ts';
import { transactionalScenarios } from './transactional-scenarios.ts';

// One embedded Postgres for the whole file: PGlite takes seconds to start (more on a busy machine).
let db: PGlite;
beforeAll(async () => {
  db = await PGlite.create();
  await postgresStore({ pool: db }).migrate();
  await db.exec('CREATE TABLE shipments (id serial PRIMARY KEY, order_id text NOT NULL)');
}, 60_000);
afterAll(() => db?.close());

const store = () => postgresStore({ pool: db });
const T0 = Date.parse('2030-01-01T00:00:00Z');

storeTestSuite({ it, expect }, store, { name: 'postgres store (PGlite)' });

describe('idempotency end to end: postgres store on PGlite, mock drain', () => {
  idempotencyScenarios(mockHarness, store);
  transactionalScenarios(mockHarness, () => ({
    store: store(),
    inTransaction: (fn) => db.transaction(fn),
    ship: (tx, orderId) => tx.query('INSERT INTO shipments (order_id) VALUES ($1)', [orderId]),
    async shipped(orderId) {
      const { rows } = await db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM shipments WHERE order_id = $1',
        [orderId],
      );
      return rows[0]?.n ?? 0;
    },
  }));
});

describe('postgresStore', () => {
  it('completes inside the caller’s transaction: a rollback leaves the claim in progress', async () => {
    const s = store();
    const lease = await claimLease(s, 'tx-1', { now: T0, lockMs: 60_000, recordMs: 3_600_000 });
    await expect(
      db.transaction(async (tx) => {
        await s.completeInTransaction(tx, lease, { result: { ok: true } });
        throw new Error('business write failed');
      }),
    ).rejects.toThrow('business write failed');
    expect(await s.get('tx-1', { now: T0 })).toMatchObject({ status: 'in_progress' });
    await db.transaction((tx) => s.completeInTransaction(tx, lease, { result: { ok: true } }));
    expect(await s.get('tx-1', { now: T0 })).toMatchObject({
      status: 'completed',
      result: { ok: true },
      expiresAt: T0 + 3_600_000,
    });
  });

  it('refuses a stale lease in the transaction with IdempotencyLockLostError', async () => {
    const s = store();
    const stale = await claimLease(s, 'tx-2', { now: T0, lockMs: 1000, recordMs: 9000 });
    await s.claim('tx-2', { now: T0 + 1000, lockExpiresAt: T0 + 60_000 });
    await expect(db.transaction((tx) => s.completeInTransaction(tx, stale))).rejects.toThrow(
      IdempotencyLockLostError,
    );
    await expect(s.completeInTransaction(db, undefined)).rejects.toThrow(/needs ctx.idempotency.lease/);
  });

  it('deletes expired records in bounded batches', async () => {
    const s = postgresStore({ pool: db, table: 'public.cleanup_test' });
    await s.migrate();
    await s.migrate(); // idempotent
    for (const k of ['a', 'b', 'c']) await s.claim(k, { now: T0, lockExpiresAt: T0 + 1000 });
    await s.claim('d', { now: T0, lockExpiresAt: T0 + 99_000 });
    expect(await s.deleteExpired({ now: T0 + 1000, limit: 2 })).toBe(2);
    expect(await s.deleteExpired({ now: T0 + 1000 })).toBe(1);
    expect(await s.deleteExpired({ now: T0 + 1000 })).toBe(0);
    expect(await s.get('d', { now: T0 + 1000 })).toMatchObject({ status: 'in_progress' });
  });

  it('ships a migration file that matches migrationSql()', () => {
    const file = readFileSync(
      new URL('../migrations/001_glasswork_idempotency.sql', import.meta.url),
      'utf8',
    );
    const statements = file.replace(/^--.*\n/gm, '');
    expect(statements).toBe(migrationSql());
    expect(migrationSql('app.jobs_once')).toContain(
      'CREATE INDEX IF NOT EXISTS jobs_once_expires_at ON app.jobs_once',
    );
  });

  it('refuses a table name that is not a plain identifier, and a missing pool', () => {
    expect(() => postgresStore({ pool: db, table: 'x; DROP TABLE y' })).toThrow(ConfigurationError);
    expect(() => postgresStore({ pool: undefined as never })).toThrow(/needs a pool/);
  });
});
