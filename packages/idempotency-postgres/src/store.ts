import { randomUUID } from 'node:crypto';
import { ConfigurationError, GlassworkError } from '@glasswork/core';
import type {
  ClaimResult,
  IdempotencyLease,
  IdempotencyRecord,
  IdempotencyStore,
  JsonValue,
} from '@glasswork/idempotency';
import { IdempotencyLockLostError } from '@glasswork/idempotency';
import { checkTable, DEFAULT_TABLE, migrationStatements } from './schema.ts';

/**
 * Anything that runs a parameterised query: a `pg` Pool, Client or PoolClient, a PGlite instance or its
 * transaction, or a wrapper around your own driver.
 */
export interface PgQueryable {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

/** Options of `postgresStore`. */
export interface PostgresStoreOptions {
  /** Where the store's own statements run: a `pg` Pool (recommended) or a PGlite instance. */
  readonly pool: PgQueryable;
  /** The table, optionally schema-qualified. @default 'glasswork_idempotency' */
  readonly table?: string;
}

/** The Postgres store: the contract, plus completion inside your own transaction. */
export interface PostgresStore extends IdempotencyStore {
  readonly table: string;
  /**
   * Marks the job completed inside `tx`, your open transaction, so that the record commits (or rolls back)
   * with your own writes. Throws `IdempotencyLockLostError` when the lease is stale (its lock expired and
   * another delivery claimed the key): let it propagate so your transaction rolls back; the plugin then
   * answers from the other delivery's record.
   */
  completeInTransaction(
    tx: PgQueryable,
    lease: IdempotencyLease | undefined,
    options?: { readonly result?: JsonValue },
  ): Promise<void>;
  /** Creates the table and its index if they do not exist. */
  migrate(): Promise<void>;
  /** Deletes up to `limit` records that expired before `now`; returns how many. Run it on a schedule. */
  deleteExpired(options?: { readonly now?: number; readonly limit?: number }): Promise<number>;
}

interface Row {
  status: string;
  hash: string | null;
  result: string | null;
  expires_ms: number | string;
}

const CLAIM_TRIES = 5;
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * An idempotency store on one Postgres table. Claims are one `INSERT … ON CONFLICT DO UPDATE … WHERE
 * expired` each; completion and release compare the fencing token in the same statement, so they never
 * touch a record another delivery re-claimed.
 */
export function postgresStore(options: PostgresStoreOptions): PostgresStore {
  const { pool } = options;
  if (!pool || typeof pool.query !== 'function') {
    throw new ConfigurationError(
      'postgresStore needs a pool: pass { pool: new pg.Pool({ connectionString }) }',
    );
  }
  const table = checkTable(options.table ?? DEFAULT_TABLE);
  const columns = `status, hash, result::text AS result, (extract(epoch FROM expires_at) * 1000)::float8 AS expires_ms`;
  const sql = {
    claim: `INSERT INTO ${table} AS r (key, status, token, hash, result, expires_at)
      VALUES ($1, 'in_progress', $2, $3, NULL, $4::timestamptz)
      ON CONFLICT (key) DO UPDATE
        SET status = 'in_progress', token = EXCLUDED.token, hash = EXCLUDED.hash, result = NULL,
            expires_at = EXCLUDED.expires_at
        WHERE r.expires_at <= $5::timestamptz
      RETURNING token`,
    live: `SELECT ${columns} FROM ${table} WHERE key = $1 AND expires_at > $2::timestamptz`,
    complete: `UPDATE ${table}
      SET status = 'completed', expires_at = $3::timestamptz, result = COALESCE($4::jsonb, result)
      WHERE key = $1 AND token = $2 RETURNING key`,
    release: `DELETE FROM ${table} WHERE key = $1 AND token = $2 AND status = 'in_progress' RETURNING key`,
    // The outer condition is checked again on each row after waiting for its lock: a key re-claimed or
    // completed by another connection meanwhile is live again and must stay.
    deleteExpired: `DELETE FROM ${table} WHERE key IN (
      SELECT key FROM ${table} WHERE expires_at <= $1::timestamptz LIMIT $2)
      AND expires_at <= $1::timestamptz RETURNING key`,
  };

  const live = async (key: string, now: number): Promise<IdempotencyRecord | undefined> => {
    const { rows } = await pool.query(sql.live, [key, iso(now)]);
    const row = rows[0] as Row | undefined;
    return row && toRecord(key, row);
  };
  const complete = async (
    db: PgQueryable,
    { key, token }: { key: string; token: string },
    expiresAt: number,
    result: JsonValue | undefined,
  ): Promise<boolean> => {
    const json = result === undefined ? null : JSON.stringify(result);
    const { rows } = await db.query(sql.complete, [key, token, iso(expiresAt), json]);
    return rows.length > 0;
  };

  return {
    name: 'postgres',
    table,
    async claim(key, { now, lockExpiresAt, hash }): Promise<ClaimResult> {
      for (let attempt = 1; ; attempt++) {
        const token = randomUUID();
        const { rows } = await pool.query(sql.claim, [
          key,
          token,
          hash ?? null,
          iso(lockExpiresAt),
          iso(now),
        ]);
        if (rows.length > 0) return { status: 'acquired', token };
        const record = await live(key, now);
        if (record) return { status: record.status, record };
        // Released or expired between the two statements: try again.
        if (attempt >= CLAIM_TRIES) {
          throw new GlassworkError(
            `postgresStore: could not claim "${key}" after ${CLAIM_TRIES} tries under contention`,
          );
        }
      }
    },
    complete: (lease, { expiresAt, result }) => complete(pool, lease, expiresAt, result),
    async release({ key, token }) {
      const { rows } = await pool.query(sql.release, [key, token]);
      return rows.length > 0;
    },
    get: (key, { now }) => live(key, now),
    async completeInTransaction(tx, lease, opts = {}) {
      if (!lease) {
        throw new ConfigurationError(
          'completeInTransaction needs ctx.idempotency.lease: call it from a handler of a worker with ' +
            'idempotencyPlugin, for a job that has an idempotency key',
        );
      }
      if (!tx || typeof tx.query !== 'function') {
        throw new ConfigurationError(
          'completeInTransaction needs your open transaction (a client after BEGIN)',
        );
      }
      if (!(await complete(tx, lease, lease.recordExpiresAt, opts.result))) {
        throw new IdempotencyLockLostError(lease.key);
      }
    },
    async migrate() {
      for (const statement of migrationStatements(table)) await pool.query(statement);
    },
    async deleteExpired({ now = Date.now(), limit = 1000 } = {}) {
      const { rows } = await pool.query(sql.deleteExpired, [iso(now), limit]);
      return rows.length;
    },
  };
}

function toRecord(key: string, row: Row): IdempotencyRecord {
  return {
    key,
    status: row.status === 'completed' ? 'completed' : 'in_progress',
    hash: row.hash ?? undefined,
    result: row.result === null ? undefined : (JSON.parse(row.result) as JsonValue),
    expiresAt: Number(row.expires_ms),
  };
}
