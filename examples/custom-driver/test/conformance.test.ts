import { PGlite } from '@electric-sql/pglite';
import type { QueueDriver } from '@glasswork/core';
import { queueDriverTestSuite } from '@glasswork/driver-test-suite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresQueueDriver, SCHEMA_SQL } from '../src/index.ts';

// One embedded Postgres for the whole suite; each test gets its own queue names and its own clock.
let db: PGlite;
beforeAll(async () => {
  db = await PGlite.create();
  await db.exec(SCHEMA_SQL);
});
afterAll(async () => db?.close());

const clocks = new WeakMap<QueueDriver, { now: number }>();
let sequence = 0;

queueDriverTestSuite(
  { it, expect, describe },
  () => {
    const clock = { now: Date.parse('2026-01-01T00:00:00Z') };
    const driver = postgresQueueDriver({ db, now: () => clock.now });
    clocks.set(driver, clock);
    const id = ++sequence;
    return {
      driver,
      queues: { standard: `suite-${id}`, fifo: `suite-${id}.fifo` },
      deadLetters: async (queue) =>
        (
          await db.query<{ body: string; reason: string }>(
            "SELECT body, info->>'reason' AS reason FROM glasswork_dead_letters WHERE queue = $1 ORDER BY id",
            [queue],
          )
        ).rows,
    };
  },
  {
    name: 'postgres (example)',
    advance: (ms, driver) => {
      const clock = clocks.get(driver);
      if (clock) clock.now += ms;
    },
    capabilities: { maxBatchSize: 100, fifo: true, fifoDelay: true },
  },
);
