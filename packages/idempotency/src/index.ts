export {
  IdempotencyError,
  IdempotencyKeyMismatchError,
  IdempotencyLockLostError,
  IdempotencyStepLockedError,
  IdempotencyStoreError,
  InvalidIdempotencyKeyError,
  MAX_KEY_LENGTH,
} from './errors.ts';
export { hashPayload, toJson } from './json.ts';
export { jobKey } from './keys.ts';
export type { MemoryStore, MemoryStoreOptions } from './memory-store.ts';
export { memoryStore } from './memory-store.ts';
export { once } from './once.ts';
export { idempotencyPlugin } from './plugin.ts';
export type { StoreTestSuiteOptions, SuiteMatchers, SuiteRunner } from './test-suite.ts';
export { storeTestSuite } from './test-suite.ts';
export type * from './types.ts';
