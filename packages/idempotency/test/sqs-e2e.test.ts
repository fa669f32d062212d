import type { LocalSqs } from '@glasswork/sqs/local';
import { startLocalSqs } from '@glasswork/sqs/local';
import { afterAll, beforeAll, describe } from 'vitest';
import { memoryStore } from '../src/index.ts';
import { idempotencyScenarios } from './scenarios.ts';
import { sqsHarness } from './sqs-harness.ts';

// The end-to-end scenarios across the real SQS protocol: the same message delivered twice, in sequence
// and concurrently, a worker dying mid-job, a zombie completion, with the poller and the Lambda handler.
let sqs: LocalSqs;
beforeAll(async () => {
  sqs = await startLocalSqs();
});
afterAll(async () => sqs?.stop());

describe.each(['poller', 'lambda'] as const)(
  'idempotency through the %s on the SQS emulator',
  { timeout: 40_000 },
  (consumer) => {
    idempotencyScenarios(
      () => sqsHarness(sqs, consumer),
      () => memoryStore(),
    );
  },
);
