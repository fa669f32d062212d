export { expectEnqueued, expectNotEnqueued, expectNothingEnqueued } from './assertions.ts';
export type {
  DeadLetterRecord,
  DrainEntry,
  DrainOptions,
  DrainReport,
  MockDriver,
  MockDriverOptions,
  MockQueueOptions,
  RecordedMessage,
} from './driver.ts';
export { mockDriver } from './driver.ts';
export type { DeepPartial, PayloadMatcher } from './match.ts';
export { matches } from './match.ts';
