import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PgGate } from '../src/pg-gate.ts';
import { startPgGate } from '../src/pg-gate.ts';

let db: PGlite;
let gate: PgGate;
let pool: pg.Pool;
beforeAll(async () => {
  db = await PGlite.create();
  await db.exec('CREATE TABLE items (v text)');
  gate = await startPgGate(db);
  pool = new pg.Pool({ host: gate.host, port: gate.port, user: 'postgres', database: 'postgres', max: 6 });
}, 60_000);
afterAll(async () => {
  await pool?.end();
  await gate?.stop();
  await db?.close();
});

const values = async () =>
  (await pool.query<{ v: string }>('SELECT v FROM items ORDER BY v')).rows.map((r) => r.v);

describe('Postgres gate in front of PGlite', () => {
  it('keeps concurrent parameterised queries of many connections apart', async () => {
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) => pool.query<{ n: number }>('SELECT $1::int AS n', [i])),
    );
    expect(answers.map((a) => a.rows[0]?.n)).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  it('lets no other connection into an open transaction: a rolled-back write stays invisible', async () => {
    await pool.query('DELETE FROM items');
    const a = await pool.connect();
    await a.query('BEGIN');
    await a.query('INSERT INTO items VALUES ($1)', ['a']);
    let bDone = false;
    const b = pool.query('INSERT INTO items VALUES ($1)', ['b']).then(() => {
      bDone = true;
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(bDone).toBe(false);
    await a.query('ROLLBACK');
    a.release();
    await b;
    expect(await values()).toEqual(['b']);
  });

  it('rolls back the transaction of a connection that dies, as Postgres does for a lost backend', async () => {
    await pool.query('DELETE FROM items');
    const client = new pg.Client({
      host: gate.host,
      port: gate.port,
      user: 'postgres',
      database: 'postgres',
    });
    client.on('error', () => {});
    await client.connect();
    await client.query('BEGIN');
    await client.query('INSERT INTO items VALUES ($1)', ['killed']);
    // What SIGKILL leaves: the socket closes without COMMIT or Terminate.
    (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    await pool.query('INSERT INTO items VALUES ($1)', ['after']);
    expect(await values()).toEqual(['after']);
  });
});
