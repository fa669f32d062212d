export { Harness } from './harness.ts';
export { queueDriverTestSuite } from './suite.ts';
export type { DeadLetterCopy, DriverFixture, SuiteAssertion, SuiteOptions, TestApi } from './types.ts';
