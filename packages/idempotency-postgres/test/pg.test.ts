import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { storeTestSuite } from '@glasswork/idempotency';
import { postgresStore } from '@glasswork/idempotency-postgres';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idempotencyScenarios, mockHarness } from '../../idempotency/test/scenarios.ts';
import { pgDatabase } from './pg-database.ts';
import { transactionalScenarios } from './transactional-scenarios.ts';

// The store through `pg`, the driver users run it with, against one PGlite served over its socket server.
// That server takes one session, so the pool holds one connection (contention: see contention.test.ts).
let db: PGlite;
let server: PGLiteSocketServer;
let pool: pg.Pool;
beforeAll(async () => {
  db = await PGlite.create();
  server = new PGLiteSocketServer({ db, port: 0 });
  await server.start();
  const [host, port] = server.getServerConn().split(':');
  pool = new pg.Pool({ host, port: Number(port), user: 'postgres', database: 'postgres', max: 1 });
  await postgresStore({ pool }).migrate();
  await pool.query('CREATE TABLE shipments (id serial PRIMARY KEY, order_id text NOT NULL)');
}, 60_000);
afterAll(async () => {
  await pool?.end();
  await server?.stop();
  await db?.close();
});

const store = () => postgresStore({ pool });

storeTestSuite({ it, expect }, store, { name: 'postgres store (pg over pglite-socket)' });

describe('idempotency end to end: postgres store through pg, mock drain', () => {
  idempotencyScenarios(mockHarness, store);
  transactionalScenarios(mockHarness, () => pgDatabase(pool, store()));
});
