import type { MockDriver } from '@glasswork/mock';
import { mockDriver } from '@glasswork/mock';
import { describe, expect, it } from 'vitest';
import { queueDriverTestSuite } from '../src/index.ts';

// The mock driver, on its virtual clock: every queue is fresh because every test gets a new driver.
queueDriverTestSuite(
  { it, expect, describe },
  () => {
    const driver = mockDriver();
    return {
      driver,
      queues: { standard: 'jobs', fifo: 'jobs.fifo' },
      deadLetters: async (queue) =>
        driver.deadLetters.filter((d) => d.queue === queue).map((d) => ({ body: d.body, reason: d.reason })),
    };
  },
  {
    name: 'mock',
    advance: (ms, driver) => (driver as MockDriver).advance(ms),
    capabilities: { maxBatchSize: 10, fifo: true, fifoDelay: false, maxDelaySeconds: 900 },
  },
);
