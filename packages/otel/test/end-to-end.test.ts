import { createClient } from '@glasswork/core';
import { mockDriver } from '@glasswork/mock';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { expectOneTrace } from './end-to-end.ts';
import { registerContext, telemetry } from './telemetry.ts';

let unregister: () => void;
beforeAll(() => {
  unregister = registerContext();
});
afterAll(() => unregister());

describe('end to end', () => {
  it('one trace from the request that enqueued a job to its retry, through the mock drain', async () => {
    const driver = mockDriver();
    await expectOneTrace(
      {
        queue: 'emails',
        client: (plugins) => createClient({ driver, plugins }),
        drain: async (worker) => void (await driver.drain(worker)),
      },
      telemetry(),
    );
  });
});
