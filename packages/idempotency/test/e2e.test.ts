import { memoryStore } from '@glasswork/idempotency';
import { describe } from 'vitest';
import { idempotencyScenarios, mockHarness } from './scenarios.ts';

describe('idempotency end to end: memory store, mock drain', () => {
  const store = memoryStore();
  idempotencyScenarios(mockHarness, () => store);
});
